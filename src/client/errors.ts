import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import {
  AegisPayError,
  ErrorCode,
  IdempotencyConflictError,
  InvalidStateTransitionError,
  PaymentNotFoundError,
  ValidationError,
  type ValidationIssue,
} from '../domain/errors';

import { temporalUnavailable } from '../temporal/calls';

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * The one place Temporal failures become AegisPay errors: Temporal not answering is TEMPORAL_UNAVAILABLE;
 * an `ApplicationFailure` whose `type` is an AegisPay code, anywhere in the cause chain, becomes that
 * error class. Anything else is rethrown.
 */
export function toAegisPayError(
  err: unknown,
  context: { paymentId?: string; idempotencyKey?: string } = {},
): unknown {
  if (err instanceof AegisPayError) return err;
  const unavailable = temporalUnavailable(err);
  if (unavailable) return unavailable;
  if (err instanceof WorkflowNotFoundError && context.paymentId)
    return new PaymentNotFoundError(context.paymentId);
  for (let cause: unknown = err; cause instanceof Error; cause = (cause as { cause?: unknown }).cause) {
    if (!(cause instanceof ApplicationFailure) || !cause.type || !KNOWN_CODES.has(cause.type)) continue;
    const details = (cause.details?.[0] ?? {}) as Record<string, unknown>;
    switch (cause.type) {
      case ErrorCode.IDEMPOTENCY_CONFLICT:
        return new IdempotencyConflictError(context.idempotencyKey ?? String(details.idempotencyKey ?? ''));
      case ErrorCode.VALIDATION_ERROR:
        return new ValidationError(
          (details.issues as ValidationIssue[] | undefined) ?? [{ path: '', message: cause.message }],
        );
      case ErrorCode.INVALID_STATE_TRANSITION:
        return Object.assign(
          new InvalidStateTransitionError(String(details.from ?? '?'), String(details.to ?? '?')),
          {
            message: cause.message,
          },
        );
      default:
        return new AegisPayError(cause.type as ErrorCode, cause.message, details);
    }
  }
  return err;
}

/**
 * True when an update could not reach the workflow, which may have closed: the server answers an
 * update to a completed workflow with NOT_FOUND. Callers then read the payment (which tells
 * closed from never-existed).
 */
export function isClosedWorkflowError(err: unknown): boolean {
  if (err instanceof WorkflowExecutionAlreadyStartedError || err instanceof WorkflowNotFoundError)
    return true;
  const message = err instanceof Error ? err.message : '';
  return (
    !(err instanceof WorkflowUpdateFailedError) &&
    /already completed|already finished|workflow execution already/i.test(message)
  );
}

/** The failure type the server gives an update that no worker accepted or rejected. */
const UNPROCESSED_UPDATE = 'UnprocessedUpdate';

/**
 * True for an update that the workflow never decided: no failure at all, or the server's
 * `UnprocessedUpdate` (under many concurrent updates on one workflow, a workflow task can complete
 * without taking every update in it, and the server then drops the rest). No handler ran, so sending
 * the update again is safe for every update.
 */
export function isUnansweredUpdate(err: unknown): boolean {
  if (!(err instanceof WorkflowUpdateFailedError)) return false;
  return (
    err.cause === undefined ||
    (err.cause instanceof ApplicationFailure && err.cause.type === UNPROCESSED_UPDATE)
  );
}

/**
 * True when the client stopped waiting for an update's answer: the update may or may not have run,
 * so only an idempotent update may be sent again.
 */
export function isUpdateAnswerLost(err: unknown): boolean {
  return err instanceof WorkflowUpdateRPCTimeoutOrCancelledError;
}
