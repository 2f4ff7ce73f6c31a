import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import { StripeGateway } from '../../src/activities/gateways/stripe/adapter';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import {
  canonicalJson,
  encryptionConflict,
  joinFleet,
  liveMembers,
  policyDifferences,
  type EncryptionPolicy,
} from '../../src/domain/fleet-policy';
import { applyHealthReport, type HealthState } from '../../src/domain/health';
import { computeFleetPolicy } from '../../src/fleet-membership';
import { loadSettings } from '../../src/config/loader';
import { workerSettings } from '../../src/config/worker';
import { ValidationError } from '../../src/domain/errors';

const STRIPE_KEY = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc';
const limit = (max: number) => ({
  name: `limit-${max}`,
  assess: (p: { amount: { amount: number } }) => ({
    decision: p.amount.amount > max ? ('deny' as const) : ('allow' as const),
  }),
});
const mockOnly = () => computeFleetPolicy({ gateways: [new MockGateway()], encryption: null });
const empty = (): HealthState => ({ reports: {}, transitions: [] });

test('equal configurations give one policy ID; defaults written out change nothing', () => {
  expect(mockOnly().policyId).toBe(mockOnly().policyId);
  const explicit = computeFleetPolicy({
    gateways: [new MockGateway()],
    routing: { routing: { strategy: 'intelligent' }, circuitBreaker: {} },
    encryption: null,
  });
  expect(explicit.policyId).toBe(mockOnly().policyId);
});

test('every difference is named: gateways, a risk check, routing and breaker settings', () => {
  const stripe = new StripeGateway({ apiKey: STRIPE_KEY, baseUrl: 'http://127.0.0.1:1' });
  const mine = computeFleetPolicy({ gateways: [stripe], encryption: null });
  expect(policyDifferences(mine, mockOnly())).toEqual(['gateways: this worker STRIPE, fleet MOCK']);

  const checked = computeFleetPolicy({
    gateways: [new MockGateway()],
    riskCheck: limit(1000),
    encryption: null,
  });
  expect(checked.policyId).not.toBe(mockOnly().policyId);
  expect(policyDifferences(mockOnly(), checked)).toEqual([
    "risk check: this worker none, fleet 'limit-1000 (onError deny, timeout 5000 ms)'",
  ]);

  const tuned = computeFleetPolicy({
    gateways: [new MockGateway()],
    routing: { routing: { strategy: 'round-robin' }, circuitBreaker: { failureThreshold: 9 } },
    encryption: null,
  });
  expect(policyDifferences(tuned, mockOnly())).toEqual([
    'routing strategy: this worker round-robin, fleet intelligent',
    'circuit breaker failureThreshold: this worker 9, fleet 5',
  ]);
});

test('an unnamed risk check is told apart by its code; a named one by its name', () => {
  const a = computeFleetPolicy({
    gateways: [new MockGateway()],
    riskCheck: { assess: () => ({ decision: 'allow' }) },
    encryption: null,
  });
  const b = computeFleetPolicy({
    gateways: [new MockGateway()],
    riskCheck: { assess: () => ({ decision: 'deny' }) },
    encryption: null,
  });
  expect(a.riskCheck).toMatch(/^code [0-9a-f]{16} /);
  expect(a.policyId).not.toBe(b.policyId);
  const named = (max: number) =>
    computeFleetPolicy({ gateways: [new MockGateway()], riskCheck: limit(max), encryption: null });
  // Same code, other closure: only the name tells 1000 from 5000.
  expect(named(1000).policyId).not.toBe(named(5000).policyId);
});

test('gateway settings are compared one by one, and credentials appear only as a hash', () => {
  const policy = (key: string, baseUrl: string) =>
    computeFleetPolicy({
      gateways: [new StripeGateway({ apiKey: key, baseUrl })],
      encryption: null,
    });
  const live = policy(STRIPE_KEY, 'https://api.stripe.com');
  const sandbox = policy(`${STRIPE_KEY}x`, 'http://127.0.0.1:4010');
  expect(canonicalJson(live)).not.toContain(STRIPE_KEY);
  const differences = policyDifferences(sandbox, live);
  expect(differences).toHaveLength(2);
  expect(differences[0]).toBe(
    'STRIPE baseUrl: this worker http://127.0.0.1:4010, fleet https://api.stripe.com',
  );
  expect(differences[1]).toMatch(
    /^STRIPE credentials: this worker sha256:[0-9a-f]{16}, fleet sha256:[0-9a-f]{16}$/,
  );
});

test('encryption must be shared, not equal: rotating keys one worker at a time is allowed', () => {
  const keys = (active: string, ...ids: string[]): EncryptionPolicy => ({
    activeKeyId: active,
    keys: Object.fromEntries(ids.map((id) => [id, `fp-${id}`])),
  });
  expect(encryptionConflict(keys('k1', 'k1'), keys('k1', 'k1', 'k2'))).toBeUndefined();
  expect(encryptionConflict(keys('k2', 'k1', 'k2'), keys('k1', 'k1', 'k2'))).toBeUndefined();
  expect(encryptionConflict(keys('k2', 'k1', 'k2'), keys('k1', 'k1'))).toBe(
    'encryption: this worker keys k1,k2 (active k2), fleet keys k1 (active k1) (the fleet cannot decrypt key k2)',
  );
  expect(encryptionConflict(null, keys('k1', 'k1'))).toBe(
    'encryption: this worker off, fleet keys k1 (active k1)',
  );
  expect(encryptionConflict(keys('k1', 'k1'), { activeKeyId: 'k1', keys: { k1: 'other' } })).toContain(
    'key ID k1 names a different key in each',
  );
  const codec = new EncryptionCodec({
    keys: { k1: Buffer.alloc(32, 7).toString('base64') },
    activeKeyId: 'k1',
  });
  expect(codec.describeKeys().keys.k1).toMatch(/^[0-9a-f]{16}$/);
  expect(JSON.stringify(codec.describeKeys())).not.toContain(Buffer.alloc(32, 7).toString('base64'));
});

test('a join is refused while a live worker differs, and admitted once it left or went silent', () => {
  const stripe = computeFleetPolicy({
    gateways: [new StripeGateway({ apiKey: STRIPE_KEY })],
    encryption: null,
  });
  const join = (state: HealthState, worker: string, policy = mockOnly(), now = 1_000) =>
    joinFleet(state, { worker, policy, liveForMs: 30_000 }, now);

  const first = join(empty(), 'a');
  expect(first.result).toEqual({ accepted: true });
  const same = join(first.state, 'b');
  expect(same.result).toEqual({ accepted: true });
  expect(
    liveMembers(same.state, 1_000)
      .map((m) => m.worker)
      .sort(),
  ).toEqual(['a', 'b']);

  const refused = join(same.state, 'c', stripe);
  expect(refused.result).toEqual({
    accepted: false,
    differences: ['gateways: this worker STRIPE, fleet MOCK'],
    conflicting: ['a', 'b'],
  });
  expect(refused.state).toBe(same.state);

  // A reports, then leaves as it stops; b reported last at 1 000 and is silent past its window.
  const report = (worker: string, at: number, leaving = false) => ({
    worker,
    at,
    gateways: [],
    transitions: [],
    ...(leaving ? { leaving } : {}),
  });
  let state = applyHealthReport(same.state, report('a', 20_000));
  expect(join(state, 'c', stripe, 25_000).result.accepted).toBe(false);
  state = applyHealthReport(state, report('a', 26_000, true));
  expect(join(state, 'c', stripe, 26_000).result).toMatchObject({ accepted: false, conflicting: ['b'] });
  const afterSilence = join(state, 'c', stripe, 31_001);
  expect(afterSilence.result).toEqual({ accepted: true });
  expect(Object.keys(afterSilence.state.members!)).toEqual(['c']);
  expect(afterSilence.state.fleet).toBe(stripe);
});

test('the standalone worker has no default gateway: without AEGISPAY_GATEWAYS it does not start', () => {
  let error: unknown;
  try {
    loadSettings(workerSettings, { env: {} });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([
    { path: 'AEGISPAY_GATEWAYS', message: expect.stringContaining('is required') },
  ]);
  expect(loadSettings(workerSettings, { env: { AEGISPAY_GATEWAYS: 'mock' } }).gateways).toEqual(['MOCK']);
});
