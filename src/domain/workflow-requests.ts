/**
 * Checks of what reaches a payment workflow without passing through the client: its start input (a
 * workflow started by hand with `temporal workflow start`), and the `process` and `completeAction`
 * updates (sent from the Web UI or CLI). Zod-free, like every rule the workflow bundle carries.
 */
import { luhnValid } from './cards';
import { isCurrencyCode } from './currencies';
import { ValidationError, type ValidationIssue } from './errors';
import { IDEMPOTENCY_KEY_PATTERN } from './follow-up-requests';
import type { CompleteActionRequest, ProcessRequest } from './messages';
import { MAX_MAJOR_AMOUNT } from './money';
import { GatewayType, PaymentMethodType } from './types';

const GATEWAYS: readonly string[] = Object.values(GatewayType);
const METHODS: readonly string[] = Object.values(PaymentMethodType);
/** Metadata as the client sanitizes it: at most 50 keys and 8 KiB of JSON. */
const METADATA_MAX_KEYS = 50;
const METADATA_MAX_CHARS = 8 * 1024;

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInt = (v: unknown, max = Number.MAX_SAFE_INTEGER): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= max;
const isText = (v: unknown, max = 255): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max;

/** A card number where a token belongs: 12-19 digits that pass the Luhn check. */
function looksLikeCardNumber(token: string): boolean {
  const digits = token.replace(/[ -]/g, '');
  return /^\d{12,19}$/.test(digits) && luhnValid(digits);
}

/** Every problem of a payment workflow's start input (empty when it is what the client would send). */
export function paymentInputIssues(input: unknown, workflowId: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path, message });
  if (!isRecord(input) || !isRecord(input.payment) || !isRecord(input.settings)) {
    return [{ path: '', message: 'input must be { payment, settings }' }];
  }
  const p = input.payment;
  if (p.id !== workflowId) issue('payment.id', 'payment.id must be the workflow ID');
  if (typeof p.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(p.idempotencyKey)) {
    issue('payment.idempotencyKey', 'idempotencyKey must be 1-255 letters, digits, - or _');
  }
  const amount = isRecord(p.amount) ? p.amount : {};
  if (!isCurrencyCode(amount.currency)) issue('payment.amount.currency', 'currency must be an ISO 4217 code');
  // Minor units: at most the largest major amount times 1000 (the largest exponent, BHD and friends).
  if (!isPositiveInt(amount.amount, MAX_MAJOR_AMOUNT * 1000)) {
    issue('payment.amount.amount', 'amount must be a positive whole number of minor units');
  }
  if (p.captureMethod !== 'automatic' && p.captureMethod !== 'manual') {
    issue('payment.captureMethod', 'captureMethod must be automatic or manual');
  }
  if (!isRecord(p.customer) || !isText(p.customer.id))
    issue('payment.customer.id', 'customer.id is required');
  const method = isRecord(p.paymentMethod) ? p.paymentMethod : {};
  if (typeof method.type !== 'string' || !METHODS.includes(method.type)) {
    issue('payment.paymentMethod.type', `paymentMethod.type must be one of ${METHODS.join(', ')}`);
  } else if (method.type === 'CARD') {
    const card = isRecord(method.card) ? method.card : {};
    if (!isText(card.token)) issue('payment.paymentMethod.card.token', 'a card token is required');
    else if (looksLikeCardNumber(card.token)) {
      issue('payment.paymentMethod.card.token', 'a card number is not a token: tokenize it first');
    }
  }
  if (!isRecord(p.metadata)) issue('payment.metadata', 'metadata must be an object');
  else if (
    Object.keys(p.metadata).length > METADATA_MAX_KEYS ||
    JSON.stringify(p.metadata).length > METADATA_MAX_CHARS
  ) {
    issue('payment.metadata', `metadata must have at most ${METADATA_MAX_KEYS} keys and 8 KiB`);
  }
  if (
    p.gatewayType !== undefined &&
    (typeof p.gatewayType !== 'string' || !GATEWAYS.includes(p.gatewayType))
  ) {
    issue('payment.gatewayType', `gatewayType must be one of ${GATEWAYS.join(', ')}`);
  }
  if (!isText(p.fingerprint, 512)) issue('payment.fingerprint', 'fingerprint is required');
  const s = input.settings;
  const retry = isRecord(s.retry) ? s.retry : {};
  if (!isPositiveInt(retry.maximumAttempts, 51)) issue('settings.retry.maximumAttempts', 'must be 1-51');
  if (s.chargeAttemptsPerGateway !== undefined && !isPositiveInt(s.chargeAttemptsPerGateway, 51)) {
    issue('settings.chargeAttemptsPerGateway', 'must be 1-51');
  }
  for (const name of ['initialIntervalMs', 'maximumIntervalMs'] as const) {
    if (!isPositiveInt(retry[name])) issue(`settings.retry.${name}`, 'must be a positive number of ms');
  }
  if (typeof retry.backoffCoefficient !== 'number' || !(retry.backoffCoefficient >= 1)) {
    issue('settings.retry.backoffCoefficient', 'must be at least 1');
  }
  const durations = [
    'gatewayCallTimeoutMs',
    'refundWindowMs',
    'pendingTimeoutMs',
    'authorizationExpiryMs',
    'actionTimeoutMs',
  ] as const;
  for (const name of durations) {
    if (!isPositiveInt(s[name])) issue(`settings.${name}`, 'must be a positive number of ms');
  }
  for (const name of ['reviewRecheckIntervalMs', 'reconciliationWindowMs'] as const) {
    if (s[name] !== undefined && !isPositiveInt(s[name]))
      issue(`settings.${name}`, 'must be a positive number of ms');
  }
  return issues;
}

/** Fields a request may have; anything else is refused. */
function unknownFields(input: Rec, allowed: readonly string[]): ValidationIssue[] {
  const unknown = Object.keys(input).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return [];
  return [
    {
      path: '',
      message: `unknown field(s): ${unknown
        .slice(0, 10)
        .map((k) => `"${k.slice(0, 64)}"`)
        .join(', ')}`,
    },
  ];
}

/** A valid `process` request (no payload means "route as configured"), or a ValidationError naming every bad field. */
export function checkProcessRequest(input: unknown): ProcessRequest {
  if (input === undefined || input === null) return {};
  if (!isRecord(input))
    throw new ValidationError([{ path: '', message: 'request must be an object' }], 'process request');
  const issues = unknownFields(input, ['fingerprint', 'gatewayType']);
  if (input.fingerprint !== undefined && !isText(input.fingerprint, 512)) {
    issues.push({ path: 'fingerprint', message: 'fingerprint must be a string' });
  }
  if (
    input.gatewayType !== undefined &&
    (typeof input.gatewayType !== 'string' || !GATEWAYS.includes(input.gatewayType))
  ) {
    issues.push({ path: 'gatewayType', message: `gatewayType must be one of ${GATEWAYS.join(', ')}` });
  }
  if (issues.length > 0) throw new ValidationError(issues, 'process request');
  return input as ProcessRequest;
}

/**
 * A valid `completeAction` request: `succeeded` must be said, true or false. Anything else is refused,
 * never read as "the customer failed", which would void the charge.
 */
export function checkCompleteActionRequest(input: unknown): CompleteActionRequest {
  if (!isRecord(input)) {
    throw new ValidationError(
      [{ path: '', message: 'request must be { succeeded: true | false }' }],
      'action result',
    );
  }
  const issues = unknownFields(input, ['succeeded']);
  if (typeof input.succeeded !== 'boolean')
    issues.push({ path: 'succeeded', message: 'succeeded must be true or false' });
  if (issues.length > 0) throw new ValidationError(issues, 'action result');
  return { succeeded: input.succeeded as boolean };
}
