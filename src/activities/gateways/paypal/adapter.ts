import { isCurrencyCode, type CurrencyCode } from '../../../domain/currencies';
import { ConfigurationError } from '../../../domain/errors';
import type { Money } from '../../../domain/types';
import { fromPaypalValue, PAYPAL_CURRENCIES, toPaypalValue } from './currency';
import { lookupAnswer, outcomeError, statusRule, type OutcomeRule } from '../error-taxonomy';
import { classifyPaypalError, PaypalApiError } from './errors';
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

/** Options of the PAYPAL gateway: `clientId` and `clientSecret`, or `apiKey` as `clientId:clientSecret`. */
export interface PaypalGatewayOptions extends GatewayConfig {
  clientId?: string;
  clientSecret?: string;
  /** Currencies to offer, when the PayPal account takes fewer than PayPal does. */
  currencies?: readonly CurrencyCode[];
}

export interface Amount {
  currency_code: string;
  value: string;
}

export interface PaypalPayment {
  id: string;
  status: string;
  amount: Amount;
}

export interface PaypalOrder {
  id: string;
  intent: 'CAPTURE' | 'AUTHORIZE';
  status: string;
  purchase_units?: {
    custom_id?: string;
    amount: Amount;
    payments?: { captures?: PaypalPayment[]; authorizations?: PaypalPayment[] };
  }[];
}

/** The objects of {@link PAYPAL_STATUS_TABLE}: PayPal's objects, an authorization as each operation meets it. */
export const PAYPAL_OBJECTS = {
  order: 'order',
  capture: 'capture',
  /** An authorization as a charge (intent AUTHORIZE) or its lookup meets it. */
  authorization: 'authorization',
  /** An authorization as a capture of it meets it, when it shows no capture. */
  authorizationCapture: 'authorization (capture)',
  authorizationVoid: 'authorization (void)',
  refund: 'refund',
} as const;

const AUTHORIZATION_STATUSES = [
  'CREATED',
  'CAPTURED',
  'DENIED',
  'PARTIALLY_CAPTURED',
  'VOIDED',
  'PENDING',
  'EXPIRED',
];

/**
 * Every status PayPal documents for orders, captures, authorizations and refunds
 * (developer.paypal.com/docs/api/orders/v2, /payments/v2), as each operation meets it.
 */
export const PAYPAL_STATUS_TABLE: readonly OutcomeRule[] = [
  {
    object: 'order',
    status: 'CREATED',
    outcome: 'not-done',
    category: 'failover',
    why: 'no payment source approved: nothing moved',
  },
  {
    object: 'order',
    status: 'SAVED',
    outcome: 'not-done',
    category: 'failover',
    why: 'saved for later: nothing captured or authorized',
  },
  {
    object: 'order',
    status: 'APPROVED',
    outcome: 'not-done',
    category: 'failover',
    untraced: true,
    why: 'approved but not yet captured or authorized: that step may still arrive, so a lookup only says "not found"',
  },
  {
    object: 'order',
    status: 'VOIDED',
    outcome: 'not-done',
    category: 'failover',
    why: 'the order was voided: nothing moved',
  },
  {
    object: 'order',
    status: 'PAYER_ACTION_REQUIRED',
    outcome: 'done',
    why: 'the payer must complete 3-D Secure: a result the workflow acts on',
  },
  {
    object: 'order',
    status: 'COMPLETED',
    outcome: 'done',
    why: 'its capture or authorization decides: that row is read instead',
  },
  { object: 'capture', status: 'COMPLETED', outcome: 'done', why: 'captured' },
  { object: 'capture', status: 'PARTIALLY_REFUNDED', outcome: 'done', why: 'captured, part refunded since' },
  {
    object: 'capture',
    status: 'REFUNDED',
    outcome: 'done',
    why: 'captured, refunded since: the capture itself happened',
  },
  {
    object: 'capture',
    status: 'PENDING',
    outcome: 'in-progress',
    why: 'held (review, eCheck): money may still move, so nothing else may be tried; charging elsewhere would double-charge',
  },
  {
    object: 'capture',
    status: 'DECLINED',
    outcome: 'not-done',
    category: 'decline',
    why: 'the funding source was declined: a decline stays a decline',
  },
  {
    object: 'capture',
    status: 'FAILED',
    outcome: 'not-done',
    category: 'failover',
    why: 'PayPal could not capture: definitely not charged, and not a refusal of the payer, so another gateway may take it',
  },
  { object: 'authorization', status: 'CREATED', outcome: 'done', why: 'authorized: the money is held' },
  { object: 'authorization', status: 'CAPTURED', outcome: 'done', why: 'authorized, captured since' },
  {
    object: 'authorization',
    status: 'PARTIALLY_CAPTURED',
    outcome: 'done',
    why: 'authorized, partly captured since',
  },
  {
    object: 'authorization',
    status: 'PENDING',
    outcome: 'in-progress',
    why: 'held for review: no final answer yet',
  },
  {
    object: 'authorization',
    status: 'DENIED',
    outcome: 'not-done',
    category: 'decline',
    why: "the payer's source was refused: a decline",
  },
  {
    object: 'authorization',
    status: 'VOIDED',
    outcome: 'not-done',
    category: 'failover',
    why: 'released before any capture: nothing is held or charged, and no one refused the payer, so another gateway may take the payment without charging twice',
  },
  {
    object: 'authorization',
    status: 'EXPIRED',
    outcome: 'not-done',
    category: 'failover',
    why: 'lapsed before any capture: nothing is held or charged',
  },
  ...AUTHORIZATION_STATUSES.map((status): OutcomeRule => {
    const object = PAYPAL_OBJECTS.authorizationCapture;
    if (status === 'CREATED') {
      return {
        object,
        status,
        outcome: 'not-done',
        category: 'failover',
        untraced: true,
        why: 'still capturable: this capture has not happened (yet)',
      };
    }
    if (status === 'PENDING')
      return {
        object,
        status,
        outcome: 'in-progress',
        why: 'the authorization itself is still under review',
      };
    if (status === 'CAPTURED' || status === 'PARTIALLY_CAPTURED') {
      return {
        object,
        status,
        outcome: 'unknown',
        why: 'captured, but the order shows no capture to check the amount against',
      };
    }
    return {
      object,
      status,
      outcome: 'not-done',
      category: 'decline',
      why: 'the authorization can never be captured: retrying cannot help',
    };
  }),
  ...AUTHORIZATION_STATUSES.map((status): OutcomeRule => {
    const object = PAYPAL_OBJECTS.authorizationVoid;
    if (['VOIDED', 'EXPIRED', 'DENIED'].includes(status)) {
      return { object, status, outcome: 'done', why: 'nothing is held any more: what a void is for' };
    }
    if (status === 'CREATED') {
      return {
        object,
        status,
        outcome: 'not-done',
        category: 'failover',
        untraced: true,
        why: 'still held: this void has not happened (yet)',
      };
    }
    if (status === 'PENDING')
      return {
        object,
        status,
        outcome: 'in-progress',
        why: 'under review: cannot be voided until it settles',
      };
    return {
      object,
      status,
      outcome: 'not-done',
      category: 'decline',
      why: 'captured: it can only be refunded now',
    };
  }),
  { object: 'refund', status: 'COMPLETED', outcome: 'done', why: 'refunded' },
  {
    object: 'refund',
    status: 'PENDING',
    outcome: 'in-progress',
    why: 'the refund is on its way and may still fail: never refund again meanwhile',
  },
  {
    object: 'refund',
    status: 'FAILED',
    outcome: 'not-done',
    category: 'decline',
    why: 'the refund failed: a definite answer',
  },
  {
    object: 'refund',
    status: 'CANCELLED',
    outcome: 'not-done',
    category: 'decline',
    why: 'the refund was cancelled: nothing refunded, a definite answer',
  },
];

/** How many charge attempts a lookup of a follow-up key probes to find the payment's order without its ID. */
const CHARGE_ATTEMPTS_PROBED = 8;

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
  readonly policySettings: Readonly<Record<string, string | number>>;
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
    this.policySettings = {
      baseUrl: this.baseUrl,
      timeoutMs: this.timeout,
      credentials: credentialHash(`${clientId}:${clientSecret}`),
    };
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
      const customId = paypalCustomId(request.idempotencyKey);
      const order = await this.post<PaypalOrder>(
        '/v2/checkout/orders',
        orderRequestId(request.idempotencyKey),
        {
          intent: request.captureMethod === 'manual' ? 'AUTHORIZE' : 'CAPTURE',
          purchase_units: [
            {
              reference_id: fitKey(request.paymentId, KEY_LIMITS.paypalReferenceId),
              custom_id: customId,
              amount,
            },
          ],
          payment_source: { card: { vault_id: request.paymentMethod.card.token } },
        },
      );
      const unit = order.purchase_units?.[0];
      if (unit?.custom_id !== customId || unit.amount.value !== amount.value) {
        throw new GatewayError(
          'unknown',
          'order_mismatch',
          `PayPal order ${order.id} is not this charge's order`,
        );
      }
      if (order.status !== 'APPROVED') return chargeResult(order);
      return this.complete(order, request.idempotencyKey);
    });
  }

  async confirm(request: FollowUpRequest): Promise<ChargeResult> {
    return this.guard(async () => this.complete(await this.order(request.reference), request.idempotencyKey));
  }

  async capture(request: CaptureRequest): Promise<{ reference: string }> {
    return this.guard(async () => {
      const amount = amountOf(request.amount);
      const auth = this.payment(await this.order(request.reference), 'authorizations');
      let capture: PaypalPayment;
      try {
        capture = await this.post<PaypalPayment>(
          `/v2/payments/authorizations/${auth.id}/capture`,
          paypalRequestId(request.idempotencyKey),
          { amount, final_capture: true },
        );
      } catch (err) {
        // Captured already (a retry after the request ID was forgotten): done if it is this capture.
        if (!(err instanceof PaypalApiError) || err.issue !== 'AUTHORIZATION_ALREADY_CAPTURED') throw err;
        const captures = (await this.order(request.reference)).purchase_units?.[0]?.payments?.captures ?? [];
        const same = captures.find(
          (c) => c.amount.value === amount.value && rowOf('capture', c).outcome === 'done',
        );
        if (!same) throw err;
        capture = same;
      }
      const rule = rowOf('capture', capture);
      if (rule.outcome !== 'done')
        throw outcomeError(
          rule,
          `CAPTURE_${capture.status}`,
          `PayPal capture ${capture.id} is ${capture.status}`,
        );
      return { reference: request.reference };
    });
  }

  async void(request: FollowUpRequest): Promise<void> {
    return this.guard(async () => {
      const order = await this.order(request.reference);
      // An order still waiting for 3-D Secure holds no money: there is nothing to void, it just expires.
      if (order.status === 'PAYER_ACTION_REQUIRED') return;
      const auth = this.payment(order, 'authorizations');
      const rule = rowOf('authorizationVoid', auth);
      // Voided already (or released on its own): done, whatever became of the first request's ID.
      if (rule.outcome === 'done') return;
      try {
        await this.post(
          `/v2/payments/authorizations/${auth.id}/void`,
          paypalRequestId(request.idempotencyKey),
          {},
        );
      } catch (err) {
        if (err instanceof PaypalApiError && err.issue === 'AUTHORIZATION_VOIDED') return;
        throw err;
      }
    });
  }

  async refund(request: RefundRequest): Promise<{ reference: string }> {
    return this.guard(async () => {
      const capture = this.payment(await this.order(request.reference), 'captures');
      const refund = await this.post<PaypalPayment>(
        `/v2/payments/captures/${capture.id}/refund`,
        paypalRequestId(request.idempotencyKey),
        {
          amount: amountOf(request.amount),
          custom_id: paypalCustomId(request.idempotencyKey),
          ...(request.reason ? { note_to_payer: request.reason.slice(0, 255) } : {}),
        },
      );
      const rule = rowOf('refund', refund);
      if (rule.outcome !== 'done')
        throw outcomeError(rule, `REFUND_${refund.status}`, `PayPal refund ${refund.id} is ${refund.status}`);
      return { reference: refund.id };
    });
  }

  /**
   * What became of the call made under `idempotencyKey`, by reads only. A charge key's order is found by
   * replaying its creation under `<key>:order` with a deliberately invalid body (no purchase units): a
   * known request ID replays its order, an unknown one is refused by validation, so the probe never
   * creates an order nor uses up the request ID. A follow-up key's order is `reference`, else found by
   * probing the payment's charge keys; a refund by replaying its request ID the same way.
   */
  async getStatus(idempotencyKey: string, reference?: string): Promise<OperationStatus> {
    return this.guard(async () => {
      const parts = keyParts(idempotencyKey);
      const operation = parts?.operation ?? 'charge';
      if (operation === 'charge') {
        const order = await this.probeOrder(idempotencyKey);
        return order ? chargeLookup(order) : { status: 'not_found' };
      }
      const order = reference ? await this.order(reference) : await this.findOrder(parts!.paymentId);
      if (!order) return { status: 'not_found' };
      const payments = order.purchase_units?.[0]?.payments;
      const capture = payments?.captures?.at(-1);
      const auth = payments?.authorizations?.at(-1);
      if (operation === 'confirm') return chargeLookup(order);
      if (operation === 'capture') {
        if (capture) return paymentLookup('capture', capture, capture.amount);
        return auth ? paymentLookup('authorizationCapture', auth, auth.amount) : { status: 'not_found' };
      }
      if (operation === 'void') {
        return auth ? paymentLookup('authorizationVoid', auth, auth.amount) : { status: 'not_found' };
      }
      if (!capture) return { status: 'not_found' };
      const refund = await this.probe<PaypalPayment>(
        `/v2/payments/captures/${capture.id}/refund`,
        paypalRequestId(idempotencyKey),
        { amount: { currency_code: capture.amount.currency_code, value: 'lookup' } },
      );
      if (!refund) return { status: 'not_found' };
      // The replay is the first answer; the refund's status now is what counts.
      const current = await this.request<PaypalPayment>(
        'GET',
        `/v2/payments/refunds/${encodeURIComponent(refund.id)}`,
      );
      return paymentLookup('refund', current, current.amount);
    });
  }

  /** The order a charge key created, read in full; undefined when the key created none. */
  private async probeOrder(chargeKey: string): Promise<PaypalOrder | undefined> {
    const created = await this.probe<PaypalOrder>('/v2/checkout/orders', orderRequestId(chargeKey), {
      intent: 'CAPTURE',
    });
    if (!created) return undefined;
    const order = await this.order(created.id);
    if (order.purchase_units?.[0]?.custom_id !== paypalCustomId(chargeKey)) {
      throw new GatewayError('unknown', 'order_mismatch', `PayPal order ${order.id} is not this key's order`);
    }
    return order;
  }

  /**
   * The order follow-ups of a payment act on, among its first charge attempts: one that holds (or may
   * hold) money, else the last one a payment was made on (a voided authorization).
   */
  private async findOrder(paymentId: string): Promise<PaypalOrder | undefined> {
    let last: PaypalOrder | undefined;
    for (let attempt = 1; attempt <= CHARGE_ATTEMPTS_PROBED; attempt++) {
      const order = await this.probeOrder(`${paymentId}:charge:${attempt}`);
      if (!order) continue;
      const status = chargeLookup(order).status;
      if (status !== 'not_found' && status !== 'failed') return order;
      if (chargePayment(order)) last = order;
    }
    return last;
  }

  /** Replays a request ID with an invalid body: the stored answer if the ID is known, else undefined. */
  private async probe<T>(path: string, requestId: string, invalidBody: unknown): Promise<T | undefined> {
    try {
      return await this.post<T>(path, requestId, invalidBody);
    } catch (err) {
      if (err instanceof PaypalApiError && (err.status === 400 || err.status === 422)) return undefined;
      throw err;
    }
  }

  /** Captures or authorizes an order under the given request ID, by the order's intent. */
  private async complete(order: PaypalOrder, key: string): Promise<ChargeResult> {
    const action = order.intent === 'AUTHORIZE' ? 'authorize' : 'capture';
    try {
      return chargeResult(
        await this.post<PaypalOrder>(`/v2/checkout/orders/${order.id}/${action}`, paypalRequestId(key), {}),
      );
    } catch (err) {
      // Completed already (a retry after the request ID was forgotten): the order, made for this
      // charge alone, says how.
      const done = ['ORDER_ALREADY_CAPTURED', 'ORDER_ALREADY_AUTHORIZED'];
      if (!(err instanceof PaypalApiError) || !done.includes(err.issue)) throw err;
      return chargeResult(await this.order(order.id));
    }
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

/** The `PayPal-Request-Id` for an AegisPay key: the key itself, shortened past 108 characters. */
export function paypalRequestId(key: string): string {
  return fitKey(key, KEY_LIMITS.paypalRequestId);
}

/** The request ID of a charge's order creation (what lookups replay). */
function orderRequestId(chargeKey: string): string {
  return paypalRequestId(`${chargeKey}:order`);
}

/** The `custom_id` carrying an AegisPay key: the key itself, shortened past 127 characters. */
export function paypalCustomId(key: string): string {
  return fitKey(key, KEY_LIMITS.paypalCustomId);
}

function rowOf(object: keyof typeof PAYPAL_OBJECTS, payment: { status: string }): OutcomeRule {
  return statusRule(PAYPAL_STATUS_TABLE, PAYPAL_OBJECTS[object], payment.status);
}

/** The payment a charge made on an order: its capture or authorization, by the order's intent. */
function chargePayment(
  order: PaypalOrder,
): { object: 'capture' | 'authorization'; payment: PaypalPayment } | undefined {
  const payments = order.purchase_units?.[0]?.payments;
  const capture = payments?.captures?.[0];
  const auth = payments?.authorizations?.[0];
  if (order.intent === 'AUTHORIZE') return auth ? { object: 'authorization', payment: auth } : undefined;
  return capture ? { object: 'capture', payment: capture } : undefined;
}

/** The answer of a charge or confirm, by {@link PAYPAL_STATUS_TABLE}: the payment's row, else the order's. */
export function chargeResult(order: PaypalOrder): ChargeResult {
  if (order.status === 'PAYER_ACTION_REQUIRED') return { status: 'requires_action', reference: order.id };
  const made = chargePayment(order);
  const rule = made ? rowOf(made.object, made.payment) : rowOf('order', order);
  const code = made ? `${made.object.toUpperCase()}_${made.payment.status}` : `ORDER_${order.status}`;
  if (made && rule.outcome === 'done') {
    return { status: made.object === 'authorization' ? 'authorized' : 'succeeded', reference: order.id };
  }
  // A COMPLETED order without its payment, or anything else: never a guess that nothing moved.
  const ruleOrUnknown = rule.outcome === 'done' ? { ...rule, outcome: 'unknown' as const } : rule;
  throw outcomeError(ruleOrUnknown, code, `PayPal order ${order.id}: ${code}`);
}

/** What a lookup finds of a charge on this order. */
export function chargeLookup(order: PaypalOrder): OperationStatus {
  const unit = order.purchase_units?.[0];
  if (!unit)
    throw new GatewayError('unknown', 'order_mismatch', `PayPal order ${order.id} has no purchase unit`);
  const amount = moneyOf(unit.amount);
  if (order.status === 'PAYER_ACTION_REQUIRED')
    return { status: 'requires_action', reference: order.id, amount };
  const made = chargePayment(order);
  if (!made) {
    const rule = rowOf('order', order);
    const missing = rule.outcome === 'done' ? { ...rule, outcome: 'unknown' as const } : rule;
    return lookupAnswer(missing, `ORDER_${order.status}`, order.id, () => ({ status: 'not_found' }));
  }
  return lookupAnswer(
    rowOf(made.object, made.payment),
    `${made.object.toUpperCase()}_${made.payment.status}`,
    order.id,
    () => ({
      status: made.object === 'authorization' ? 'authorized' : 'succeeded',
      reference: order.id,
      amount,
    }),
  );
}

/** What a lookup finds of a capture, void or refund in the state of its PayPal object. */
export function paymentLookup(
  object: keyof typeof PAYPAL_OBJECTS,
  payment: PaypalPayment,
  amount: Amount,
): OperationStatus {
  const rule = rowOf(object, payment);
  const code = `${PAYPAL_OBJECTS[object].split(' ')[0]!.toUpperCase()}_${payment.status}`;
  return lookupAnswer(rule, code, payment.id, () => ({
    status: 'succeeded',
    reference: payment.id,
    amount: moneyOf(amount),
  }));
}
