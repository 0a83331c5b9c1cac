/** The JSON logger of every Node process outside workflow/activity code. */
import pino from 'pino';
import { env } from './env';

export const logger = pino({
  level: env.LOG_LEVEL,
  timestamp: pino.stdTimeFunctions.isoTime,
});

export type Logger = pino.Logger;
