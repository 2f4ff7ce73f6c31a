/**
 * The rules of capture, cancel and refund requests, written without zod. The workflow applies them to
 * updates and to operators' signals; zod in the workflow bundle made every cached payment workflow
 * about ten times heavier in worker memory (bench/RESULTS.md), so the one home of these rules is here
 * and the client's zod schemas delegate to it.
 */
import { ValidationError, type ValidationIssue } from './errors';
import type { CancelRequest, CaptureRequest, RefundRequest } from './messages';
import { MAX_MAJOR_AMOUNT } from './money';

/** Idempotency keys and refund IDs: 1–255 letters, digits, `-` and `_`. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
/** Longest operator-written reason kept on a payment. */
export const MAX_REASON_LENGTH = 500;

/** Why a major-unit amount is wrong whatever its currency, or undefined if it may be right. */
export function positiveMajorAmountProblem(v: unknown): string | undefined {
  if (typeof v !== 'number' && typeof v !== 'string') return 'amount must be a number or a decimal string';
  // Length-bounded pattern so absurd strings never reach Number(); exact decimals are checked once the currency is known.
  const n = typeof v === 'number' ? v : /^\d{1,12}(\.\d{1,20})?$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) return 'amount must be a positive number or decimal string';
  if (n > MAX_MAJOR_AMOUNT) return `amount must be at most ${MAX_MAJOR_AMOUNT}`;
  return undefined;
}

type FieldCheck = (value: unknown) => string | undefined;

const reasonProblem: FieldCheck = (v) =>
  typeof v !== 'string'
    ? 'reason must be a string'
    : v.length > MAX_REASON_LENGTH
      ? `reason must be at most ${MAX_REASON_LENGTH} characters`
      : undefined;

const refundIdProblem: FieldCheck = (v) =>
  typeof v !== 'string'
    ? 'refundId must be a string'
    : !IDEMPOTENCY_KEY_PATTERN.test(v)
      ? 'refundId must be 1-255 letters, digits, - or _'
      : undefined;

/** Every problem of a flat request with only optional fields: unknown keys, then each field's check. */
function requestIssues(input: unknown, fields: Record<string, FieldCheck>): ValidationIssue[] {
  if (input === undefined) return [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ path: '', message: 'request must be an object' }];
  }
  const issues: ValidationIssue[] = [];
  const unknown = Object.keys(input).filter((k) => !Object.hasOwn(fields, k));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 10).map((k) => `"${k.slice(0, 64)}"`);
    issues.push({ path: '', message: `unknown field(s): ${shown.join(', ')}` });
  }
  for (const [name, check] of Object.entries(fields)) {
    const value = (input as Record<string, unknown>)[name];
    const problem = value === undefined ? undefined : check(value);
    if (problem) issues.push({ path: name, message: problem });
  }
  return issues;
}

const CHECKS = {
  capture: { amount: positiveMajorAmountProblem },
  cancel: { reason: reasonProblem },
  refund: { amount: positiveMajorAmountProblem, reason: reasonProblem, refundId: refundIdProblem },
} satisfies Record<string, Record<string, FieldCheck>>;

/** Problems of a capture, cancel or refund request (empty when it is valid). */
export function followUpRequestIssues(kind: keyof typeof CHECKS, input: unknown): ValidationIssue[] {
  return requestIssues(input, CHECKS[kind]);
}

function checked<T>(kind: keyof typeof CHECKS, input: unknown): T {
  const issues = followUpRequestIssues(kind, input);
  if (issues.length > 0) throw new ValidationError(issues, `${kind} request`);
  return { ...((input ?? {}) as object) } as T;
}

/** A valid capture request, or a ValidationError naming every bad field. */
export const checkCaptureRequest = (input: unknown): CaptureRequest => checked('capture', input);
/** A valid cancel request, or a ValidationError naming every bad field. */
export const checkCancelRequest = (input: unknown): CancelRequest => checked('cancel', input);
/** A valid refund request, or a ValidationError naming every bad field. */
export const checkRefundRequest = (input: unknown): RefundRequest => checked('refund', input);
