import pino, { type Logger } from 'pino';

/**
 * Paths pino removes from every log line. Card data should never be handed to a logger at all;
 * this is the second line of defence should a request object ever be logged whole.
 */
export const REDACT_PATHS = [
  'cardNumber',
  'cvv',
  'apiKey',
  'authorization',
  'password',
  'secret',
  'email',
  'phone',
  '*.cardNumber',
  '*.cvv',
  '*.apiKey',
  '*.authorization',
  '*.email',
  '*.phone',
  '*.secret',
  '*.*.cardNumber',
  '*.*.cvv',
  '*.*.apiKey',
  '*.*.email',
  '*.*.phone',
  '*.*.*.cardNumber',
  '*.*.*.cvv',
  'headers.authorization',
  'req.headers.authorization',
];

/** The seed's log levels, mapped to pino's. */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

/** AegisPay's pino logger with redaction; `destination` lets tests capture the output. */
export function createLogger(level: LogLevel = 'INFO', destination?: pino.DestinationStream): Logger {
  const options = {
    name: 'aegispay',
    level: level.toLowerCase(),
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
