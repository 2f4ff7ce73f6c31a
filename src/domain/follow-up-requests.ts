/**
 * The rules of capture, cancel and refund requests, written without zod. The workflow applies them to
 * updates and to operators' signals; zod in the workflow bundle made every cached payment workflow
 * about ten times heavier in worker memory (bench/RESULTS.md), so the one home of these rules is here
 * and the client's zod schemas delegate to it. No Node APIs either: this module runs in the workflow.
 *
 * Payloads from operators (Web UI, `temporal workflow signal|update`) are plain JSON of any shape, so a
 * missing, `null`, empty or mistyped value must never fall back to a default that moves money: a
 * refund names its amount or says `full: true`.
 */
import { ValidationError, type ValidationIssue } from './errors';
import type { CancelRequest, CaptureRequest, RefundRequest } from './messages';
import { MAX_MAJOR_AMOUNT } from './money';

/** Idempotency keys and refund IDs: 1–255 letters, digits, `-` and `_`. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
/** Longest operator-written reason kept on a payment. */
export const MAX_REASON_LENGTH = 500;
/** The words every refund without a usable amount is refused with. */
export const REFUND_AMOUNT_REQUIRED = 'amount or full: true is required';

/** Why a major-unit amount is wrong whatever its currency, or undefined if it may be right. */
export function positiveMajorAmountProblem(v: unknown): string | undefined {
  if (typeof v !== 'number' && typeof v !== 'string') return 'amount must be a number or a decimal string';
  // Length-bounded pattern so absurd strings never reach Number(); exact decimals are checked once the currency is known.
  const n = typeof v === 'number' ? v : /^\d{1,12}(\.\d{1,20})?$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) return 'amount must be a positive number or decimal string';
  if (n > MAX_MAJOR_AMOUNT) return `amount must be at most ${MAX_MAJOR_AMOUNT}`;
  return undefined;
}

export type FollowUpKind = 'capture' | 'cancel' | 'refund';
type RequestOf<K extends FollowUpKind> = {
  capture: CaptureRequest;
  cancel: CancelRequest;
  refund: RefundRequest;
}[K];

/** Checks one present field (its value may be anything, `undefined` included); undefined when it is fine. */
type FieldCheck = (value: unknown) => string | undefined;

/** `null`, `undefined` and blank strings: values that say nothing, which must never mean "the default". */
function isEmptyValue(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

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

const captureAmountProblem: FieldCheck = (v) =>
  isEmptyValue(v)
    ? `amount must not be ${v === null ? 'null' : 'empty'} (leave it out to capture everything)`
    : positiveMajorAmountProblem(v);

const refundAmountProblem: FieldCheck = (v) =>
  isEmptyValue(v)
    ? `${REFUND_AMOUNT_REQUIRED} (amount is ${v === null ? 'null' : 'empty'})`
    : positiveMajorAmountProblem(v);

const fullProblem: FieldCheck = (v) =>
  v === true ? undefined : 'full must be true when given (give amount instead for a partial refund)';

/**
 * Each kind's fields, and what the whole request may be. A capture with no payload takes the whole
 * authorization: capturing less is the risky direction, since the rest of the authorization is released
 * for good, whereas capturing all is what an automatic-capture payment does anyway and can be refunded.
 * A cancel with no payload (the Web UI sends an empty input as `null` or nothing) can only void an
 * uncaptured authorization, so it is harmless. A refund always names how much.
 */
const RULES = {
  capture: { fields: { amount: captureAmountProblem }, noPayload: 'undefined' },
  cancel: { fields: { reason: reasonProblem }, noPayload: 'undefined-or-null' },
  refund: {
    fields: {
      amount: refundAmountProblem,
      full: fullProblem,
      reason: reasonProblem,
      refundId: refundIdProblem,
    },
    noPayload: 'never',
  },
} satisfies Record<
  FollowUpKind,
  { fields: Record<string, FieldCheck>; noPayload: 'undefined' | 'undefined-or-null' | 'never' }
>;

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/** Plain data objects only: class instances, Maps and Dates are not JSON requests. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Shortens a caller's text to echo it in a message: bounded, one line, card-like digit runs hidden. */
function echo(text: string, max = 64): string {
  return redactCardLikeDigits(text.slice(0, max + 32))
    .replace(/\p{Cc}/gu, '?')
    .slice(0, max);
}

function rootIssues(kind: FollowUpKind, input: unknown): ValidationIssue[] {
  const { noPayload } = RULES[kind];
  if (input === undefined && noPayload !== 'never') return [];
  if (input === null && noPayload === 'undefined-or-null') return [];
  if (isPlainObject(input)) return [];
  const got = input === undefined ? 'no payload' : typeName(input);
  const message =
    kind === 'refund'
      ? `${REFUND_AMOUNT_REQUIRED} (the request must be an object, got ${got})`
      : kind === 'capture' && input === null
        ? 'request must be an object, got null (send {} or nothing to capture everything)'
        : `request must be an object, got ${got}`;
  return [{ path: '', message }];
}

function fieldIssues(kind: FollowUpKind, input: Record<string, unknown>): ValidationIssue[] {
  const fields: Record<string, FieldCheck> = RULES[kind].fields;
  const issues: ValidationIssue[] = [];
  const unknown = Object.keys(input).filter((k) => !Object.hasOwn(fields, k));
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 10).map((k) => `"${echo(k)}"`);
    const more = unknown.length > 10 ? ` and ${unknown.length - 10} more` : '';
    issues.push({ path: '', message: `unknown field(s): ${shown.join(', ')}${more}` });
  }
  // A field that is present is checked even when its value is undefined: `{ amount: undefined }` is
  // what a forgotten variable looks like, not a request for the default.
  for (const [name, check] of Object.entries(fields)) {
    const problem = Object.hasOwn(input, name) ? check(input[name]) : undefined;
    if (problem) issues.push({ path: name, message: problem });
  }
  if (kind === 'refund') {
    const hasAmount = Object.hasOwn(input, 'amount');
    if (!hasAmount && input.full !== true) issues.push({ path: 'amount', message: REFUND_AMOUNT_REQUIRED });
    if (hasAmount && input.full === true) {
      issues.push({ path: 'full', message: 'give either amount or full: true, not both' });
    }
  }
  return issues;
}

/** Problems of a capture, cancel or refund request (empty when it is valid). */
export function followUpRequestIssues(kind: FollowUpKind, input: unknown): ValidationIssue[] {
  try {
    const root = rootIssues(kind, input);
    if (root.length > 0 || !isPlainObject(input)) return root;
    return fieldIssues(kind, input);
  } catch {
    // Throwing getters, revoked proxies: nothing an operator or a client could send over the wire.
    return [{ path: '', message: 'request could not be read as plain data' }];
  }
}

/** The valid request with only its known fields, or a ValidationError naming every bad field. */
export function parseFollowUpRequest<K extends FollowUpKind>(kind: K, input: unknown): RequestOf<K> {
  const issues = followUpRequestIssues(kind, input);
  if (issues.length > 0) throw new ValidationError(issues, `${kind} request`);
  const request: Record<string, unknown> = {};
  if (isPlainObject(input)) {
    for (const name of Object.keys(RULES[kind].fields)) {
      if (Object.hasOwn(input, name)) request[name] = input[name];
    }
  }
  return request as RequestOf<K>;
}

/** A valid capture request (no payload: capture everything), or a ValidationError naming every bad field. */
export const checkCaptureRequest = (input: unknown): CaptureRequest => parseFollowUpRequest('capture', input);
/** A valid cancel request (`undefined` and `null` are `{}`), or a ValidationError naming every bad field. */
export const checkCancelRequest = (input: unknown): CancelRequest => parseFollowUpRequest('cancel', input);
/** A valid refund request, with `amount` or `full: true`, or a ValidationError naming every bad field. */
export const checkRefundRequest = (input: unknown): RefundRequest => parseFollowUpRequest('refund', input);

/**
 * What the client sends for `refundPayment(id, request)`: in application code, naming no amount has always
 * meant "refund everything", so a request with neither `amount` nor `full` gets `full: true`. Anything
 * else (an `amount` of `undefined`, `null` or `""` included) is passed on unchanged and judged as it is.
 */
export function withFullRefundByDefault(request: unknown): unknown {
  if (!isPlainObject(request) || Object.hasOwn(request, 'amount') || Object.hasOwn(request, 'full')) {
    return request;
  }
  return { ...request, full: true };
}

// ---- Rejected payloads in history -------------------------------------------------------------------

/** Most bytes of JSON a rejected request may leave in history. */
export const MAX_REJECTED_PAYLOAD_BYTES = 1024;
const MAX_STRING_CHARS = 64;
const MAX_KEY_CHARS = 32;
const MAX_ENTRIES = 8;
const MAX_DEPTH = 3;
/** Room kept for the `{"truncated":true,"bytes":…,"preview":…}` envelope around a preview. */
const ENVELOPE_BYTES = 64;

/** UTF-8 length of a string, counted by hand (no TextEncoder or Buffer in every runtime this runs in). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Bytes of `value` as JSON (UTF-8): 0 when JSON has no text for it (`undefined`, a function), and
 * Infinity when it cannot be written at all (a cycle, a BigInt, nesting too deep), so that any size
 * limit refuses it.
 */
export function jsonByteSize(value: unknown): number {
  try {
    const text = JSON.stringify(value) as string | undefined;
    return text === undefined ? 0 : utf8Length(text);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Hides runs of 12 or more digits (spaces and dashes allowed between them): they may be card numbers. */
function redactCardLikeDigits(text: string): string {
  return text.replace(/\d(?:[ -]?\d){11,}/g, '[redacted]');
}

/** A shortened copy of a string; `state.changed` records that it is not the original. */
function previewString(text: string, max: number, state: { changed: boolean }): string {
  // Redact before cutting, so a cut never leaves the visible part of a card number behind.
  const redacted = redactCardLikeDigits(text.length > max ? text.slice(0, max + 32) : text);
  const cut = redacted.length > max ? `${redacted.slice(0, max)}…` : redacted;
  if (cut !== text) state.changed = true;
  return cut;
}

interface PreviewState {
  /** Bytes of JSON still available for the preview. */
  budget: number;
  /** Set as soon as the preview differs from the input in any way. */
  changed: boolean;
}

/** Returned by {@link preview} when a value does not fit in what is left of the budget. */
const NO_ROOM = Symbol('no room');

/** Takes `bytes` from the budget, or says there is no room for them. */
function spend(state: PreviewState, bytes: number): boolean {
  if (bytes > state.budget) return false;
  state.budget -= bytes;
  return true;
}

/** A bounded copy of JSON-like data: strings cut, few entries, shallow, and within `state.budget` bytes. */
function preview(value: unknown, depth: number, state: PreviewState): unknown {
  let shown: unknown;
  if (value === null || typeof value === 'boolean') shown = value;
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) state.changed = true;
    shown = Number.isFinite(value) ? value : String(value);
  } else if (typeof value === 'string') shown = previewString(value, MAX_STRING_CHARS, state);
  else if (typeof value !== 'object') {
    // undefined, bigint, symbol, function: not JSON; say what it was.
    state.changed = true;
    shown = `[${typeof value}]`;
  } else if (depth >= MAX_DEPTH) {
    state.changed = true;
    shown = Array.isArray(value) ? '[array]' : '[object]';
  } else {
    return spend(state, 2) ? previewContainer(value, depth, state) : NO_ROOM;
  }
  return spend(state, jsonByteSize(shown)) ? shown : NO_ROOM;
}

/** The first entries of an array or object that fit; the brackets are already paid for. */
function previewContainer(value: object, depth: number, state: PreviewState): unknown {
  const entries: [string, unknown][] = [];
  if (Array.isArray(value)) {
    for (let i = 0; i < Math.min(value.length, MAX_ENTRIES + 1); i++) entries.push([String(i), value[i]]);
  } else {
    // for…in stops early: an object with a million keys is never listed whole.
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      entries.push([key, (value as Record<string, unknown>)[key]]);
      if (entries.length > MAX_ENTRIES) break;
    }
  }
  if (entries.length > MAX_ENTRIES) {
    state.changed = true;
    entries.length = MAX_ENTRIES;
  }
  const out: unknown[] | Record<string, unknown> = Array.isArray(value) ? [] : {};
  for (const [key, item] of entries) {
    if (!Array.isArray(out) && item === undefined) {
      state.changed = true; // JSON drops it too, but the caller sent it
      continue;
    }
    const shownKey = Array.isArray(out) ? '' : previewString(key, MAX_KEY_CHARS, state);
    // A comma before every entry but the first (counted for all: simpler, and errs on the small side),
    // plus the key and its colon.
    const keyCost = 1 + (Array.isArray(out) ? 0 : jsonByteSize(shownKey) + 1);
    if (!spend(state, keyCost)) break;
    const child = preview(item, depth + 1, state);
    if (child === NO_ROOM) break;
    if (Array.isArray(out)) out.push(child);
    // defineProperty keeps a `__proto__` key as data instead of changing the copy's prototype.
    else
      Object.defineProperty(out, shownKey, {
        value: child,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  if ((Array.isArray(out) ? out.length : Object.keys(out).length) < entries.length) state.changed = true;
  return out;
}

/**
 * What a rejected request may leave in workflow history: the payload itself when it is small and plain,
 * otherwise `{ truncated: true, bytes, preview }` with the original size in bytes and a shortened copy
 * (strings cut to 64 characters, keys to 32, at most 8 entries per level, 3 levels). Either way at most
 * {@link MAX_REJECTED_PAYLOAD_BYTES} bytes of JSON, and digit runs that may be card numbers are hidden.
 * `undefined` (a signal sent with no input) gives `undefined`.
 */
export function summarizeRejectedPayload(input: unknown): unknown {
  if (input === undefined) return undefined; // no payload: nothing to keep
  const bytes = jsonByteSize(input);
  const size = Number.isFinite(bytes) ? bytes : null;
  try {
    // First as it is: a small plain payload is kept whole, which is what an operator wants to see.
    const whole: PreviewState = { budget: MAX_REJECTED_PAYLOAD_BYTES, changed: false };
    const shown = preview(input, 0, whole);
    if (!whole.changed && shown !== NO_ROOM && bytes <= MAX_REJECTED_PAYLOAD_BYTES) return shown;
    const state: PreviewState = { budget: MAX_REJECTED_PAYLOAD_BYTES - ENVELOPE_BYTES, changed: false };
    const cut = preview(input, 0, state);
    const summary = { truncated: true, bytes: size, ...(cut === NO_ROOM ? {} : { preview: cut }) };
    if (jsonByteSize(summary) <= MAX_REJECTED_PAYLOAD_BYTES) return summary;
  } catch {
    // Unreadable input (a throwing getter): only its size, if even that.
  }
  return { truncated: true, bytes: size };
}
