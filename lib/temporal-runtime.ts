/**
 * Installs the Temporal SDK runtime once per process: SDK logs go to our JSON logger, and the
 * SDK's own worker metrics are served for Prometheus when a port is given.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger';

const LEVELS: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

export function installTemporalRuntime(log: Logger, opts: { metricsBindAddress?: string } = {}): void {
  const level = LEVELS[log.level] ?? 'INFO';
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const meta = { ...(entry.meta ?? {}), sdk: true };
      const method =
        entry.level === 'TRACE'
          ? 'trace'
          : entry.level === 'DEBUG'
            ? 'debug'
            : entry.level === 'WARN'
              ? 'warn'
              : entry.level === 'ERROR'
                ? 'error'
                : 'info';
      log[method](meta, entry.message);
    }),
    ...(opts.metricsBindAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.metricsBindAddress } } } }
      : {}),
  });
}
