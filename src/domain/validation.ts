/**
 * Request validation: zod schemas for every client request, reporting all bad fields at once.
 * Card fields get fixed messages that never echo what was received (it may be a card number or CVV).
 */
import { z } from 'zod';
import {
  cardBrand,
  cvvFormatValid,
  expiryIsValid,
  isGatewayToken,
  luhnValid,
  normalizeCardNumber,
} from './cards';
import { isCurrencyCode, type CurrencyCode } from './currencies';
import { ValidationError, type ValidationIssue } from './errors';
import {
  followUpRequestIssues,
  IDEMPOTENCY_KEY_PATTERN,
  parseFollowUpRequest,
  positiveMajorAmountProblem,
  type FollowUpKind,
} from './follow-up-requests';
import type { CancelRequest, CaptureRequest, RefundRequest } from './messages';
import { isPlainObject, metadataSchema } from './metadata';
import { parseMajorAmount } from './money';
import {
  GatewayType,
  PaymentMethodType,
  type CaptureMethod,
  type CardDetails,
  type CreatePaymentRequest,
  type Metadata,
  type MethodDetails,
} from './types';

export { IDEMPOTENCY_KEY_PATTERN };
/** Phone numbers: digits, spaces, `+`, `-` and parentheses. */
const PHONE_PATTERN = /^[0-9 +\-()]+$/;
/** Control characters have no business in IDs and break logs. */
const NO_CONTROL_CHARS = /^[^\p{Cc}]*$/u;
/** Longest key echoed in an issue message or path segment, so hostile input cannot bloat errors. */
const MAX_ECHO = 64;
const MAX_PATH_SEGMENT = 128;

/** Card details after validation: the number normalized (digits or token), expiry as numbers with a 4-digit year. */
export interface ValidatedCardDetails extends CardDetails {
  expiryMonth: number;
  expiryYear: number;
}

/** A payment method after validation. */
export type ValidatedPaymentMethod =
  | { type: typeof PaymentMethodType.CARD; details: ValidatedCardDetails }
  | { type: Exclude<PaymentMethodType, typeof PaymentMethodType.CARD>; details?: MethodDetails };

/** A create/pay request after validation: exact `amountMinor`, known currency, defaults applied, metadata sanitized. */
export interface ValidatedPaymentRequest extends CreatePaymentRequest {
  amountMinor: number;
  currency: CurrencyCode;
  paymentMethod: ValidatedPaymentMethod;
  metadata: Metadata;
  captureMethod: CaptureMethod;
}

function truncate(s: string, max = MAX_ECHO): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Converts zod issues to AegisPay's `{ path, message }` issues with dotted paths. */
export function zodIssuesToValidationIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.flatMap((issue): ValidationIssue | ValidationIssue[] => {
    // A failed union (`'embedded'` or a connection object): the branch the input's shape fits is the
    // one whose problems are not "wrong type" at its root. Report that branch's fields, not "Invalid input".
    if (issue.code === 'invalid_union') {
      const plausible = issue.errors.filter(
        (branch) =>
          !branch.every(
            (i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'),
          ),
      );
      if (plausible.length === 1) {
        return zodIssuesToValidationIssues(
          plausible[0]!.map((i) => ({ ...i, path: [...issue.path, ...i.path] })),
        );
      }
    }
    const path = issue.path.map((p) => truncate(String(p), MAX_PATH_SEGMENT)).join('.');
    // Zod lists every unknown key verbatim; rebuild the message so huge or numerous keys stay readable.
    if (issue.code === 'unrecognized_keys') {
      const shown = issue.keys
        .slice(0, 10)
        .map((k) => `"${truncate(k)}"`)
        .join(', ');
      const more = issue.keys.length > 10 ? ` and ${issue.keys.length - 10} more` : '';
      return { path, message: `unknown field(s): ${shown}${more}` };
    }
    return { path, message: issue.message };
  });
}

/** Parses `input` with `schema`, throwing a ValidationError (and nothing else) listing every bad field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what = 'request'): T {
  let result: z.ZodSafeParseResult<T>;
  try {
    result = schema.safeParse(input);
  } catch {
    // Throwing getters, revoked proxies and the like: the input cannot be read, so it is invalid.
    throw new ValidationError([{ path: '', message: `${what} could not be read as plain data` }], what);
  }
  if (result.success) return result.data;
  throw new ValidationError(zodIssuesToValidationIssues(result.error.issues), what);
}

const CARD_FIELDS: readonly string[] = ['cardNumber', 'expiryMonth', 'expiryYear', 'cvv', 'cardHolderName'];

/** Reads an expiry month or year given as an integer or a string of digits. */
function expiryPart(value: unknown, digits: RegExp): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && digits.test(value)) return Number(value);
  return undefined;
}

/** Reads and checks an expiry (a 2-digit year is in the 2000s); problems go to `issue`. */
function checkExpiry(
  expiryMonth: unknown,
  expiryYear: unknown,
  now: Date,
  issue: (field: string, message: string) => void,
): { month: number | undefined; year: number | undefined } {
  const month = expiryPart(expiryMonth, /^\d{1,2}$/);
  const validMonth = month !== undefined && month >= 1 && month <= 12;
  if (!validMonth) issue('expiryMonth', 'expiry month must be a number from 1 to 12');
  let year = expiryPart(expiryYear, /^(\d{2}|\d{4})$/);
  if (year !== undefined && year < 100) year += 2000;
  const validYear = year !== undefined && year >= 2000 && year <= 9999;
  if (!validYear) issue('expiryYear', 'expiry year must have 2 or 4 digits');
  if (validMonth && validYear && !expiryIsValid(month, year!, now)) {
    issue('expiryYear', `card expired in ${String(month).padStart(2, '0')}/${year}`);
  }
  return { month, year };
}

/** Card details, checked by hand so that every message is a fixed string and cross-field rules always run. */
function cardDetailsSchema(now: Date) {
  return z.unknown().transform((input, ctx): ValidatedCardDetails => {
    let failed = false;
    const issue = (field: string | undefined, message: string) => {
      failed = true;
      ctx.addIssue({ code: 'custom', message, path: field === undefined ? [] : [field] });
    };
    if (!isPlainObject(input)) {
      issue(undefined, 'card details must be an object with cardNumber, expiryMonth, expiryYear and cvv');
      return z.NEVER;
    }
    const unknown = Object.keys(input).filter((k) => !CARD_FIELDS.includes(k));
    if (unknown.length > 0) {
      issue(
        undefined,
        `unknown card detail field(s): ${unknown
          .slice(0, 10)
          .map((k) => `"${truncate(k)}"`)
          .join(', ')}`,
      );
    }
    const { cardNumber, expiryMonth, expiryYear, cvv, cardHolderName } = input;

    let number = '';
    let isToken = false;
    // Set only when the number has a card's shape, so CVV length can follow its brand.
    let brand: string | undefined;
    if (typeof cardNumber !== 'string') {
      issue('cardNumber', 'card number is required and must be a string');
    } else if (isGatewayToken(cardNumber)) {
      number = cardNumber;
      isToken = true;
    } else {
      number = normalizeCardNumber(cardNumber);
      if (!/^\d{12,19}$/.test(number)) {
        issue('cardNumber', 'card number must be 12-19 digits or a gateway token');
      } else {
        brand = cardBrand(number);
        if (!luhnValid(number)) issue('cardNumber', 'card number fails the Luhn check');
      }
    }

    const { month, year } = checkExpiry(expiryMonth, expiryYear, now, issue);

    if (cvv === undefined) {
      if (typeof cardNumber === 'string' && !isToken) issue('cvv', 'CVV is required for a card number');
    } else if (typeof cvv !== 'string') {
      issue('cvv', 'CVV must be a string of digits');
    } else if (brand !== undefined) {
      if (!cvvFormatValid(cvv, brand)) {
        issue(
          'cvv',
          `CVV must be ${brand === 'amex' ? 4 : 3} digits for ${brand === 'unknown' ? 'this card' : brand}`,
        );
      }
    } else if (!/^\d{3,4}$/.test(cvv)) {
      issue('cvv', 'CVV must be 3 or 4 digits');
    }

    if (cardHolderName !== undefined && (typeof cardHolderName !== 'string' || cardHolderName.length > 200)) {
      issue('cardHolderName', 'card holder name must be a string of at most 200 characters');
    }

    if (failed) return z.NEVER;
    return {
      cardNumber: number,
      expiryMonth: month!,
      expiryYear: year!,
      ...(cvv !== undefined && { cvv: cvv as string }),
      ...(cardHolderName !== undefined && { cardHolderName: cardHolderName as string }),
    };
  });
}

const customerSchema = z.strictObject(
  {
    id: z
      .string({ error: 'customer id is required and must be a string' })
      .min(1, 'customer id must not be empty')
      .max(255, 'customer id must be at most 255 characters')
      .regex(NO_CONTROL_CHARS, 'customer id must not contain control characters'),
    email: z
      .email({ error: 'must be a valid email address' })
      .max(254, 'email must be at most 254 characters')
      .optional(),
    name: z
      .string({ error: 'name must be a string' })
      .max(200, 'name must be at most 200 characters')
      .optional(),
    phone: z
      .string({ error: 'phone must be a string' })
      .min(10, 'phone must be at least 10 characters')
      .max(30, 'phone must be at most 30 characters')
      .regex(PHONE_PATTERN, 'phone may contain only digits, spaces, +, - and parentheses')
      .optional(),
    country: z
      .string({ error: 'country must be a string' })
      .regex(/^[A-Za-z]{2}$/, 'country must be an ISO 3166 alpha-2 code such as US')
      .transform((c) => c.toUpperCase())
      .optional(),
  },
  { error: (iss) => (iss.code === 'invalid_type' ? 'customer must be an object with an id' : undefined) },
);

const NON_CARD_METHODS = Object.values(PaymentMethodType).filter(
  (t): t is Exclude<PaymentMethodType, typeof PaymentMethodType.CARD> => t !== PaymentMethodType.CARD,
);

const gatewayTypeSchema = z.enum(GatewayType, {
  error: `gatewayType must be one of ${Object.values(GatewayType).join(', ')}`,
});

/** Builds the schema of a create/pay request; `now` decides whether a card has expired. */
export function createPaymentRequestSchema(now: Date) {
  const paymentMethodSchema = z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal(PaymentMethodType.CARD), details: cardDetailsSchema(now) }),
      // Non-card details (UPI ID, bank code, …) follow the same flat-primitives rules as metadata.
      z.strictObject({ type: z.enum(NON_CARD_METHODS), details: metadataSchema.optional() }),
    ],
    {
      error: (iss) =>
        iss.code === 'invalid_union'
          ? `payment method type must be one of ${Object.values(PaymentMethodType).join(', ')}`
          : iss.code === 'invalid_type'
            ? 'paymentMethod must be an object with type and details'
            : undefined,
    },
  );

  return z
    .strictObject(
      {
        idempotencyKey: z
          .string({ error: 'idempotencyKey is required and must be a string' })
          .regex(IDEMPOTENCY_KEY_PATTERN, 'idempotencyKey must be 1-255 letters, digits, - or _'),
        amount: z.union([z.number(), z.string()], { error: 'amount must be a number or a decimal string' }),
        // abort: false, or zod would skip the cross-field amount check below whenever the currency is bad.
        currency: z.custom<CurrencyCode>((v) => isCurrencyCode(v), {
          error: 'currency must be a supported ISO 4217 code',
          abort: false,
        }),
        customer: customerSchema,
        paymentMethod: paymentMethodSchema,
        metadata: metadataSchema.optional(),
        captureMethod: z
          .enum(['automatic', 'manual'], { error: 'captureMethod must be automatic or manual' })
          .default('automatic'),
        gatewayType: gatewayTypeSchema.optional(),
      },
      { error: (iss) => (iss.code === 'invalid_type' ? 'request must be an object' : undefined) },
    )
    .superRefine(
      (value, ctx) => {
        // Runs even when other fields failed (see `when`), so value holds raw input for those fields.
        const { amount, currency } = value as { amount: unknown; currency: unknown };
        // Wrong types, NaN and Infinity were already reported by the field's own schema.
        if (typeof amount !== 'string' && (typeof amount !== 'number' || !Number.isFinite(amount))) return;
        // With a bad currency, still catch amounts that are wrong in every currency.
        const message = isCurrencyCode(currency)
          ? resultMessage(parseMajorAmount(amount, currency))
          : positiveMajorAmountProblem(amount);
        if (message !== undefined) ctx.addIssue({ code: 'custom', message, path: ['amount'] });
      },
      // The amount needs the currency, but must be reported alongside every other bad field.
      { when: (payload) => isPlainObject(payload.value) },
    )
    .transform((value): ValidatedPaymentRequest => {
      const parsed = parseMajorAmount(value.amount, value.currency);
      // Unreachable after the refinement above; kept so the type is a plain number without a cast.
      const amountMinor = parsed.ok ? parsed.minor : Number.NaN;
      return { ...value, amountMinor, metadata: value.metadata ?? {} };
    });
}

/** The last schema built, and the UTC month it judges expiry dates by (all that `now` decides). */
let schemaOfMonth: { month: string; schema: ReturnType<typeof createPaymentRequestSchema> } | undefined;

/** Validates a create/pay request, returning it with `amountMinor`, or throws a ValidationError listing every bad field. */
export function validateCreatePaymentRequest(
  input: unknown,
  now: Date = new Date(),
): ValidatedPaymentRequest {
  // Building the schema costs as much as using it, so pay() builds it once a month, not per call.
  const month = `${now.getUTCFullYear()}-${now.getUTCMonth()}`;
  if (schemaOfMonth?.month !== month) schemaOfMonth = { month, schema: createPaymentRequestSchema(now) };
  return parseOrThrow(schemaOfMonth.schema, input, 'payment request');
}

function resultMessage(result: ReturnType<typeof parseMajorAmount>): string | undefined {
  return result.ok ? undefined : `amount ${result.message}`;
}

/** A major-unit amount whose currency is not known yet: a positive finite number or decimal string. */
export const positiveMajorAmountSchema = z.unknown().superRefine((v, ctx) => {
  const message = positiveMajorAmountProblem(v);
  if (message !== undefined) ctx.addIssue({ code: 'custom', message });
}) as z.ZodType<number | string>;

/** The client's zod face of a follow-up request's rules, which live in follow-up-requests.ts. */
function followUpSchema<T>(kind: FollowUpKind) {
  return z.unknown().transform((input, ctx): T => {
    const issues = followUpRequestIssues(kind, input);
    for (const issue of issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path ? [issue.path] : [] });
    }
    // The checked copy holds the known fields only, exactly as the workflow reads them.
    return issues.length > 0 ? z.NEVER : (parseFollowUpRequest(kind, input) as T);
  });
}

/** Schema of a process request: which payment to run, optionally pinned to a gateway. */
export const processPaymentRequestSchema = z.strictObject({
  paymentId: z
    .string({ error: 'paymentId is required and must be a string' })
    .min(1, 'paymentId must not be empty')
    .max(400, 'paymentId must be at most 400 characters'),
  gatewayType: gatewayTypeSchema.optional(),
});

/** Schema of a capture request: an optional partial amount in major units (none: capture everything). */
export const capturePaymentRequestSchema = followUpSchema<CaptureRequest>('capture');

/** Schema of a cancel request: an optional reason; no payload or `null` is a plain cancel. */
export const cancelPaymentRequestSchema = followUpSchema<CancelRequest>('cancel');

/** Schema of a refund request: `amount` or `full: true`, an optional reason and caller-chosen refund ID. */
export const refundPaymentRequestSchema = followUpSchema<RefundRequest>('refund');

/** Schema of the customer's answer to a required action (3-D Secure). */
export const completeActionRequestSchema = z.strictObject({
  succeeded: z.boolean({ error: 'succeeded is required and must be true or false' }),
});
