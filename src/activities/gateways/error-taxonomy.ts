/**
 * How a gateway error becomes a classified `GatewayError`: the row shape of each connector's error
 * table (`<connector>/errors.ts`), the network rows every table starts with, and the lookup. The first
 * matching row wins, so specific rows come before general ones; the last row of each table matches anything.
 */
import { GatewayError, type GatewayErrorCategory, type OperationStatus, type StatusRule } from './gateway';

/** One row of a taxonomy table. */
export interface ErrorRule {
  /** HTTP status, '5xx', or 'network' for errors without a response; absent: any. */
  status?: number | '5xx' | 'network';
  /** Stripe decline code / code / type, PayPal issue / name, or Node/undici error code; absent: any. */
  code?: string;
  category: GatewayErrorCategory;
  /** Why this category is right: read this before changing a row. */
  why: string;
}

/** Failures without an HTTP response, the same for every gateway. */
export const NETWORK_RULES: readonly ErrorRule[] = [
  {
    status: 'network',
    code: 'ECONNREFUSED',
    category: 'failover',
    why: 'nothing listens: the request never left',
  },
  { status: 'network', code: 'ENOTFOUND', category: 'failover', why: 'DNS failure: the request never left' },
  { status: 'network', code: 'EAI_AGAIN', category: 'failover', why: 'DNS failure: the request never left' },
  { status: 'network', code: 'EHOSTUNREACH', category: 'failover', why: 'no route: the request never left' },
  { status: 'network', code: 'ENETUNREACH', category: 'failover', why: 'no network: the request never left' },
  {
    status: 'network',
    code: 'UND_ERR_CONNECT_TIMEOUT',
    category: 'failover',
    why: 'TCP connect timed out: the request never left',
  },
  {
    status: 'network',
    code: 'ETIMEDOUT',
    category: 'unknown',
    why: 'timed out, possibly after the gateway processed it',
  },
  {
    status: 'network',
    code: 'TimeoutError',
    category: 'unknown',
    why: 'timed out, possibly after the gateway processed it',
  },
  {
    status: 'network',
    code: 'UND_ERR_HEADERS_TIMEOUT',
    category: 'unknown',
    why: 'no answer in time, possibly after processing',
  },
  {
    status: 'network',
    code: 'UND_ERR_BODY_TIMEOUT',
    category: 'unknown',
    why: 'answer cut short, possibly after processing',
  },
  {
    status: 'network',
    code: 'ECONNRESET',
    category: 'unknown',
    why: 'connection reset (socket hang up) after the request left',
  },
  { status: 'network', code: 'EPIPE', category: 'unknown', why: 'connection closed while sending' },
  {
    status: 'network',
    code: 'UND_ERR_SOCKET',
    category: 'unknown',
    why: 'connection closed after the request left',
  },
  { status: 'network', category: 'unknown', why: 'any other transport failure: assume it may have arrived' },
];

export interface ErrorFacts {
  status?: number | 'network';
  codes: string[];
  /** The code reported on the GatewayError. */
  code: string;
  message: string;
}

/** The first row of `table` that matches the facts. */
export function lookupRule(
  table: readonly ErrorRule[],
  status: number | 'network' | undefined,
  codes: readonly string[],
): ErrorRule {
  const rule = table.find((r) => statusMatches(r.status, status) && (!r.code || codes.includes(r.code)));
  // Every table ends with a catch-all row, so this only guards against an edited table.
  return rule ?? { category: 'unknown', why: 'no rule matched' };
}

/** The classified error for the facts of a failure, by the first matching row of `table`. */
export function classify(gateway: string, table: readonly ErrorRule[], facts: ErrorFacts): GatewayError {
  const rule = lookupRule(table, facts.status, facts.codes);
  const where = facts.status === undefined || facts.status === 'network' ? '' : ` ${facts.status}`;
  return new GatewayError(rule.category, facts.code, redact(`${gateway}${where}: ${facts.message}`));
}

/** Facts about an error without an HTTP answer: the first known code along its cause chain. */
export function networkFacts(err: unknown, outer: unknown = err): ErrorFacts {
  const code = networkCode(err) ?? 'network_error';
  const message = outer instanceof Error ? outer.message : String(outer);
  return { status: 'network', codes: [code], code, message: `${message} (${code})` };
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as { code?: unknown; name?: unknown; cause?: unknown; detail?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && NETWORK_RULES.some((r) => r.code === e.code)) return e.code;
  if (e.name === 'TimeoutError') return 'TimeoutError';
  const inner = Array.isArray(e.errors) ? e.errors[0] : undefined;
  return networkCode(e.cause, depth + 1) ?? networkCode(e.detail, depth + 1) ?? networkCode(inner, depth + 1);
}

function statusMatches(rule: ErrorRule['status'], status: number | 'network' | undefined): boolean {
  if (rule === undefined) return true;
  if (rule === '5xx') return typeof status === 'number' && status >= 500;
  return rule === status;
}

/** Gateway messages end up in logs and payment records: mask anything that looks like a card number. */
function redact(message: string): string {
  return message.replace(/\b(?:\d[ -]?){12,18}\d\b/g, '[REDACTED]');
}

/**
 * A row of an adapter's status table (`STRIPE_STATUS_TABLE`, `PAYPAL_STATUS_TABLE`): how one status of
 * one API object, as one operation meets it, maps to the outcome model.
 */
export interface OutcomeRule extends StatusRule {
  /** For `not-done` rows: which kind of "definitely not done". */
  category?: 'decline' | 'failover';
  /**
   * For `not-done` rows: a lookup finds no trace of the operation yet (it may still be made), so it
   * answers `not_found`, which reconciliation trusts only after the gateway's lookup lag.
   */
  untraced?: true;
}

/** The row for a status; a status no row documents is `unknown`: never guess that money did not move. */
export function statusRule(table: readonly OutcomeRule[], object: string, status: string): OutcomeRule {
  return (
    table.find((r) => r.object === object && r.status === status) ?? {
      object,
      status,
      outcome: 'unknown',
      why: 'a status the table does not document: look it up again before deciding',
    }
  );
}

/** The error a call raises for an answer whose row is not `done`. */
export function outcomeError(rule: OutcomeRule, code: string, message: string): GatewayError {
  const category: GatewayErrorCategory =
    rule.outcome === 'not-done'
      ? (rule.category ?? 'failover')
      : rule.outcome === 'in-progress'
        ? 'in-progress'
        : 'unknown';
  return new GatewayError(category, code, redact(message));
}

/** What a lookup answers for an object in the state of `rule`; `done` builds the done answer. */
export function lookupAnswer(
  rule: OutcomeRule,
  code: string,
  reference: string,
  done: () => OperationStatus,
): OperationStatus {
  switch (rule.outcome) {
    case 'done':
      return done();
    case 'in-progress':
      return { status: 'in_progress', code, reference };
    case 'not-done':
      return rule.untraced
        ? { status: 'not_found' }
        : { status: 'failed', code, category: rule.category ?? 'failover' };
    default:
      throw outcomeError(rule, code, `${rule.object} ${reference} is ${rule.status}`);
  }
}
