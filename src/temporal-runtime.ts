import { DefaultLogger, Runtime, type LogLevel as TemporalLogLevel } from '@temporalio/worker';
import type { Logger } from './logging';

const PINO_LEVEL: Record<TemporalLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

let prometheusAddress: string | undefined;

/**
 * Routes the Temporal SDK's own logs (worker, workflow `log`, activity context) into pino and, given
 * a `prometheusBindAddress`, has the Temporal core serve its runtime metrics there. Must run before
 * the first connection or worker; when the application already installed a runtime, that one is
 * kept, and returns false.
 */
export function installTemporalRuntime(
  logger: Logger,
  level: TemporalLogLevel = 'INFO',
  options: { prometheusBindAddress?: string } = {},
): boolean {
  try {
    Runtime.install({
      logger: new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
        logger[PINO_LEVEL[entryLevel]]({ temporal: true, ...meta }, message);
      }),
      ...(options.prometheusBindAddress
        ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.prometheusBindAddress } } } }
        : {}),
    });
    prometheusAddress = options.prometheusBindAddress;
    return true;
  } catch {
    // Runtime already installed (by the application, or an earlier AegisPay instance).
    return false;
  }
}

/** Where the Temporal core serves its Prometheus metrics, when this module installed it that way. */
export function temporalPrometheusAddress(): string | undefined {
  return prometheusAddress;
}
