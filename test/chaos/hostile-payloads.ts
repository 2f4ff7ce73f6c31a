/**
 * Payloads an operator's typo, a script or an attacker can send to a payment's signals and updates
 * (Web UI, `temporal workflow signal|update`): every one is invalid for its request, so the workflow
 * must refuse it (a VALIDATION_ERROR for an update, a REQUEST_REJECTED event for a signal) and move
 * no money. Shared by the chaos run and the model-based test.
 */
import { isClosedWorkflowError, toAegisPayError } from '../../src/client/errors';
import { followUpRequestIssues } from '../../src/domain/follow-up-requests';
import { checkCaptureRequest } from '../../src/domain/follow-up-requests';

/** The requests a payload goes to: updates of these names, and signals where one exists. */
export type HostileTarget = 'refund' | 'cancel' | 'capture' | 'resolveReview';

/** The payment workflow has signals for these (there is no capture signal). */
export const SIGNAL_TARGETS = ['refund', 'cancel', 'resolveReview'] as const satisfies HostileTarget[];
export const UPDATE_TARGETS = [
  'refund',
  'cancel',
  'capture',
  'resolveReview',
] as const satisfies HostileTarget[];

export interface HostilePayload {
  /** Short and printable: shrunk counterexamples and reports show it instead of the payload. */
  name: string;
  payload: unknown;
}

/** One mebibyte of text: the size of an attack on history, well under the server's 2 MB blob limit. */
export const MEGABYTE = 'x'.repeat(1024 * 1024);

const h = (name: string, payload: unknown): HostilePayload => ({ name, payload });

/** Payloads no refund may accept: a refund names its amount or says `full: true`, and nothing else. */
const REFUND: HostilePayload[] = [
  h('null', null),
  h('{}', {}),
  h('[]', []),
  h('[{full:true}]', [{ full: true }]),
  h('"everything"', 'everything'),
  h('42', 42),
  h('{amount:null}', { amount: null }),
  h('{amount:""}', { amount: '' }),
  h('{amount:"ten"}', { amount: 'ten' }),
  h('{amount:-5}', { amount: -5 }),
  h('{amount:0}', { amount: 0 }),
  h('{amount:1e12}', { amount: 1e12 }),
  h('{amount:[1]}', { amount: [1] }),
  h('{amount:{value:1}}', { amount: { value: 1 } }),
  h('{full:false}', { full: false }),
  h('{full:"true"}', { full: 'true' }),
  h('{full:1}', { full: 1 }),
  h('{amount:1,full:true}', { amount: 1, full: true }),
  h('{amount:1,sneaky:true}', { amount: 1, sneaky: true }),
  h('{reason:"x"}', { reason: 'x' }),
  h('{amount:1,refundId:<1 MB>}', { amount: 1, refundId: MEGABYTE }),
  h('{full:true,reason:<1 MB>}', { full: true, reason: MEGABYTE }),
  h('<1 MB string>', MEGABYTE),
];

/** Cancel takes no payload, `null` or `{ reason }`: everything else is refused. */
const CANCEL: HostilePayload[] = [
  h('[]', []),
  h('"cancel"', 'cancel'),
  h('5', 5),
  h('true', true),
  h('{reason:5}', { reason: 5 }),
  h('{reason:null}', { reason: null }),
  h('{reason:<1 MB>}', { reason: MEGABYTE }),
  h('{reason:"x",refund:true}', { reason: 'x', refund: true }),
  h('{void:false}', { void: false }),
];

/** A capture takes no payload, `{}` or `{ amount }`. */
const CAPTURE: HostilePayload[] = [
  h('null', null),
  h('[]', []),
  h('"all"', 'all'),
  h('{amount:null}', { amount: null }),
  h('{amount:""}', { amount: '' }),
  h('{amount:"abc"}', { amount: 'abc' }),
  h('{amount:-1}', { amount: -1 }),
  h('{amount:0}', { amount: 0 }),
  h('{amount:"1e3"}', { amount: '1e3' }),
  h('{amount:true}', { amount: true }),
  h('{full:true}', { full: true }),
  h('{amount:1,extra:1}', { amount: 1, extra: 1 }),
  h('{amount:<1 MB>}', { amount: MEGABYTE }),
];

/** An operator's decision needs an outcome and who decided, and nothing else. */
const RESOLVE_REVIEW: HostilePayload[] = [
  h('null', null),
  h('{}', {}),
  h('[]', []),
  h('"done"', 'done'),
  h('{outcome:"done"}', { outcome: 'done' }),
  h('{outcome:"done",operator:""}', { outcome: 'done', operator: '' }),
  h('{outcome:"maybe",operator:"ops"}', { outcome: 'maybe', operator: 'ops' }),
  h('{outcome:"done",operator:5}', { outcome: 'done', operator: 5 }),
  h('{outcome:"done",operator:<1 MB>}', { outcome: 'done', operator: MEGABYTE }),
  h('{outcome:"not_done",operator:"ops",note:<1 MB>}', {
    outcome: 'not_done',
    operator: 'ops',
    note: MEGABYTE,
  }),
  h('{outcome:"not_done",operator:"ops",sneaky:1}', { outcome: 'not_done', operator: 'ops', sneaky: 1 }),
  h('{outcome:"done",operator:"ops",reference:""}', { outcome: 'done', operator: 'ops', reference: '' }),
];

export const HOSTILE_PAYLOADS: Record<HostileTarget, readonly HostilePayload[]> = {
  refund: REFUND,
  cancel: CANCEL,
  capture: CAPTURE,
  resolveReview: RESOLVE_REVIEW,
};

/**
 * A valid capture request without an `amount` on a payment whose whole authorization was captured is
 * answered as a repeat of that capture (the payment, nothing moved); anything malformed is refused first.
 */
export function answeredAsCaptureRepeat(payload: unknown): boolean {
  try {
    return checkCaptureRequest(payload).amount === undefined;
  } catch {
    return false;
  }
}

/**
 * What a refund payload asks for, in minor units of a 2-decimal currency: only a valid request asks for
 * anything, so money refunded beyond the sum of these (and without a `full: true`) was never asked for.
 */
export function refundAsk(payload: unknown): { minor: number; full: boolean } {
  if (followUpRequestIssues('refund', payload).length > 0) return { minor: 0, full: false };
  const { amount, full } = payload as { amount?: number | string; full?: boolean };
  return { minor: amount === undefined ? 0 : Math.round(Number(amount) * 100), full: full === true };
}

/** How an update call ended, seen from the caller. */
export type UpdateOutcome = { answered: true } | { code: string } | { closed: true };

/** Sorts an update's result or error into answered / refused with an AegisPay code / workflow closed. */
export async function updateOutcome(call: Promise<unknown>): Promise<UpdateOutcome> {
  try {
    await call;
    return { answered: true };
  } catch (err) {
    if (isClosedWorkflowError(err)) return { closed: true };
    const mapped = toAegisPayError(err) as { code?: unknown; message?: string };
    return { code: typeof mapped.code === 'string' ? mapped.code : `uncoded: ${mapped.message}` };
  }
}
