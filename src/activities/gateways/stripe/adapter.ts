import Stripe from 'stripe';
import { isCurrencyCode, type CurrencyCode } from '../../../domain/currencies';
import { ConfigurationError } from '../../../domain/errors';
import type { Money, StoredPaymentMethod } from '../../../domain/types';
import { fromStripeAmount, STRIPE_CURRENCIES, toStripeAmount } from './currency';
import { lookupAnswer, lookupRule, outcomeError, statusRule, type OutcomeRule } from '../error-taxonomy';
import { classifyStripeError, STRIPE_ERROR_TABLE } from './errors';
import { credentialHash, fitKey, KEY_LIMITS, keyParts } from '../gateway-keys';
import {
  GatewayError,
  type CaptureRequest,
  type ChargeRequest,
  type ChargeResult,
  type FollowUpRequest,
  type Gateway,
  type GatewayConfig,
  type OperationStatus,
  type RefundRequest,
} from '../gateway';

/** Options of the STRIPE gateway: `apiKey` is the secret key; `baseUrl` points it elsewhere (the sandbox). */
export interface StripeGatewayOptions extends GatewayConfig {
  /** Currencies to offer, when the Stripe account takes fewer than Stripe does. */
  currencies?: readonly CurrencyCode[];
}

/** How far Stripe's search may lag its writes ("under normal operating conditions, within a minute"). */
export const STRIPE_SEARCH_LAG_MS = 60_000;

/** The metadata key that ties a PaymentIntent to AegisPay's gateway idempotency key (what `getStatus` searches). */
export const STRIPE_KEY_METADATA = 'aegispay_key';

/** The metadata key of AegisPay's payment ID (what lookups of follow-up keys search). */
export const STRIPE_PAYMENT_METADATA = 'aegispay_payment_id';

/** The objects of {@link STRIPE_STATUS_TABLE}: a PaymentIntent as each operation meets it, and a Refund. */
export const STRIPE_OBJECTS = {
  /** A charge, a confirm, or a lookup of either. */
  charge: 'PaymentIntent',
  capture: 'PaymentIntent (capture)',
  cancel: 'PaymentIntent (cancel)',
  refund: 'Refund',
} as const;

/** `requires_payment_method` after a failed attempt: the status plus `last_payment_error`. */
const FAILED_ATTEMPT = 'requires_payment_method (last_payment_error)';

/**
 * Every status Stripe documents for PaymentIntents (docs.stripe.com/payments/paymentintents/lifecycle)
 * and Refunds (docs.stripe.com/api/refunds/object#refund_object-status), as each operation meets it.
 */
export const STRIPE_STATUS_TABLE: readonly OutcomeRule[] = [
  {
    object: STRIPE_OBJECTS.charge,
    status: 'requires_payment_method',
    outcome: 'not-done',
    category: 'failover',
    why: 'no payment method was ever tried: nothing moved, and nothing will without a new confirmation',
  },
  {
    object: STRIPE_OBJECTS.charge,
    status: FAILED_ATTEMPT,
    outcome: 'not-done',
    category: 'decline',
    why: 'the attempt failed with a card error: a decline stays a decline, however it is learned (a processing_error, which STRIPE_ERROR_TABLE does not call a decline, is failover)',
  },
  {
    object: STRIPE_OBJECTS.charge,
    status: 'requires_confirmation',
    outcome: 'not-done',
    category: 'failover',
    why: 'created but never confirmed: nothing moved (the adapter creates and confirms in one request)',
  },
  {
    object: STRIPE_OBJECTS.charge,
    status: 'requires_action',
    outcome: 'done',
    why: 'the charge waits for the customer (3-D Secure): a result the workflow acts on',
  },
  {
    object: STRIPE_OBJECTS.charge,
    status: 'processing',
    outcome: 'in-progress',
    why: 'Stripe took the payment and has no outcome yet: money may be moving, so nothing else may be tried',
  },
  {
    object: STRIPE_OBJECTS.charge,
    status: 'requires_capture',
    outcome: 'done',
    why: 'authorized: the money is held for a capture',
  },
  {
    object: STRIPE_OBJECTS.charge,
    status: 'canceled',
    outcome: 'not-done',
    category: 'failover',
    why: 'canceled before any capture (voided, abandoned 3-D Secure, expired authorization): nothing is held or charged',
  },
  { object: STRIPE_OBJECTS.charge, status: 'succeeded', outcome: 'done', why: 'charged' },
  {
    object: STRIPE_OBJECTS.capture,
    status: 'succeeded',
    outcome: 'done',
    why: 'captured (when the captured amount is the one asked for)',
  },
  {
    object: STRIPE_OBJECTS.capture,
    status: 'requires_capture',
    outcome: 'not-done',
    category: 'failover',
    untraced: true,
    why: 'still capturable: this capture has not happened (yet)',
  },
  {
    object: STRIPE_OBJECTS.capture,
    status: 'processing',
    outcome: 'in-progress',
    why: 'the capture is under way without an outcome yet',
  },
  {
    object: STRIPE_OBJECTS.capture,
    status: 'canceled',
    outcome: 'not-done',
    category: 'decline',
    why: 'the authorization was released or expired: no capture can ever happen, retrying cannot help',
  },
  ...(['requires_payment_method', FAILED_ATTEMPT, 'requires_confirmation', 'requires_action'] as const).map(
    (status): OutcomeRule => ({
      object: STRIPE_OBJECTS.capture,
      status,
      outcome: 'not-done',
      category: 'decline',
      why: 'nothing was authorized, so there is nothing to capture: retrying cannot help',
    }),
  ),
  { object: STRIPE_OBJECTS.cancel, status: 'canceled', outcome: 'done', why: 'voided: nothing is held' },
  ...(
    [
      'requires_capture',
      'requires_payment_method',
      FAILED_ATTEMPT,
      'requires_confirmation',
      'requires_action',
    ] as const
  ).map((status): OutcomeRule => ({
    object: STRIPE_OBJECTS.cancel,
    status,
    outcome: 'not-done',
    category: 'failover',
    untraced: true,
    why: 'still cancelable: this void has not happened (yet)',
  })),
  {
    object: STRIPE_OBJECTS.cancel,
    status: 'processing',
    outcome: 'in-progress',
    why: 'a charge or capture is under way: Stripe refuses to cancel until it settles',
  },
  {
    object: STRIPE_OBJECTS.cancel,
    status: 'succeeded',
    outcome: 'not-done',
    category: 'decline',
    why: 'already captured: it can only be refunded now, a void can never happen',
  },
  {
    object: STRIPE_OBJECTS.refund,
    status: 'pending',
    outcome: 'in-progress',
    why: 'the refund is on its way and may still fail: never refund again meanwhile',
  },
  {
    object: STRIPE_OBJECTS.refund,
    status: 'requires_action',
    outcome: 'in-progress',
    why: 'the customer must give details (some payment methods) before the refund completes: not final',
  },
  { object: STRIPE_OBJECTS.refund, status: 'succeeded', outcome: 'done', why: 'refunded' },
  {
    object: STRIPE_OBJECTS.refund,
    status: 'failed',
    outcome: 'not-done',
    category: 'decline',
    why: "the refund failed (closed card, …) and the amount went back to the merchant's balance: a definite answer",
  },
  {
    object: STRIPE_OBJECTS.refund,
    status: 'canceled',
    outcome: 'not-done',
    category: 'decline',
    why: 'the refund was canceled: nothing was refunded, a definite answer',
  },
];

/**
 * STRIPE through the official `stripe` package: a charge is a PaymentIntent created with `confirm=true`,
 * every call carries the AegisPay idempotency key, and the SDK never retries (Temporal does).
 */
export class StripeGateway implements Gateway {
  readonly type = 'STRIPE' as const;
  /** Lookups use Stripe's search, which Stripe says can take up to a minute to show a new PaymentIntent. */
  readonly lookupLagMs: number;
  readonly policySettings: Readonly<Record<string, string | number>>;
  readonly capabilities;
  private readonly stripe: Stripe;

  constructor(options: StripeGatewayOptions) {
    if (!options.apiKey)
      throw new ConfigurationError('The STRIPE gateway needs an apiKey (sk_test_… or sk_live_…)');
    this.capabilities = { currencies: options.currencies ?? STRIPE_CURRENCIES, methods: ['CARD'] } as const;
    this.lookupLagMs = options.lookupLagMs ?? STRIPE_SEARCH_LAG_MS;
    const url = options.baseUrl ? new URL(options.baseUrl) : undefined;
    this.policySettings = {
      baseUrl: url ? url.origin : 'https://api.stripe.com',
      timeoutMs: options.timeout ?? 30_000,
      credentials: credentialHash(options.apiKey),
    };
    this.stripe = new Stripe(options.apiKey, {
      ...(url
        ? {
            host: url.hostname,
            port: url.port || (url.protocol === 'http:' ? 80 : 443),
            protocol: url.protocol === 'http:' ? 'http' : 'https',
          }
        : {}),
      // Retries belong to Temporal, under the same idempotency key.
      maxNetworkRetries: 0,
      timeout: options.timeout ?? 30_000,
      telemetry: false,
    });
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const amount = this.amountOf(request.amount);
    const paymentMethod = await this.paymentMethodOf(request);
    const intent = await this.call(() =>
      this.stripe.paymentIntents.create(
        {
          amount,
          currency: request.amount.currency.toLowerCase(),
          confirm: true,
          capture_method: request.captureMethod,
          payment_method_types: ['card'],
          payment_method: paymentMethod,
          metadata: chargeMetadata(request),
        },
        { idempotencyKey: stripeIdempotencyKey(request.idempotencyKey) },
      ),
    );
    return chargeResult(intent);
  }

  async confirm(request: FollowUpRequest): Promise<ChargeResult> {
    const intent = await this.call(() =>
      this.stripe.paymentIntents.confirm(
        request.reference,
        {},
        { idempotencyKey: stripeIdempotencyKey(request.idempotencyKey) },
      ),
    );
    return chargeResult(intent);
  }

  /**
   * Captures, and stays idempotent beyond Stripe's 24-hour key lifetime: a capture refused because the
   * intent is no longer capturable is done when the intent shows this very capture (captured, same amount).
   */
  async capture(request: CaptureRequest): Promise<{ reference: string }> {
    const amount = this.amountOf(request.amount);
    const intent = await this.followUp(request.reference, () =>
      this.stripe.paymentIntents.capture(
        request.reference,
        { amount_to_capture: amount },
        { idempotencyKey: stripeIdempotencyKey(request.idempotencyKey) },
      ),
    );
    const done = captureDone(intent, amount);
    if (done === 'refused') throw intent.refusal;
    return { reference: intent.id };
  }

  /** Voids; an intent already canceled is a void done (its key may have expired meanwhile). */
  async void(request: FollowUpRequest): Promise<void> {
    const intent = await this.followUp(request.reference, () =>
      this.stripe.paymentIntents.cancel(
        request.reference,
        {},
        { idempotencyKey: stripeIdempotencyKey(request.idempotencyKey) },
      ),
    );
    const rule = statusRule(STRIPE_STATUS_TABLE, STRIPE_OBJECTS.cancel, intentStatus(intent));
    if (rule.outcome !== 'done') throw intent.refusal ?? outcomeError(rule, codeOf(intent), describe(intent));
  }

  /**
   * Refunds. A refund of the intent that carries this key in its metadata is this refund, made earlier:
   * it is returned instead of refunding again, which keeps a retry idempotent after the key expired.
   */
  async refund(request: RefundRequest): Promise<{ reference: string }> {
    const amount = this.amountOf(request.amount);
    const key = fitKey(request.idempotencyKey, KEY_LIMITS.stripeMetadataValue);
    const refund =
      (await this.refundOf(request.reference, key)) ??
      (await this.call(() =>
        this.stripe.refunds.create(
          {
            payment_intent: request.reference,
            amount,
            // Stripe takes only its own reasons; the caller's free text travels as metadata.
            reason: 'requested_by_customer',
            metadata: {
              [STRIPE_KEY_METADATA]: key,
              [STRIPE_PAYMENT_METADATA]: fitKey(request.paymentId, KEY_LIMITS.stripeMetadataValue),
              ...(request.reason ? { aegispay_reason: request.reason.slice(0, 500) } : {}),
            },
          },
          { idempotencyKey: stripeIdempotencyKey(request.idempotencyKey) },
        ),
      ));
    const rule = statusRule(STRIPE_STATUS_TABLE, STRIPE_OBJECTS.refund, refund.status ?? 'unknown');
    if (rule.outcome !== 'done') {
      throw outcomeError(rule, `refund_${refund.status}`, `Stripe refund ${refund.id} is ${refund.status}`);
    }
    return { reference: refund.id };
  }

  /**
   * What became of the call made under `idempotencyKey`, by reads only. A charge key is found through
   * the `aegispay_key` metadata of its PaymentIntent; a follow-up key (capture, void, confirm, refund)
   * through the payment's PaymentIntent (`reference` when the caller has it, else the
   * `aegispay_payment_id` search) and, for a refund, the intent's refund carrying the key.
   */
  async getStatus(idempotencyKey: string, reference?: string): Promise<OperationStatus> {
    const parts = keyParts(idempotencyKey);
    const operation = parts?.operation ?? 'charge';
    const intent =
      operation === 'charge'
        ? await this.searchIntent(STRIPE_KEY_METADATA, fitKey(idempotencyKey, KEY_LIMITS.stripeMetadataValue))
        : reference
          ? await this.call(() => this.stripe.paymentIntents.retrieve(reference))
          : await this.searchIntent(
              STRIPE_PAYMENT_METADATA,
              fitKey(parts!.paymentId, KEY_LIMITS.stripeMetadataValue),
            );
    if (!intent) return { status: 'not_found' };
    if (operation === 'refund') {
      const refund = await this.refundOf(intent.id, fitKey(idempotencyKey, KEY_LIMITS.stripeMetadataValue));
      return refund ? refundLookup(refund, intent) : { status: 'not_found' };
    }
    return intentLookup(
      intent,
      operation === 'capture' ? 'capture' : operation === 'void' ? 'cancel' : 'charge',
    );
  }

  /** The PaymentIntent whose metadata has `value` under `key`; of several, one that moved money. */
  private async searchIntent(key: string, value: string): Promise<Stripe.PaymentIntent | undefined> {
    const escaped = value.replace(/[\\']/g, '\\$&');
    const result = await this.call(() =>
      this.stripe.paymentIntents.search({ query: `metadata['${key}']:'${escaped}'`, limit: 10 }),
    );
    return (
      result.data.find((pi) => ['succeeded', 'requires_capture', 'processing'].includes(pi.status)) ??
      result.data[0]
    );
  }

  /** The refund of a PaymentIntent that carries `key` (already fitted) in its metadata. */
  private async refundOf(intentId: string, key: string): Promise<Stripe.Refund | undefined> {
    const refunds = await this.call(() => this.stripe.refunds.list({ payment_intent: intentId, limit: 100 }));
    return refunds.data.find((r) => r.metadata?.[STRIPE_KEY_METADATA] === key);
  }

  /**
   * Runs a capture or cancel. When Stripe refuses it for the intent's state, the intent is read: the
   * state may show the operation already done; otherwise the refusal, with Stripe's code, is returned.
   */
  private async followUp(
    id: string,
    fn: () => Promise<Stripe.PaymentIntent>,
  ): Promise<Stripe.PaymentIntent & { refusal?: GatewayError }> {
    try {
      return await this.call(fn);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code !== 'payment_intent_unexpected_state') throw err;
      const intent = await this.call(() => this.stripe.paymentIntents.retrieve(id));
      return Object.assign(intent, { refusal: err });
    }
  }

  /**
   * The PaymentMethod to charge. `pm_…` already is one (pm_card_visa); a card token (tok_visa) becomes one
   * first, through `card[token]`, the documented way to use a token with PaymentIntents. Its key derives
   * from the charge's, so a retried charge gets the same PaymentMethod back and never spends the
   * single-use token twice.
   */
  private async paymentMethodOf(request: ChargeRequest): Promise<string> {
    const token = cardToken(request.paymentMethod);
    if (token.startsWith('pm_')) return token;
    const method = await this.call(() =>
      this.stripe.paymentMethods.create(
        { type: 'card', card: { token } },
        { idempotencyKey: stripeIdempotencyKey(stripePaymentMethodKey(request.idempotencyKey)) },
      ),
    );
    return method.id;
  }

  private amountOf(money: Money): number {
    const amount = toStripeAmount(money);
    // Refused before any request: Stripe could only take a rounded amount, and another gateway may take it exactly.
    if (amount === undefined) {
      throw new GatewayError(
        'failover',
        'amount_not_supported',
        `Stripe cannot represent ${money.amount} minor units of ${money.currency} exactly`,
      );
    }
    return amount;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyStripeError(err);
    }
  }
}

function cardToken(method: StoredPaymentMethod): string {
  if (method.type !== 'CARD') {
    throw new GatewayError(
      'failover',
      'payment_method_not_supported',
      `The STRIPE adapter takes cards, not ${method.type}`,
    );
  }
  return method.card.token;
}

/** The idempotency key of the PaymentMethod made from a charge's card token: one per charge key. */
export function stripePaymentMethodKey(chargeKey: string): string {
  return `${chargeKey}:payment_method`;
}

/** The Stripe `Idempotency-Key` for an AegisPay key: the key itself, shortened past 255 characters. */
export function stripeIdempotencyKey(key: string): string {
  return fitKey(key, KEY_LIMITS.stripeIdempotencyKey);
}

/** A PaymentIntent's row status: `requires_payment_method` tells a failed attempt from none. */
export function intentStatus(intent: Pick<Stripe.PaymentIntent, 'status' | 'last_payment_error'>): string {
  return intent.status === 'requires_payment_method' && intent.last_payment_error
    ? FAILED_ATTEMPT
    : intent.status;
}

/** The answer of a charge or confirm, by {@link STRIPE_STATUS_TABLE}. */
export function chargeResult(intent: Stripe.PaymentIntent): ChargeResult {
  const rule = statusRule(STRIPE_STATUS_TABLE, STRIPE_OBJECTS.charge, intentStatus(intent));
  if (rule.outcome === 'done') return { status: doneStatus(intent, 'charge'), reference: intent.id };
  throw outcomeError({ ...rule, ...failedAttemptCategory(intent, rule) }, codeOf(intent), describe(intent));
}

/** What a lookup finds of a charge, confirm, capture or void in this PaymentIntent, by the table. */
export function intentLookup(
  intent: Stripe.PaymentIntent,
  operation: 'charge' | 'capture' | 'cancel',
): OperationStatus {
  const rule = statusRule(STRIPE_STATUS_TABLE, STRIPE_OBJECTS[operation], intentStatus(intent));
  return lookupAnswer({ ...rule, ...failedAttemptCategory(intent, rule) }, codeOf(intent), intent.id, () => {
    if (operation === 'capture' && intent.amount_received > 0) {
      return { status: 'succeeded', reference: intent.id, amount: moneyOf(intent, intent.amount_received) };
    }
    return { status: doneStatus(intent, operation), reference: intent.id, amount: moneyOf(intent) };
  });
}

/** What a lookup finds of a refund, by the table. */
export function refundLookup(refund: Stripe.Refund, intent: Stripe.PaymentIntent): OperationStatus {
  const rule = statusRule(STRIPE_STATUS_TABLE, STRIPE_OBJECTS.refund, refund.status ?? 'unknown');
  return lookupAnswer(rule, `refund_${refund.status}`, refund.id, () => ({
    status: 'succeeded',
    reference: refund.id,
    amount: moneyOf(intent, refund.amount),
  }));
}

/** Whether a capture answer is this capture done: captured, and of the amount asked for. */
function captureDone(
  intent: Stripe.PaymentIntent & { refusal?: GatewayError },
  amount: number,
): 'done' | 'refused' {
  const rule = statusRule(STRIPE_STATUS_TABLE, STRIPE_OBJECTS.capture, intentStatus(intent));
  if (rule.outcome === 'done' && intent.amount_received === amount) return 'done';
  if (intent.refusal) return 'refused';
  if (rule.outcome === 'done') {
    throw new GatewayError('unknown', 'capture_amount_mismatch', `${describe(intent)} with another amount`);
  }
  throw outcomeError(rule, codeOf(intent), describe(intent));
}

/** The done status a row means for the operation (a manual charge stays "authorized" once captured). */
function doneStatus(
  intent: Stripe.PaymentIntent,
  operation: 'charge' | 'capture' | 'cancel',
): ChargeResult['status'] {
  if (operation !== 'charge') return 'succeeded';
  if (intent.status === 'requires_action') return 'requires_action';
  if (intent.status === 'requires_capture' || intent.capture_method === 'manual') return 'authorized';
  return 'succeeded';
}

/**
 * A failed attempt keeps its card error's category: a decline stays a decline; what Stripe's error
 * table calls anything else (processing_error) is definitely not charged, so failover.
 */
function failedAttemptCategory(intent: Stripe.PaymentIntent, rule: OutcomeRule): Partial<OutcomeRule> {
  const error = intent.last_payment_error;
  if (rule.status !== FAILED_ATTEMPT || !error) return {};
  const codes = [error.decline_code, error.code, error.type].filter(
    (c): c is string => typeof c === 'string',
  );
  const category = lookupRule(STRIPE_ERROR_TABLE, 402, codes).category;
  return { category: category === 'decline' ? 'decline' : 'failover' };
}

/** The code a PaymentIntent's state reports: a failed attempt's decline code, else its status. */
function codeOf(intent: Stripe.PaymentIntent): string {
  const error = intent.last_payment_error;
  if (intent.status === 'requires_payment_method' && error) {
    const decline = error.decline_code === 'generic_decline' ? undefined : error.decline_code;
    return decline ?? error.code ?? 'card_declined';
  }
  return `payment_intent_${intent.status}`;
}

function describe(intent: Stripe.PaymentIntent): string {
  return `PaymentIntent ${intent.id} is ${intent.status}`;
}

/** The metadata of a charge: keys fitted to Stripe's 500-character metadata values. */
function chargeMetadata(request: ChargeRequest): Record<string, string> {
  return {
    [STRIPE_KEY_METADATA]: fitKey(request.idempotencyKey, KEY_LIMITS.stripeMetadataValue),
    [STRIPE_PAYMENT_METADATA]: fitKey(request.paymentId, KEY_LIMITS.stripeMetadataValue),
  };
}

function moneyOf(intent: Stripe.PaymentIntent, amount = intent.amount): Money {
  const currency = intent.currency.toUpperCase();
  const money = isCurrencyCode(currency) ? fromStripeAmount(amount, currency) : undefined;
  if (!money)
    throw new GatewayError(
      'unknown',
      'unexpected_amount',
      `PaymentIntent ${intent.id} has an unexpected amount`,
    );
  return money;
}
