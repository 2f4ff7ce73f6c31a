/**
 * The AegisPay demo: starts an embedded Temporal dev server and an in-process worker with the MOCK
 * gateway, runs a handful of payments, prints what happened and where to see it in the Web UI.
 * `npm run demo -- --keep` leaves everything running for a look in the UI.
 */
import { randomUUID } from 'node:crypto';
import {
  AegisPay,
  Currency,
  GatewayType,
  PaymentMethodType,
  type CreatePaymentRequest,
  type Payment,
} from '../src';

const keep = process.argv.includes('--keep');
const run = randomUUID().slice(0, 8);

function request(name: string, cardNumber: string, amount: number | string = 99.99): CreatePaymentRequest {
  return {
    idempotencyKey: `demo_${run}_${name}`,
    amount,
    currency: Currency.USD,
    customer: { id: `cust_demo_${run}`, email: 'customer@example.com', name: 'John Doe' },
    paymentMethod: {
      type: PaymentMethodType.CARD,
      details: {
        cardNumber,
        expiryMonth: '12',
        expiryYear: String(new Date().getFullYear() + 2),
        cvv: '123',
        cardHolderName: 'John Doe',
      },
    },
    metadata: { orderId: `order_${name}` },
  };
}

interface Row {
  scenario: string;
  outcome: string;
  paymentId: string;
  attempts: number | string;
  ms: number;
}

async function main(): Promise<void> {
  const aegis = new AegisPay({
    temporal: 'embedded',
    logging: { level: 'INFO' },
    retry: { maxRetries: 2, initialDelayMs: 200, maxDelayMs: 1000, backoffMultiplier: 2 },
  });
  aegis.registerGateway(GatewayType.MOCK, { apiKey: 'test', environment: 'sandbox' });
  const rows: Row[] = [];

  async function attempt(scenario: string, call: () => Promise<Payment>): Promise<Payment | undefined> {
    const started = performance.now();
    try {
      const p = await call();
      const outcome = p.failure ? `${p.state} (${p.failure.code})` : p.state;
      rows.push({
        scenario,
        outcome,
        paymentId: p.id,
        attempts: p.attempts.length,
        ms: Math.round(performance.now() - started),
      });
      return p;
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'error';
      rows.push({
        scenario,
        outcome: `rejected: ${code}`,
        paymentId: '-',
        attempts: '-',
        ms: Math.round(performance.now() - started),
      });
      return undefined;
    }
  }

  try {
    // Create, then process: the seed's two-step flow.
    const created = await attempt('create (4242…)', () =>
      aegis.createPayment(request('two_step', '4242424242424242')),
    );
    if (created) await attempt('process it', () => aegis.processPayment({ paymentId: created.id }));

    await attempt('pay, success card', () => aegis.pay(request('success', '4242424242424242')));
    await attempt('pay, declined card', () => aegis.pay(request('declined', '4000000000000002')));
    await attempt('pay, insufficient funds', () => aegis.pay(request('funds', '4000000000009995')));
    await attempt('pay, processing error', () => aegis.pay(request('processing', '4000000000000119')));
    await attempt('duplicate of success', () => aegis.pay(request('success', '4242424242424242')));
    await attempt('same key, other amount', () => aegis.pay(request('success', '4242424242424242', 5)));

    console.log('\nAegisPay demo results');
    console.table(rows);
    const ui = await aegis.webUiUrl();
    if (ui) {
      console.log(
        `\nWeb UI: ${ui}/namespaces/default/workflows?query=${encodeURIComponent(`AegisPayCustomerId="cust_demo_${run}"`)}`,
      );
    }
    if (keep) {
      console.log('Running until Ctrl-C (--keep).');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await aegis.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
