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
  // A request or payment logged under a key puts PII one level deeper than the paths above.
  '*.*.*.email',
  '*.*.*.phone',
  // Card holder and customer names: `paymentMethod.details.cardHolderName`, `payment.customer.name`.
  'cardHolderName',
  '*.cardHolderName',
  '*.*.cardHolderName',
  '*.*.*.cardHolderName',
  'customer.name',
  '*.customer.name',
  '*.*.customer.name',
  // Gateway card tokens can be charged with the merchant's key, and codec/bearer tokens grant access. No log
  // line needs a token to be useful: paymentId and the gateway idempotency key identify every call.
  'token',
  '*.token',
  '*.*.token',
  '*.*.*.token',
  '*.*.paymentMethod.card.token',
  // Payload encryption keys, in the AegisPay config (`encryption.keys`) or an environment dump.
  'encryption.keys',
  '*.encryption.keys',
  'AEGISPAY_ENCRYPTION_KEYS',
  '*.AEGISPAY_ENCRYPTION_KEYS',
  'AEGISPAY_CODEC_TOKEN',
  '*.AEGISPAY_CODEC_TOKEN',
  'TEMPORAL_API_KEY',
  '*.TEMPORAL_API_KEY',
];

/** The deployment guide's log levels, mapped to pino's. */
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
