import Stripe from 'stripe';
import { isCurrencyCode, type CurrencyCode } from '../../domain/currencies';
import { ConfigurationError } from '../../domain/errors';
import type { Money, StoredPaymentMethod } from '../../domain/types';
import { fromStripeAmount, STRIPE_CURRENCIES, toStripeAmount } from './currency-rules';
import { classifyStripeError } from './error-taxonomy';
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
} from './gateway';

/** Options of the STRIPE gateway: `apiKey` is the secret key; `baseUrl` points it elsewhere (the sandbox). */
export interface StripeGatewayOptions extends GatewayConfig {
  /** Currencies to offer, when the Stripe account takes fewer than Stripe does. */
  currencies?: readonly CurrencyCode[];
}

/** How far Stripe's search may lag its writes ("under normal operating conditions, within a minute"). */
export const STRIPE_SEARCH_LAG_MS = 60_000;

/** The metadata key that ties a PaymentIntent to AegisPay's gateway idempotency key (what `getStatus` searches). */
export const STRIPE_KEY_METADATA = 'aegispay_key';

/**
 * STRIPE through the official `stripe` package: a charge is a PaymentIntent created with `confirm=true`,
 * every call carries the AegisPay idempotency key, and the SDK never retries (Temporal does).
 */
export class StripeGateway implements Gateway {
  readonly type = 'STRIPE' as const;
  /** Lookups use Stripe's search, which Stripe says can take up to a minute to show a new PaymentIntent. */
  readonly lookupLagMs: number;
  readonly capabilities;
  private readonly stripe: Stripe;

  constructor(options: StripeGatewayOptions) {
    if (!options.apiKey)
      throw new ConfigurationError('The STRIPE gateway needs an apiKey (sk_test_… or sk_live_…)');
    this.capabilities = { currencies: options.currencies ?? STRIPE_CURRENCIES, methods: ['CARD'] } as const;
    this.lookupLagMs = options.lookupLagMs ?? STRIPE_SEARCH_LAG_MS;
    const url = options.baseUrl ? new URL(options.baseUrl) : undefined;
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
          metadata: { [STRIPE_KEY_METADATA]: request.idempotencyKey, aegispay_payment_id: request.paymentId },
        },
        { idempotencyKey: request.idempotencyKey },
      ),
    );
    return chargeResult(intent);
  }

  async confirm(request: FollowUpRequest): Promise<ChargeResult> {
    const intent = await this.call(() =>
      this.stripe.paymentIntents.confirm(request.reference, {}, { idempotencyKey: request.idempotencyKey }),
    );
    return chargeResult(intent);
  }

  async capture(request: CaptureRequest): Promise<{ reference: string }> {
    const amount = this.amountOf(request.amount);
    const intent = await this.call(() =>
      this.stripe.paymentIntents.capture(
        request.reference,
        { amount_to_capture: amount },
        { idempotencyKey: request.idempotencyKey },
      ),
    );
    return { reference: intent.id };
  }

  async void(request: FollowUpRequest): Promise<void> {
    await this.call(() =>
      this.stripe.paymentIntents.cancel(request.reference, {}, { idempotencyKey: request.idempotencyKey }),
    );
  }

  async refund(request: RefundRequest): Promise<{ reference: string }> {
    const amount = this.amountOf(request.amount);
    const refund = await this.call(() =>
      this.stripe.refunds.create(
        {
          payment_intent: request.reference,
          amount,
          // Stripe takes only its own reasons; the caller's free text travels as metadata.
          reason: 'requested_by_customer',
          metadata: {
            [STRIPE_KEY_METADATA]: request.idempotencyKey,
            aegispay_payment_id: request.paymentId,
            ...(request.reason ? { aegispay_reason: request.reason.slice(0, 500) } : {}),
          },
        },
        { idempotencyKey: request.idempotencyKey },
      ),
    );
    if (refund.status === 'failed' || refund.status === 'canceled') {
      throw new GatewayError('decline', 'refund_failed', `Stripe refund ${refund.id} ${refund.status}`);
    }
    return { reference: refund.id };
  }

  /**
   * Looks the charge up by the `aegispay_key` metadata with the search API: a read that never creates
   * anything. Covers charge keys; follow-ups are safe to retry under their own key instead.
   */
  async getStatus(idempotencyKey: string): Promise<OperationStatus> {
    const escaped = idempotencyKey.replace(/[\\']/g, '\\$&');
    const result = await this.call(() =>
      this.stripe.paymentIntents.search({
        query: `metadata['${STRIPE_KEY_METADATA}']:'${escaped}'`,
        limit: 10,
      }),
    );
    // Exactly one is expected; should there be more, one that moved money is the one that matters.
    const intent =
      result.data.find((pi) => ['succeeded', 'requires_capture'].includes(pi.status)) ?? result.data[0];
    if (!intent) return { status: 'not_found' };
    const amount = moneyOf(intent);
    switch (intent.status) {
      case 'succeeded':
        return {
          status: intent.capture_method === 'manual' ? 'authorized' : 'succeeded',
          reference: intent.id,
          amount,
        };
      case 'requires_capture':
        return { status: 'authorized', reference: intent.id, amount };
      case 'requires_action':
        return { status: 'requires_action', reference: intent.id, amount };
      case 'requires_payment_method':
        return intent.last_payment_error
          ? {
              status: 'failed',
              code: intent.last_payment_error.decline_code ?? intent.last_payment_error.code ?? 'card_error',
            }
          : { status: 'not_found' };
      case 'canceled':
        return { status: 'failed', code: 'payment_intent_canceled' };
      case 'requires_confirmation':
        // Created but never confirmed: no money moved.
        return { status: 'not_found' };
      default:
        // `processing`: the outcome is not known yet; Temporal retries the lookup.
        throw new GatewayError(
          'unknown',
          `payment_intent_${intent.status}`,
          `PaymentIntent ${intent.id} is ${intent.status}`,
        );
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
        { idempotencyKey: stripePaymentMethodKey(request.idempotencyKey) },
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

function chargeResult(intent: Stripe.PaymentIntent): ChargeResult {
  if (intent.status === 'succeeded') return { status: 'succeeded', reference: intent.id };
  if (intent.status === 'requires_capture') return { status: 'authorized', reference: intent.id };
  if (intent.status === 'requires_action') return { status: 'requires_action', reference: intent.id };
  // `processing` and the like: Stripe took the request but has no outcome yet.
  throw new GatewayError(
    'unknown',
    `payment_intent_${intent.status}`,
    `PaymentIntent ${intent.id} is ${intent.status}`,
  );
}

function moneyOf(intent: Stripe.PaymentIntent): Money {
  const currency = intent.currency.toUpperCase();
  const money = isCurrencyCode(currency) ? fromStripeAmount(intent.amount, currency) : undefined;
  if (!money)
    throw new GatewayError(
      'unknown',
      'unexpected_amount',
      `PaymentIntent ${intent.id} has an unexpected amount`,
    );
  return money;
}
