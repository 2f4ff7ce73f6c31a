import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChargeRequest } from '../../src/activities/gateways/gateway';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import { mockTokenizeCard } from '../../src/client/mock-tokenizer';
import type { CaptureMethod } from '../../src/domain/types';

function chargeRequest(
  key: string,
  token = 'tok_visa',
  captureMethod: CaptureMethod = 'automatic',
): ChargeRequest {
  return {
    paymentId: `payment:${key}`,
    idempotencyKey: `payment:${key}:charge:1`,
    amount: { amount: 9999, currency: 'USD' },
    paymentMethod: {
      type: 'CARD',
      card: { token, brand: 'visa', last4: '4242', expiryMonth: 12, expiryYear: 2030 },
    },
    captureMethod,
    customerId: 'cus_1',
  };
}

/** Runs `fn` and returns what it rejected with, or undefined. */
async function rejectionOf(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('MockGateway', () => {
  it('charges once for two calls with the same idempotency key and returns the same reference', async () => {
    const gw = new MockGateway();
    const first = await gw.charge(chargeRequest('o1'));
    const second = await gw.charge(chargeRequest('o1'));
    expect(first.status).toBe('succeeded');
    expect(first.reference).toMatch(/^mock_ch_/);
    expect(second).toEqual(first);
    expect(gw.charges()).toHaveLength(1);
    expect(gw.charges()[0]).toMatchObject({
      idempotencyKey: 'payment:o1:charge:1',
      paymentId: 'payment:o1',
      amount: { amount: 9999, currency: 'USD' },
    });
  });

  it('charges again for a different idempotency key', async () => {
    const gw = new MockGateway();
    const a = await gw.charge(chargeRequest('o1'));
    const b = await gw.charge(chargeRequest('o2'));
    expect(a.reference).not.toBe(b.reference);
    expect(gw.charges()).toHaveLength(2);
  });

  it.each([
    ['tok_chargeDeclined', 'card_declined'],
    ['tok_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ])('declines %s with a GatewayError of category decline and code %s', async (token, code) => {
    const gw = new MockGateway();
    const err = await rejectionOf(() => gw.charge(chargeRequest('o1', token)));
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'GatewayError', category: 'decline', code });
    expect(gw.charges()).toHaveLength(0);
    // A decline is remembered: a retry under the same key declines again, and reconciliation sees it.
    await expect(gw.charge(chargeRequest('o1', token))).rejects.toMatchObject({ category: 'decline', code });
    expect(await gw.getStatus('payment:o1:charge:1')).toEqual({
      status: 'failed',
      code,
      category: 'decline',
    });
  });

  it('fails tok_chargeDeclinedProcessingError with category retry-same-gateway and does not remember it', async () => {
    const gw = new MockGateway();
    const err = await rejectionOf(() => gw.charge(chargeRequest('o1', 'tok_chargeDeclinedProcessingError')));
    expect(err).toMatchObject({
      name: 'GatewayError',
      category: 'retry-same-gateway',
      code: 'processing_error',
    });
    expect(gw.charges()).toHaveLength(0);
    expect(await gw.getStatus('payment:o1:charge:1')).toEqual({ status: 'not_found' });
  });

  it('answers not_found for an unknown idempotency key', async () => {
    const gw = new MockGateway();
    expect(await gw.getStatus('payment:nope:charge:1')).toEqual({ status: 'not_found' });
  });

  it('answers succeeded with reference and amount for a charged key', async () => {
    const gw = new MockGateway();
    const { reference } = await gw.charge(chargeRequest('o1'));
    expect(await gw.getStatus('payment:o1:charge:1')).toEqual({
      status: 'succeeded',
      reference,
      amount: { amount: 9999, currency: 'USD' },
    });
  });

  it('only authorizes with manual capture', async () => {
    const gw = new MockGateway();
    const result = await gw.charge(chargeRequest('o1', 'tok_visa', 'manual'));
    expect(result.status).toBe('authorized');
    expect(await gw.getStatus('payment:o1:charge:1')).toMatchObject({
      status: 'authorized',
      reference: result.reference,
    });
    expect(gw.charges()).toHaveLength(1);
  });

  it('charges any other token (a minted tok_mock_ token, a non-card method)', async () => {
    const gw = new MockGateway();
    const minted = mockTokenizeCard({
      cardNumber: '5555555555554444',
      expiryMonth: 12,
      expiryYear: 30,
      cvv: '123',
    });
    expect(minted.token).toMatch(/^tok_mock_[0-9a-f]{32}$/);
    expect(minted.expiryYear).toBe(2030);
    expect(JSON.stringify(minted)).not.toContain('5555555555554444');
    await expect(gw.charge(chargeRequest('o1', minted.token))).resolves.toMatchObject({
      status: 'succeeded',
    });
    const upi: ChargeRequest = {
      ...chargeRequest('o2'),
      paymentMethod: { type: 'UPI', details: { vpa: 'ada@okbank' } },
    };
    await expect(gw.charge(upi)).resolves.toMatchObject({ status: 'succeeded' });
  });

  describe('ledgerFile', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'aegispay-mock-ledger-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it("lets a second instance on the same file see the first one's charges", async () => {
      const ledgerFile = join(dir, 'nested', 'ledger.json');
      const first = new MockGateway({ ledgerFile });
      const charged = await first.charge(chargeRequest('o1'));
      const authorized = await first.charge(chargeRequest('o2', 'tok_visa', 'manual'));
      expect(existsSync(ledgerFile)).toBe(true);
      expect(existsSync(`${ledgerFile}.tmp`)).toBe(false);
      expect(JSON.parse(readFileSync(ledgerFile, 'utf8'))).toHaveLength(2);

      const second = new MockGateway({ ledgerFile });
      expect(
        second
          .charges()
          .map((c) => c.idempotencyKey)
          .sort(),
      ).toEqual(['payment:o1:charge:1', 'payment:o2:charge:1']);
      expect(await second.getStatus('payment:o1:charge:1')).toEqual({
        status: 'succeeded',
        reference: charged.reference,
        amount: { amount: 9999, currency: 'USD' },
      });
      expect(await second.getStatus('payment:o2:charge:1')).toMatchObject({
        status: 'authorized',
        reference: authorized.reference,
      });
      // A retry through the second instance replays the first charge instead of charging again.
      expect(await second.charge(chargeRequest('o1'))).toEqual(charged);
      expect(second.charges()).toHaveLength(2);
    });

    it('starts empty when the file does not exist yet', async () => {
      const gw = new MockGateway({ ledgerFile: join(dir, 'missing.json') });
      expect(gw.charges()).toEqual([]);
      expect(await gw.getStatus('payment:o1:charge:1')).toEqual({ status: 'not_found' });
    });
  });
});
