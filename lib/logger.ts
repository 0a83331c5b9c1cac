/**
 * The logger of every Node process outside workflow/activity code: JSON lines for a log shipper,
 * or (on a terminal, or LOG_FORMAT=pretty) one readable line per record — time, level, which
 * service, the message and its fields — so the stack's own messages stand out in `npm start`.
 */
import pino from 'pino';
import pretty from 'pino-pretty';
import { env } from './env';

const readable = env.LOG_FORMAT === 'pretty' || (env.LOG_FORMAT === 'auto' && process.stdout.isTTY === true);

export const logger = pino(
  { level: env.LOG_LEVEL, timestamp: pino.stdTimeFunctions.isoTime },
  readable
    ? pretty({
        // Synchronous: a line is on the terminal before the process can exit.
        sync: true,
        colorize: process.stdout.isTTY === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
        messageFormat: '{if service}[{service}] {end}{msg}',
        singleLine: true,
      })
    : undefined,
);

export type Logger = pino.Logger;
