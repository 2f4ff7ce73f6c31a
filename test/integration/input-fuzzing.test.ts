/**
 * Thousands of generated invalid and hostile requests against a client connected to a real server and
 * worker: each must fail validation (before any I/O), and none may start a workflow or crash anything.
 */
import type { Client } from '@temporalio/client';
import fc from 'fast-check';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import { isGatewayToken, luhnValid, normalizeCardNumber } from '../../src/domain/cards';
import { isCurrencyCode } from '../../src/domain/currencies';
import { checkMetadata, isPlainObject } from '../../src/domain/metadata';
import { parseMajorAmount } from '../../src/domain/money';
import { GatewayType, PaymentMethodType, type CreatePaymentRequest } from '../../src/domain/types';
import { IDEMPOTENCY_KEY_PATTERN, validateCreatePaymentRequest } from '../../src/domain/validation';
import type { DevServer } from '../../src/toolchain/dev-server';
import {
  cardPayment,
  eventually,
  rawClient,
  startTestServer,
  startTestWorker,
  testClient,
  type RunningWorker,
} from '../helpers';

const RUNS = 1000;
const PAYMENT_WORKFLOWS = "WorkflowType='paymentWorkflow'";
const NEXT_YEAR = new Date().getFullYear() + 1;

let server: DevServer;
let worker: RunningWorker;
let aegis: AegisPay;
let raw: Client;
beforeAll(async () => {
  // A server of its own, so the workflow count below sees this file's calls only.
  server = await startTestServer();
  worker = await startTestWorker(server, 'fuzz', [new MockGateway()]);
  aegis = testClient(server, 'fuzz');
  raw = await rawClient(server);
  expect((await raw.workflow.count(PAYMENT_WORKFLOWS)).count).toBe(0);
});
afterAll(async () => {
  await aegis?.close();
  await worker?.stop();
  await raw?.connection.close();
  await server?.stop();
});

/** Throws (failing the property, with a short reason) unless both calls reject with a ValidationError. */
async function expectRejected(request: unknown): Promise<void> {
  for (const call of ['createPayment', 'pay'] as const) {
    const outcome = await aegis[call](request as CreatePaymentRequest).then(
      () => 'resolved',
      (err: unknown) => err,
    );
    const { code, issues } = (outcome ?? {}) as { code?: unknown; issues?: unknown };
    if (code !== 'VALIDATION_ERROR' || !Array.isArray(issues) || issues.length === 0) {
      const seen = outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome);
      throw new Error(`${call} ended in ${seen.slice(0, 300)} (code ${String(code)})`);
    }
  }
}

/** A fresh valid request (a card expiring next year), the starting point for every mutation. */
function validRequest(): CreatePaymentRequest {
  return cardPayment();
}

/** Any JS value: primitives, odd numbers, boxed values, null-prototype objects, maps, typed arrays. */
const anything = fc.anything({
  maxDepth: 2,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
});
const unicode = fc.string({ unit: 'binary', maxLength: 40 });
const huge = fc.oneof(
  fc.integer({ min: 256, max: 200_000 }).map((n) => 'a'.repeat(n)),
  fc.constantFrom('💳'.repeat(50_000), '\u0000'.repeat(10_000), '\u202e'.repeat(5_000)),
);
const hostileString = fc.oneof(unicode, huge, fc.constantFrom('', ' ', '\n', '__proto__', 'constructor'));
/** Objects whose own `__proto__` / `constructor` keys try to reach Object.prototype. */
const pollution = fc.constantFrom<Record<string, unknown>>(
  JSON.parse('{"__proto__": {"polluted": "yes"}}'),
  JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}}'),
  { constructor: 'x' },
  { prototype: { polluted: 'yes' } },
  JSON.parse('{"__proto__": null}'),
);
/** Objects that throw or loop when read; built inside the property, since fast-check itself would trip on them. */
const TRAPS = ['proxy', 'revoked', 'getter', 'cyclic'] as const;
function makeTrap(kind: (typeof TRAPS)[number]): unknown {
  const fail = () => {
    throw new Error('trap');
  };
  switch (kind) {
    case 'proxy':
      return new Proxy({}, { get: fail, ownKeys: fail, getPrototypeOf: fail, has: fail });
    case 'revoked': {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    }
    case 'getter':
      return Object.defineProperty({}, 'amount', { enumerable: true, get: fail });
    case 'cyclic': {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      return cyclic;
    }
  }
}
const trap = fc.constantFrom(...TRAPS);
const KNOWN_FIELDS = Object.keys(cardPayment()).concat('captureMethod', 'gatewayType');

const notAmount = fc
  .oneof(
    fc.constantFrom(NaN, Infinity, -Infinity, 1e308, -1e308, 0, -0, -1, Number.MIN_VALUE, 1e9, 0.001, 1.005),
    fc.double(),
    fc.integer({ min: 1_000_000_000, max: Number.MAX_SAFE_INTEGER }),
    hostileString,
    fc.stringMatching(/^-?\d{0,15}(\.\d{0,6})?(e\d{1,3})?$/),
    anything,
  )
  .filter((v) => (typeof v !== 'number' && typeof v !== 'string') || !parseMajorAmount(v, 'USD').ok);

const notCurrency = fc
  .oneof(
    fc.constantFrom('usd', 'US', 'USDD', 'XYZ', ' USD', 'USD ', 'U$D', 'ＵＳＤ'),
    fc.stringMatching(/^[A-Z]{3}$/),
    hostileString,
    anything,
  )
  .filter((v) => !isCurrencyCode(v));

function validCardNumber(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const n = normalizeCardNumber(v);
  return isGatewayToken(v) || (/^\d{12,19}$/.test(n) && luhnValid(n));
}
const notCardNumber = fc
  .oneof(
    fc.stringMatching(/^\d{12,19}$/),
    fc.stringMatching(/^\d{0,11}$/),
    fc.stringMatching(/^\d{20,40}$/),
    fc.stringMatching(/^(tok|pm)_.{0,120}$/),
    hostileString,
    anything,
  )
  .filter((v) => !validCardNumber(v));

/** One card detail replaced by a bad value (the base card is a visa, so its CVV has 3 digits). */
const badCardDetails = fc.oneof(
  notCardNumber.map((cardNumber) => ({ cardNumber })),
  fc
    .oneof(hostileString, anything, fc.stringMatching(/^\d{1,6}$/))
    .filter((cvv) => typeof cvv !== 'string' || !/^\d{3}$/.test(cvv))
    .map((cvv) => ({ cvv })),
  fc
    .oneof(fc.integer(), fc.double(), hostileString, anything)
    .filter((m) => {
      const n = typeof m === 'number' ? m : typeof m === 'string' && /^\d{1,2}$/.test(m) ? Number(m) : NaN;
      return !(Number.isInteger(n) && n >= 1 && n <= 12);
    })
    .map((expiryMonth) => ({ expiryMonth })),
  fc
    .oneof(
      fc.integer({ min: 2000, max: NEXT_YEAR - 2 }),
      fc.integer({ min: 100, max: 1999 }),
      fc.integer({ min: 10_000 }),
      fc.integer({ max: -1 }),
      fc.double().filter((d) => !Number.isInteger(d)),
      fc.stringMatching(/^(\d|\d{3}|\d{5,8})$/),
      hostileString.filter((s) => !/^\d+$/.test(s)),
      anything.filter((v) => typeof v !== 'number' && typeof v !== 'string'),
    )
    .map((expiryYear) => ({ expiryYear })),
  fc
    .oneof(
      fc.integer({ min: 201, max: 5000 }).map((n) => 'n'.repeat(n)),
      anything,
    )
    .filter((v) => v !== undefined && (typeof v !== 'string' || v.length > 200))
    .map((cardHolderName) => ({ cardHolderName })),
  fc.constantFrom(
    { track2: ';4242424242424242=2512?' },
    { pin: '1234' },
    JSON.parse('{"__proto__": {"x": 1}}'),
  ),
);

const notMetadata = fc
  .oneof(
    pollution,
    fc.dictionary(hostileString, fc.string(), { minKeys: 1, maxKeys: 3 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), anything, { minKeys: 1, maxKeys: 5 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.constantFrom(NaN, Infinity, null, 1n, [1]), {
      minKeys: 1,
    }),
    fc
      .integer({ min: 51, max: 500 })
      .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
    fc
      .integer({ min: 9, max: 50 })
      .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'.repeat(999)]))),
    fc.integer({ min: 1001, max: 100_000 }).map((n) => ({ note: 'x'.repeat(n) })),
    fc.integer({ min: 129, max: 10_000 }).map((n) => ({ ['k'.repeat(n)]: 1 })),
    anything,
  )
  .filter((v) => v !== undefined && !checkMetadata(v).ok);

const notCustomer = fc.oneof(
  anything.filter((v) => !(isPlainObject(v) && typeof v.id === 'string')),
  fc.oneof(
    fc.constant({ id: '' }),
    fc.integer({ min: 256, max: 10_000 }).map((n) => ({ id: 'c'.repeat(n) })),
    fc.constantFrom({ id: 'c\u0000d' }, { id: 'c\nd' }, { id: 'c\u007fd' }),
    hostileString.filter((s) => !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s)).map((email) => ({ id: 'c1', email })),
    fc.integer({ min: 201, max: 5000 }).map((n) => ({ id: 'c1', name: 'n'.repeat(n) })),
    fc
      .oneof(fc.stringMatching(/^\d{1,9}$/), fc.stringMatching(/^[a-z]{10,20}$/))
      .map((phone) => ({ id: 'c1', phone })),
    anything.filter((v) => v !== undefined && typeof v !== 'string').map((name) => ({ id: 'c1', name })),
    pollution.map((p) => ({ id: 'c1', ...p })),
    fc.constant(JSON.parse('{"id": "c1", "__proto__": {"polluted": "yes"}}')),
  ),
);

/** One top-level field of an otherwise valid request replaced by a value of the wrong type or shape. */
const wrongField = fc.oneof(
  anything
    .filter((v) => typeof v !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(v))
    .map((idempotencyKey) => ({ idempotencyKey })),
  hostileString.filter((v) => !IDEMPOTENCY_KEY_PATTERN.test(v)).map((idempotencyKey) => ({ idempotencyKey })),
  notAmount.map((amount) => ({ amount })),
  notCurrency.map((currency) => ({ currency })),
  notCustomer.map((customer) => ({ customer })),
  anything
    .filter((v) => !(isPlainObject(v) && Object.values<unknown>(PaymentMethodType).includes(v.type)))
    .map((paymentMethod) => ({ paymentMethod })),
  notMetadata.map((metadata) => ({ metadata })),
  anything
    .filter((v) => v !== undefined && v !== 'automatic' && v !== 'manual')
    .map((captureMethod) => ({ captureMethod })),
  anything
    .filter((v) => v !== undefined && !Object.values<unknown>(GatewayType).includes(v))
    .map((gatewayType) => ({ gatewayType })),
);

function withDetails(details: Record<string, unknown>): unknown {
  const request = validRequest();
  const card = (request.paymentMethod as { details: object }).details;
  return { ...request, paymentMethod: { type: 'CARD', details: { ...card, ...details } } };
}

test('the base request is valid, so every failure below comes from the mutation', () => {
  expect(() => validateCreatePaymentRequest(validRequest())).not.toThrow();
});

test('values that are not request objects at all are rejected', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.oneof(anything, hostileString).map((value) => ({ value })),
        trap.map((kind) => ({ kind })),
      ),
      (input) => expectRejected('kind' in input ? makeTrap(input.kind) : input.value),
    ),
    { numRuns: RUNS },
  );
});

test('a valid request with one field of the wrong type or shape is rejected', async () => {
  await fc.assert(
    fc.asyncProperty(wrongField, (field) => expectRejected({ ...validRequest(), ...field })),
    { numRuns: 2 * RUNS },
  );
});

test('negative, zero, NaN, infinite, huge and over-precise amounts are rejected', async () => {
  await fc.assert(
    fc.asyncProperty(notAmount, (amount) => expectRejected({ ...validRequest(), amount })),
    { numRuns: RUNS },
  );
});

test('unknown, malformed and non-string currencies are rejected', async () => {
  await fc.assert(
    fc.asyncProperty(notCurrency, (currency) => expectRejected({ ...validRequest(), currency })),
    { numRuns: RUNS },
  );
});

test('bad card numbers, CVVs, expiries, holder names and extra card fields are rejected', async () => {
  await fc.assert(
    fc.asyncProperty(badCardDetails, (details) => expectRejected(withDetails(details))),
    { numRuns: RUNS },
  );
});

test('hostile metadata (reserved keys, bad keys and values, too many, too big) is rejected', async () => {
  await fc.assert(
    fc.asyncProperty(notMetadata, (metadata) => expectRejected({ ...validRequest(), metadata })),
    { numRuns: RUNS },
  );
});

test('prototype-pollution keys, unknown fields and trap objects at the top level are rejected', async () => {
  const extra = fc.oneof(
    pollution,
    fc.dictionary(
      hostileString.filter((k) => !KNOWN_FIELDS.includes(k)),
      anything,
      { minKeys: 1, maxKeys: 3 },
    ),
    fc.constantFrom({ amountMinor: 1 }, { id: 'payment:x' }, { fingerprint: 'f' }, { state: 'SUCCESS' }),
  );
  const field = fc.constantFrom('metadata', 'customer', 'paymentMethod', 'amount');
  await fc.assert(
    fc.asyncProperty(fc.oneof(extra, fc.tuple(field, trap)), (mutation) =>
      // Spreading keeps an own `__proto__` key as data (as JSON.parse on a server would), not as a prototype.
      expectRejected(
        Array.isArray(mutation)
          ? { ...validRequest(), [mutation[0]]: makeTrap(mutation[1]) }
          : { ...validRequest(), ...mutation },
      ),
    ),
    { numRuns: RUNS },
  );
});

test('after all of that: no workflow was started, nothing was polluted, and a valid payment still works', async () => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  expect((await raw.workflow.count(PAYMENT_WORKFLOWS)).count).toBe(0);
  expect(worker.worker.getState()).toBe('RUNNING');

  // The control: a valid payment does show up in the count, so zero above means none were started.
  const paid = await aegis.pay(validRequest());
  expect(paid.state).toBe('SUCCESS');
  await eventually(async () => (await raw.workflow.count(PAYMENT_WORKFLOWS)).count === 1);
  expect((await raw.workflow.count(PAYMENT_WORKFLOWS)).count).toBe(1);
});
