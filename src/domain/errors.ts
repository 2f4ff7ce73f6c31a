/**
 * AegisPay's errors. Each has a stable `code`; across Temporal they travel as an
 * `ApplicationFailure` whose `type` is that code, and `toAegisPayError` in the client maps them back.
 */

/** Stable error codes: part of the public API, never renamed. */
export const ErrorCode = {
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  PAYMENT_NOT_FOUND: 'PAYMENT_NOT_FOUND',
  INVALID_STATE_TRANSITION: 'INVALID_STATE_TRANSITION',
  REFUND_EXCEEDS_CAPTURED: 'REFUND_EXCEEDS_CAPTURED',
  GATEWAY_NOT_REGISTERED: 'GATEWAY_NOT_REGISTERED',
  NO_GATEWAY_AVAILABLE: 'NO_GATEWAY_AVAILABLE',
  GATEWAY_ERROR: 'GATEWAY_ERROR',
  TEMPORAL_UNAVAILABLE: 'TEMPORAL_UNAVAILABLE',
  CONFIGURATION_ERROR: 'CONFIGURATION_ERROR',
  /** This process has no encryption keys, and the task queue's workers (or the payload) encrypt. */
  ENCRYPTION_REQUIRED: 'ENCRYPTION_REQUIRED',
  /** This process encrypts in a way the task queue's workers cannot read, or cannot read what they write. */
  ENCRYPTION_MISMATCH: 'ENCRYPTION_MISMATCH',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error AegisPay throws on purpose. */
export class AegisPayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** One bad field: `path` is dotted (`customer.email`, `paymentMethod.details.cardNumber`). */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Raised before anything is written when a request or config has bad fields; lists all of them. */
export class ValidationError extends AegisPayError {
  constructor(
    readonly issues: ValidationIssue[],
    what = 'request',
  ) {
    super(
      ErrorCode.VALIDATION_ERROR,
      `Invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      { issues },
    );
  }
}

/** Raised when an idempotency key is reused with a different request. */
export class IdempotencyConflictError extends AegisPayError {
  constructor(idempotencyKey: string) {
    super(
      ErrorCode.IDEMPOTENCY_CONFLICT,
      `Idempotency key "${idempotencyKey}" was already used for a different payment request`,
      { idempotencyKey },
    );
  }
}

/** Raised when no payment exists for an ID or idempotency key. */
export class PaymentNotFoundError extends AegisPayError {
  constructor(paymentId: string) {
    super(ErrorCode.PAYMENT_NOT_FOUND, `Payment ${paymentId} not found`, { paymentId });
  }
}

/** Raised when an operation is not allowed in the payment's current state. */
export class InvalidStateTransitionError extends AegisPayError {
  constructor(
    readonly from: string,
    readonly to: string,
    reason?: string,
  ) {
    super(
      ErrorCode.INVALID_STATE_TRANSITION,
      `Cannot move a payment from ${from} to ${to}${reason ? `: ${reason}` : ''}`,
      { from, to },
    );
  }
}

/** Raised when a refund asks for more than what is captured and not yet refunded. */
export class RefundExceedsCapturedError extends AegisPayError {
  constructor(requested: number, available: number) {
    super(
      ErrorCode.REFUND_EXCEEDS_CAPTURED,
      `Refund of ${requested} exceeds the ${available} still refundable (minor units)`,
      { requested, available },
    );
  }
}

/** Raised when a payment names a gateway that no worker has registered. */
export class GatewayNotRegisteredError extends AegisPayError {
  constructor(gateway: string) {
    super(ErrorCode.GATEWAY_NOT_REGISTERED, `Gateway ${gateway} is not registered on the worker`, {
      gateway,
    });
  }
}

/** Raised for configuration problems found at run time (missing binaries, forbidden operator calls). */
export class ConfigurationError extends AegisPayError {
  constructor(message: string) {
    super(ErrorCode.CONFIGURATION_ERROR, message);
  }
}

/** Raised when the Temporal service cannot be reached. */
export class TemporalUnavailableError extends AegisPayError {
  constructor(message: string) {
    super(ErrorCode.TEMPORAL_UNAVAILABLE, message);
  }
}
