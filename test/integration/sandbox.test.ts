import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox/server';

const STRIPE_AUTH = { Authorization: 'Bearer sk_test_sandbox' };

/** A PaymentIntent create as stripe-node sends it: form-encoded, bracket notation. */
function intentForm(key: string, amount = 2000, token = 'tok_visa'): string {
  return new URLSearchParams({
    amount: String(amount),
    currency: 'usd',
    confirm: 'true',
    'payment_method_data[type]': 'card',
    'payment_method_data[card][token]': token,
    'metadata[aegispay_key]': key,
  }).toString();
}

function createIntent(sandbox: Sandbox, key: string, body: string, signal?: AbortSignal) {
  return fetch(`${sandbox.url}/v1/payment_intents`, {
    method: 'POST',
    headers: { ...STRIPE_AUTH, 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': key },
    body,
    ...(signal ? { signal } : {}),
  });
}

async function paypalToken(sandbox: Sandbox): Promise<string> {
  const res = await fetch(`${sandbox.url}/v1/oauth2/token`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from('client:secret').toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

function admin(sandbox: Sandbox, path: string, body: unknown) {
  return fetch(`${sandbox.url}/__admin/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('sandbox PSP', () => {
  let dir: string;
  let ledgerFile: string;
  let sandbox: Sandbox;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aegispay-sandbox-'));
    ledgerFile = join(dir, 'ledger.json');
    sandbox = await startSandbox({ port: 0, ledgerFile });
  });

  afterEach(() => sandbox.reset());

  afterAll(async () => {
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the same Idempotency-Key with the same parameters replays the first answer and charges once', async () => {
    const key = randomUUID();
    const first = await createIntent(sandbox, key, intentForm(key));
    const second = await createIntent(sandbox, key, intentForm(key));
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(await second.json()).toEqual(await first.json());
    expect(sandbox.ledger({ paymentKey: key })).toHaveLength(1);
  });

  test('the same Idempotency-Key with other parameters is an idempotency_error and charges nothing more', async () => {
    const key = randomUUID();
    await createIntent(sandbox, key, intentForm(key, 2000));
    const conflict = await createIntent(sandbox, key, intentForm(key, 2500));
    expect(conflict.status).toBe(400);
    expect(((await conflict.json()) as { error: { type: string } }).error.type).toBe('idempotency_error');
    expect(sandbox.ledger({ paymentKey: key })).toHaveLength(1);
  });

  test('a declined card answers a Stripe card error, and its replay is the same decline', async () => {
    const key = randomUUID();
    const first = await createIntent(
      sandbox,
      key,
      intentForm(key, 2000, 'tok_chargeDeclinedInsufficientFunds'),
    );
    expect(first.status).toBe(402);
    expect(await first.json()).toMatchObject({
      error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds' },
    });
    const replay = await createIntent(
      sandbox,
      key,
      intentForm(key, 2000, 'tok_chargeDeclinedInsufficientFunds'),
    );
    expect(replay.status).toBe(402);
    expect(sandbox.ledger({ paymentKey: key })).toEqual([expect.objectContaining({ status: 'failed' })]);
  });

  test('API calls without a valid secret key are refused with 401', async () => {
    const res = await fetch(`${sandbox.url}/v1/payment_intents/pi_x`, {
      headers: { Authorization: 'Bearer pk_x' },
    });
    expect(res.status).toBe(401);
  });

  test('the same PayPal-Request-Id replays the same order', async () => {
    const token = await paypalToken(sandbox);
    const create = () =>
      fetch(`${sandbox.url}/v2/checkout/orders`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'PayPal-Request-Id': 'r-1',
        },
        body: JSON.stringify({
          intent: 'CAPTURE',
          purchase_units: [{ custom_id: 'k', amount: { currency_code: 'USD', value: '10.00' } }],
          payment_source: { card: { vault_id: 'tok_visa' } },
        }),
      });
    const first = (await (await create()).json()) as { id: string; status: string };
    const second = (await (await create()).json()) as { id: string };
    expect(first.status).toBe('APPROVED');
    expect(second.id).toBe(first.id);
  });

  test('an outage answers 503 to every API call of the gateway it is scoped to, before processing', async () => {
    sandbox.setFaults({ outage: true }, 'stripe');
    const key = randomUUID();
    const res = await createIntent(sandbox, key, intentForm(key));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { type: 'api_error' } });
    expect(sandbox.ledger({ paymentKey: key })).toHaveLength(0);
    expect(typeof (await paypalToken(sandbox))).toBe('string');
  });

  test('faults set over HTTP apply, and bad fault settings are refused', async () => {
    expect((await admin(sandbox, 'faults', { gateway: 'paypal', outage: true })).status).toBe(200);
    const res = await fetch(`${sandbox.url}/v1/oauth2/token`, { method: 'POST' });
    expect(res.status).toBe(503);
    expect((await admin(sandbox, 'faults', { errorRate: 2 })).status).toBe(400);
    expect((await admin(sandbox, 'faults', { nonsense: true })).status).toBe(400);
    expect((await admin(sandbox, 'reset', {})).status).toBe(200);
    expect(typeof (await paypalToken(sandbox))).toBe('string');
  });

  test('an injected 500 processes nothing, so a retry under the same key really charges', async () => {
    sandbox.setFaults({ errorRate: 1 });
    const key = randomUUID();
    expect((await createIntent(sandbox, key, intentForm(key))).status).toBe(500);
    expect(sandbox.ledger({ paymentKey: key })).toHaveLength(0);
    sandbox.reset();
    const retry = await createIntent(sandbox, key, intentForm(key));
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(sandbox.ledger({ paymentKey: key })).toHaveLength(1);
  });

  test('commitThenTimeout commits to the ledger and never answers in time; a retry replays the charge', async () => {
    sandbox.setFaults({ commitThenTimeout: { next: 1 } }, 'stripe');
    const key = randomUUID();
    await expect(createIntent(sandbox, key, intentForm(key), AbortSignal.timeout(500))).rejects.toThrow();
    expect(sandbox.ledger({ paymentKey: key })).toEqual([
      expect.objectContaining({ kind: 'charge', status: 'succeeded', amount: 2000 }),
    ]);
    const retry = await createIntent(sandbox, key, intentForm(key));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(sandbox.ledger({ paymentKey: key })).toHaveLength(1);
  });

  test('commitThenReset commits to the ledger and then drops the connection', async () => {
    sandbox.setFaults({ commitThenReset: { next: 1 } });
    const key = randomUUID();
    await expect(createIntent(sandbox, key, intentForm(key))).rejects.toThrow();
    expect(sandbox.ledger({ paymentKey: key })).toHaveLength(1);
  });

  test('searchLagMs hides a new PaymentIntent from search until the lag has passed, as Stripe search does', async () => {
    const key = randomUUID();
    sandbox.setFaults({ searchLagMs: 400 }, 'stripe');
    await createIntent(sandbox, key, intentForm(key));
    const search = async () => {
      const query = new URLSearchParams({ query: `metadata['aegispay_key']:'${key}'` });
      const res = await fetch(`${sandbox.url}/v1/payment_intents/search?${query}`, { headers: STRIPE_AUTH });
      return ((await res.json()) as { data: { status: string }[] }).data;
    };
    expect(await search()).toEqual([]);
    await new Promise((r) => setTimeout(r, 450));
    expect(await search()).toEqual([expect.objectContaining({ status: 'succeeded' })]);
  });

  test('latency delays answers by the configured time', async () => {
    sandbox.setFaults({ latencyMs: { min: 200, max: 250 } });
    const started = Date.now();
    await fetch(`${sandbox.url}/v1/payment_intents/pi_missing`, { headers: STRIPE_AUTH });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  test('the ledger and idempotency records survive a restart on the same file', async () => {
    const file = join(dir, 'restart.json');
    const first = await startSandbox({ ledgerFile: file });
    const key = randomUUID();
    const charged = await (await createIntent(first, key, intentForm(key, 4200))).json();
    await first.stop();

    const second = await startSandbox({ ledgerFile: file });
    try {
      expect(second.ledger({ paymentKey: key })).toEqual([
        expect.objectContaining({
          gateway: 'stripe',
          kind: 'charge',
          status: 'succeeded',
          amount: 4200,
          currency: 'USD',
        }),
      ]);
      const replay = await createIntent(second, key, intentForm(key, 4200));
      expect(await replay.json()).toEqual(charged);
      const listed = (await (await fetch(`${second.url}/__admin/ledger?paymentKey=${key}`)).json()) as {
        entries: unknown[];
      };
      expect(listed.entries).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  test('reset with ledger forgets every entry', async () => {
    const file = join(dir, 'reset.json');
    const own = await startSandbox({ ledgerFile: file });
    try {
      const key = randomUUID();
      await createIntent(own, key, intentForm(key));
      expect(own.ledger()).toHaveLength(1);
      own.reset({ ledger: true });
      expect(own.ledger()).toHaveLength(0);
    } finally {
      await own.stop();
    }
  });

  test('admin: pending holds a charge in processing until /__admin/settle; holdings and authorizations tell who holds money', async () => {
    await admin(sandbox, 'faults', { gateway: 'stripe', pending: { next: 1 }, operations: ['charge'] });
    const form = `${intentForm('k-pending')}&metadata[aegispay_payment_id]=payment:p1`;
    const intent = (await (await createIntent(sandbox, 'k-pending', form)).json()) as {
      id: string;
      status: string;
    };
    expect(intent.status).toBe('processing');
    const holdings = async () =>
      (
        (await (await fetch(`${sandbox.url}/__admin/holdings?paymentId=payment:p1`)).json()) as {
          items: unknown[];
        }
      ).items;
    expect(await holdings()).toEqual([expect.objectContaining({ held: 0, pending: 2000 })]);
    expect((await admin(sandbox, 'settle', { reference: intent.id, outcome: 'succeeded' })).status).toBe(200);
    expect(await holdings()).toEqual([expect.objectContaining({ held: 2000, pending: 0 })]);
    expect((await admin(sandbox, 'settle', { reference: intent.id, outcome: 'succeeded' })).status).toBe(404);
    expect((await admin(sandbox, 'settle', { reference: intent.id })).status).toBe(400);
    const open = await fetch(`${sandbox.url}/__admin/authorizations?gateway=stripe`);
    expect(((await open.json()) as { items: unknown[] }).items).toEqual([]);
  });

  test('operations limits faults to the named operations', async () => {
    sandbox.setFaults({ outage: true, operations: ['refund'] }, 'stripe');
    expect((await createIntent(sandbox, 'k-ops', intentForm('k-ops'))).status).toBe(200);
    sandbox.setFaults({ outage: true, operations: ['charge'] }, 'stripe');
    expect((await createIntent(sandbox, 'k-ops2', intentForm('k-ops2'))).status).toBe(503);
    expect((await admin(sandbox, 'faults', { operations: ['teleport'] })).status).toBe(400);
  });

  test('keys longer than the gateway documents are refused, as the gateways do', async () => {
    const long = 'k'.repeat(256);
    expect((await createIntent(sandbox, long, intentForm('short'))).status).toBe(400);
    expect((await createIntent(sandbox, 'k-meta', intentForm('m'.repeat(501)))).status).toBe(400);
  });
});
