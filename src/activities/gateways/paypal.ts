import { isCurrencyCode, type CurrencyCode } from '../../domain/currencies';
import { ConfigurationError } from '../../domain/errors';
import type { Money } from '../../domain/types';
import { fromPaypalValue, PAYPAL_CURRENCIES, toPaypalValue } from './currency-rules';
import { classifyPaypalError, PaypalApiError } from './error-taxonomy';
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

/** Options of the PAYPAL gateway: `clientId` and `clientSecret`, or `apiKey` as `clientId:clientSecret`. */
export interface PaypalGatewayOptions extends GatewayConfig {
  clientId?: string;
  clientSecret?: string;
  /** Currencies to offer, when the PayPal account takes fewer than PayPal does. */
  currencies?: readonly CurrencyCode[];
}

interface Amount {
  currency_code: string;
  value: string;
}

interface PaypalPayment {
  id: string;
  status: string;
  amount: Amount;
}

interface PaypalOrder {
  id: string;
  intent: 'CAPTURE' | 'AUTHORIZE';
  status: string;
  purchase_units?: {
    custom_id?: string;
    amount: Amount;
    payments?: { captures?: PaypalPayment[]; authorizations?: PaypalPayment[] };
  }[];
}

const BASE_URLS = { sandbox: 'https://api-m.sandbox.paypal.com', production: 'https://api-m.paypal.com' };

/**
 * PAYPAL through its REST API with `fetch`. A charge is an order created under request ID `<key>:order`
 * and then captured or authorized under `<key>`; the order ID is the charge's reference, and follow-ups
 * read the order to find the authorization or capture they act on.
 */
export class PaypalGateway implements Gateway {
  readonly type = 'PAYPAL' as const;
  /** Lookups replay the order's creation under its request ID, which PayPal answers consistently. */
  readonly lookupLagMs: number;
  readonly capabilities;
  private readonly baseUrl: string;
  private readonly credentials: string;
  private readonly timeout: number;
  private token?: { value: string; expiresAt: number } | undefined;

  constructor(options: PaypalGatewayOptions) {
    this.lookupLagMs = options.lookupLagMs ?? 0;
    const [keyId, ...keySecret] = (options.apiKey ?? '').split(':');
    const clientId = options.clientId ?? keyId;
    const clientSecret = options.clientSecret ?? keySecret.join(':');
    if (!clientId || !clientSecret) {
      throw new ConfigurationError(
        'The PAYPAL gateway needs clientId and clientSecret (or apiKey "id:secret")',
      );
    }
    this.credentials = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    this.baseUrl = (options.baseUrl ?? BASE_URLS[options.environment ?? 'sandbox']).replace(/\/$/, '');
    this.timeout = options.timeout ?? 30_000;
    this.capabilities = { currencies: options.currencies ?? PAYPAL_CURRENCIES, methods: ['CARD'] } as const;
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    return this.guard(async () => {
      if (request.paymentMethod.type !== 'CARD') {
        throw new GatewayError(
          'failover',
          'payment_method_not_supported',
          `The PAYPAL adapter takes cards, not ${request.paymentMethod.type}`,
        );
      }
      const amount = amountOf(request.amount);
      // Creating an order moves no money; the replay of this request ID is what `getStatus` reads.
      const order = await this.post<PaypalOrder>('/v2/checkout/orders', `${request.idempotencyKey}:order`, {
        intent: request.captureMethod === 'manual' ? 'AUTHORIZE' : 'CAPTURE',
        purchase_units: [{ reference_id: request.paymentId, custom_id: request.idempotencyKey, amount }],
        payment_source: { card: { vault_id: request.paymentMethod.card.token } },
      });
      const unit = order.purchase_units?.[0];
      if (unit?.custom_id !== request.idempotencyKey || unit.amount.value !== amount.value) {
        throw new GatewayError(
          'unknown',
          'order_mismatch',
          `PayPal order ${order.id} is not this charge's order`,
        );
      }
      if (order.status === 'PAYER_ACTION_REQUIRED') return { status: 'requires_action', reference: order.id };
      return this.complete(order, request.idempotencyKey);
    });
  }

  async confirm(request: FollowUpRequest): Promise<ChargeResult> {
    return this.guard(async () => this.complete(await this.order(request.reference), request.idempotencyKey));
  }

  async capture(request: CaptureRequest): Promise<{ reference: string }> {
    return this.guard(async () => {
      const auth = this.payment(await this.order(request.reference), 'authorizations');
      await this.post(`/v2/payments/authorizations/${auth.id}/capture`, request.idempotencyKey, {
        amount: amountOf(request.amount),
        final_capture: true,
      });
      return { reference: request.reference };
    });
  }

  async void(request: FollowUpRequest): Promise<void> {
    return this.guard(async () => {
      const order = await this.order(request.reference);
      // An order still waiting for 3-D Secure holds no money: there is nothing to void, it just expires.
      if (order.status === 'PAYER_ACTION_REQUIRED') return;
      const auth = this.payment(order, 'authorizations');
      await this.post(`/v2/payments/authorizations/${auth.id}/void`, request.idempotencyKey, {});
    });
  }

  async refund(request: RefundRequest): Promise<{ reference: string }> {
    return this.guard(async () => {
      const capture = this.payment(await this.order(request.reference), 'captures');
      const refund = await this.post<PaypalPayment>(
        `/v2/payments/captures/${capture.id}/refund`,
        request.idempotencyKey,
        {
          amount: amountOf(request.amount),
          ...(request.reason ? { note_to_payer: request.reason.slice(0, 255) } : {}),
        },
      );
      return { reference: refund.id };
    });
  }

  /**
   * Replays the order creation under `<key>:order` to learn the order ID, then reads the order. The probe
   * body is deliberately invalid (no purchase units): a known request ID replays its order, an unknown one
   * is refused by validation, so the probe never creates an order and never uses up the request ID.
   */
  async getStatus(idempotencyKey: string): Promise<OperationStatus> {
    return this.guard(async () => {
      let created: PaypalOrder;
      try {
        created = await this.post<PaypalOrder>('/v2/checkout/orders', `${idempotencyKey}:order`, {
          intent: 'CAPTURE',
        });
      } catch (err) {
        if (err instanceof PaypalApiError && err.status === 400) return { status: 'not_found' };
        throw err;
      }
      const order = await this.order(created.id);
      const unit = order.purchase_units?.[0];
      if (!unit || unit.custom_id !== idempotencyKey) {
        throw new GatewayError(
          'unknown',
          'order_mismatch',
          `PayPal order ${order.id} is not this key's order`,
        );
      }
      const amount = moneyOf(unit.amount);
      if (order.status === 'PAYER_ACTION_REQUIRED')
        return { status: 'requires_action', reference: order.id, amount };
      const capture = unit.payments?.captures?.[0];
      const auth = unit.payments?.authorizations?.[0];
      if (order.intent === 'AUTHORIZE' && auth) {
        return auth.status === 'VOIDED' || auth.status === 'DENIED'
          ? { status: 'failed', code: `AUTHORIZATION_${auth.status}` }
          : { status: 'authorized', reference: order.id, amount };
      }
      if (capture && ['COMPLETED', 'PARTIALLY_REFUNDED', 'REFUNDED'].includes(capture.status)) {
        return { status: 'succeeded', reference: order.id, amount };
      }
      if (capture?.status === 'DECLINED') return { status: 'failed', code: 'CAPTURE_DECLINED' };
      // Approved but never captured: no money moved (a decline leaves the order like this too).
      return { status: 'not_found' };
    });
  }

  /** Captures or authorizes an order under the given request ID, by the order's intent. */
  private async complete(order: PaypalOrder, requestId: string): Promise<ChargeResult> {
    const action = order.intent === 'AUTHORIZE' ? 'authorize' : 'capture';
    const done = await this.post<PaypalOrder>(`/v2/checkout/orders/${order.id}/${action}`, requestId, {});
    const payments = done.purchase_units?.[0]?.payments;
    if (action === 'authorize') {
      const auth = payments?.authorizations?.[0];
      if (auth?.status === 'CREATED') return { status: 'authorized', reference: order.id };
      throw new GatewayError(
        'decline',
        `AUTHORIZATION_${auth?.status ?? 'MISSING'}`,
        `PayPal authorization ${auth?.status}`,
      );
    }
    const capture = payments?.captures?.[0];
    if (capture?.status === 'COMPLETED') return { status: 'succeeded', reference: order.id };
    if (capture?.status === 'DECLINED')
      throw new GatewayError('decline', 'CAPTURE_DECLINED', 'PayPal declined the capture');
    // PENDING (held for review) or anything new: PayPal has the money in motion but no final answer.
    throw new GatewayError(
      'unknown',
      `CAPTURE_${capture?.status ?? 'MISSING'}`,
      `PayPal capture ${capture?.status}`,
    );
  }

  private order(id: string): Promise<PaypalOrder> {
    return this.request<PaypalOrder>('GET', `/v2/checkout/orders/${encodeURIComponent(id)}`);
  }

  private payment(order: PaypalOrder, kind: 'captures' | 'authorizations'): PaypalPayment {
    const payment = order.purchase_units?.[0]?.payments?.[kind]?.[0];
    if (!payment) {
      throw new GatewayError(
        'decline',
        kind === 'captures' ? 'NOT_CAPTURED' : 'NOT_AUTHORIZED',
        `PayPal order ${order.id} has no ${kind}`,
      );
    }
    return payment;
  }

  private post<T>(path: string, requestId: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, requestId, body);
  }

  private async request<T>(method: string, path: string, requestId?: string, body?: unknown): Promise<T> {
    const send = async (token: string) =>
      fetch(this.baseUrl + path, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          ...(requestId ? { 'PayPal-Request-Id': requestId } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeout),
      });
    let res = await send(await this.accessToken());
    if (res.status === 401) {
      // An expired or revoked token: PayPal processed nothing, so one retry with a fresh token is safe.
      this.token = undefined;
      await res.body?.cancel();
      res = await send(await this.accessToken());
    }
    return readJson<T>(res);
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now()) return this.token.value;
    const res = await fetch(`${this.baseUrl}/v1/oauth2/token`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${this.credentials}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
      signal: AbortSignal.timeout(this.timeout),
    });
    const token = await readJson<{ access_token: string; expires_in: number }>(res);
    // Renew a minute early so a token never expires in flight.
    this.token = { value: token.access_token, expiresAt: Date.now() + (token.expires_in - 60) * 1000 };
    return token.access_token;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyPaypalError(err);
    }
  }
}

async function readJson<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new PaypalApiError(res.status, body);
  return body as T;
}

function amountOf(money: Money): Amount {
  const value = toPaypalValue(money);
  // Refused before any request: PayPal could only take a rounded amount, and another gateway may take it exactly.
  if (value === undefined) {
    throw new GatewayError(
      'failover',
      'amount_not_supported',
      `PayPal cannot take ${money.amount} minor units of ${money.currency} exactly`,
    );
  }
  return { currency_code: money.currency, value };
}

function moneyOf(amount: Amount): Money {
  const money = isCurrencyCode(amount.currency_code)
    ? fromPaypalValue(amount.value, amount.currency_code)
    : undefined;
  if (!money) throw new GatewayError('unknown', 'unexpected_amount', 'PayPal order has an unexpected amount');
  return money;
}
