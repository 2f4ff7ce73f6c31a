import { DefaultLogger, Runtime, type LogLevel as TemporalLogLevel } from '@temporalio/worker';
import type { Logger } from './logging';

const PINO_LEVEL: Record<TemporalLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Routes the Temporal SDK's own logs (worker, workflow `log`, activity context) into pino.
 * Must run before the first connection or worker; when the application already installed a
 * runtime, that one is kept.
 */
export function installTemporalRuntime(logger: Logger, level: TemporalLogLevel = 'INFO'): void {
  try {
    Runtime.install({
      logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
        logger[PINO_LEVEL[entryLevel]]({ temporal: true, ...meta }, message);
      }),
    });
  } catch {
    // Runtime already installed (by the application, or an earlier AegisPay instance).
  }
}
