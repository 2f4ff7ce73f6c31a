import { z } from 'zod';
import type { Customer, Metadata, Money, RiskAssessment, StoredPaymentMethod } from '../domain/types';

/** What a risk check sees of a payment: the tokenized card (brand, last 4, expiry), never its number. */
export interface RiskCheckInput {
  paymentId: string;
  amount: Money;
  paymentMethod: StoredPaymentMethod;
  customer: Customer;
  metadata: Metadata;
}

/** A risk check's answer. */
export type RiskVerdict = Pick<RiskAssessment, 'decision' | 'score' | 'reason'>;

/**
 * A fraud or risk check run on the worker before a payment's first charge (a call to your fraud
 * service, rules on the customer's history, …). It runs inside the routing local activity, so it costs
 * no extra round trip to Temporal, and is retried with it.
 */
export const riskCheckSchema = z.strictObject({
  assess: z.custom<(payment: RiskCheckInput) => RiskVerdict | Promise<RiskVerdict>>(
    (v) => typeof v === 'function',
    'assess must be a function',
  ),
  /**
   * What a check that keeps failing (throws, times out, or answers nonsense) decides once its retries
   * are spent: `deny` fails closed (the default: no charge without a check), `allow` fails open.
   */
  onError: z.enum(['deny', 'allow']).default('deny'),
  /** Each try's time limit; the routing local activity allows 10 s in all per try. */
  timeoutMs: z.number().int().min(1).max(9000).default(5000),
});
export type RiskCheckConfig = z.input<typeof riskCheckSchema>;
export type RiskCheck = z.output<typeof riskCheckSchema>;

const verdictSchema = z.object({
  decision: z.enum(['allow', 'deny']),
  score: z.number().finite().optional(),
  reason: z.string().max(500).optional(),
});

/**
 * Runs the check once. A failure is thrown (so the local activity tries again) until `lastTry`, where
 * the `onError` policy answers instead, saying why in `checkFailed`.
 */
export async function assessRisk(
  check: RiskCheck,
  payment: RiskCheckInput,
  lastTry: boolean,
): Promise<RiskAssessment> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${check.timeoutMs} ms`)), check.timeoutMs);
    });
    const verdict = verdictSchema.safeParse(await Promise.race([check.assess(payment), timeout]));
    if (!verdict.success) throw new Error(`unusable answer: ${z.prettifyError(verdict.error)}`);
    return verdict.data;
  } catch (err) {
    if (!lastTry) throw err;
    const checkFailed = err instanceof Error ? err.message : String(err);
    return { decision: check.onError, reason: `risk check failed; onError is ${check.onError}`, checkFailed };
  } finally {
    clearTimeout(timer);
  }
}
