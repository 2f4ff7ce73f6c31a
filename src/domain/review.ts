/**
 * The operator's command that settles a payment in REQUIRES_REVIEW, and its rules, without zod (the
 * workflow bundle stays small). The gateway's own answer settles a review too; this is for when an
 * operator learned the outcome elsewhere (the gateway's dashboard, a settlement report).
 */
import { ValidationError, type ValidationIssue } from './errors';

/** `done`: the open operation happened at the gateway; `not_done`: it definitely did not. */
export interface ResolveReviewRequest {
  outcome: 'done' | 'not_done';
  /** Who decided: kept in the payment's audit trail. */
  operator: string;
  note?: string;
  /** The gateway's reference of the charge, required when a charge or confirmation is declared done. */
  reference?: string;
}

const FIELDS = ['outcome', 'operator', 'note', 'reference'];
const MAX_TEXT = 500;

/** A valid resolve-review request, or a ValidationError naming every bad field. */
export function checkResolveReviewRequest(input: unknown): ResolveReviewRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError([{ path: '', message: 'request must be an object' }], 'resolveReview request');
  }
  const r = input as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  const unknown = Object.keys(r).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 10).map((k) => `"${k.slice(0, 64)}"`);
    issues.push({ path: '', message: `unknown field(s): ${shown.join(', ')}` });
  }
  if (r.outcome !== 'done' && r.outcome !== 'not_done') {
    issues.push({ path: 'outcome', message: 'outcome must be "done" or "not_done"' });
  }
  if (typeof r.operator !== 'string' || r.operator.trim() === '' || r.operator.length > 128) {
    issues.push({ path: 'operator', message: 'operator must name who decides (1-128 characters)' });
  }
  for (const field of ['note', 'reference'] as const) {
    const v = r[field];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT)) {
      issues.push({ path: field, message: `${field} must be a string of 1-${MAX_TEXT} characters` });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, 'resolveReview request');
  return r as unknown as ResolveReviewRequest;
}
