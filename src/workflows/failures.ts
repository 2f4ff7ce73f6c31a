/**
 * How the payment workflow's errors reach callers. Rules throw `AegisPayError`; the one place they
 * become the `ApplicationFailure` a caller hears (its `type` is the error code, which the client maps
 * back) is `toFailure`, used by update validators through `guard` and by handlers at their boundary.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { AegisPayError } from '../domain/errors';
import type { PaymentReview } from '../domain/types';

/** The gateway call under way: what a review needs to know of it. */
export type OpenCall = Omit<PaymentReview, 'code' | 'message' | 'since' | 'checks'>;

/** Turns a domain error into the failure a validator or handler throws, keeping its code. */
export function toFailure(err: unknown): Error {
  if (err instanceof AegisPayError)
    return ApplicationFailure.nonRetryable(err.message, err.code, err.details ?? {});
  return err as Error;
}

/** Runs a validator's check, rethrowing domain errors as failures the client maps back. */
export function guard<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw toFailure(err);
  }
}

/** An error no rule expected, thrown while a gateway call was open: review must know which call. */
export class UnexpectedInCall extends Error {
  constructor(
    readonly call: OpenCall | undefined,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'UnexpectedInCall';
  }
}
