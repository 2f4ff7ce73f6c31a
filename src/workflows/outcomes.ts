/**
 * The outcome model as the workflows see a gateway activity: every answer is done, definitely not done
 * (with the gateway's code and category), or open (in progress or unknown: money may be in motion).
 * Workflow-safe: imported by the payment and late-refund workflows.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import type { StatusAnswer } from '../activities';

export type ChargedStatus = 'succeeded' | 'authorized' | 'requires_action';
export type NotDoneCategory = 'retry-same-gateway' | 'failover' | 'decline' | 'requires-action';
const NOT_DONE: readonly string[] = ['retry-same-gateway', 'failover', 'decline', 'requires-action'];

/** The outcome model of one gateway answer, as the workflow sees it. */
export type Answer<T> =
  | { kind: 'done'; value: T; errorCode?: string }
  | { kind: 'not_done'; category: NotDoneCategory; code: string; message: string }
  /** In progress or unknown: money may be in motion, so nothing else may be tried yet. */
  | { kind: 'open'; code: string; message: string };

/** Calls an activity and maps its result or failure onto the outcome model; never throws for a gateway's answer. */
export async function answerOf<T>(call: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { kind: 'done', value: await call() };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const failure = failureOf(err);
    return NOT_DONE.includes(failure.category)
      ? {
          kind: 'not_done',
          category: failure.category as NotDoneCategory,
          code: failure.code,
          message: failure.message,
        }
      : { kind: 'open', code: failure.code, message: failure.message };
  }
}

/** A lookup's answer as an outcome: definite statuses are final, `in_progress` and `not_found` are open. */
export function lookupAnswer(status: StatusAnswer): Answer<{ status: ChargedStatus; reference: string }> {
  switch (status.status) {
    case 'succeeded':
    case 'authorized':
    case 'requires_action':
      return { kind: 'done', value: { status: status.status, reference: status.reference } };
    case 'failed':
      return {
        kind: 'not_done',
        category: status.category,
        code: status.code,
        message: `The gateway's lookup found it ${status.category === 'decline' ? 'declined' : 'not done'} (${status.code})`,
      };
    case 'in_progress':
      return { kind: 'open', code: status.code, message: 'The gateway has it in progress' };
    default:
      return { kind: 'open', code: 'not_found', message: 'The gateway has no trace of it yet' };
  }
}

/** Reads the code, message and gateway outcome category out of an activity failure. */
export function failureOf(err: unknown): { code: string; message: string; category: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const category = typeof cause.details?.[0] === 'string' ? (cause.details[0] as string) : 'unknown';
    return { code: cause.type ?? 'gateway_error', message: cause.message, category };
  }
  if (cause instanceof TimeoutFailure) {
    return { code: 'gateway_timeout', message: 'The gateway did not answer in time', category: 'unknown' };
  }
  return {
    code: 'gateway_error',
    message: cause instanceof Error ? cause.message : String(cause),
    category: 'unknown',
  };
}
