/**
 * The AegisPay demo: starts an embedded Temporal dev server, the sandbox PSP (local Stripe and PayPal
 * APIs) and an in-process worker with the STRIPE and PAYPAL adapters, runs payments through the whole
 * lifecycle, and prints what happened and where to see it in the Web UI.
 * `npm run demo -- --keep` leaves everything running for a look in the UI.
 */
import { randomUUID } from 'node:crypto';
import {
  AegisPay,
  Currency,
  GatewayType,
  paymentListUrl,
  PaymentMethodType,
  type CreatePaymentRequest,
  type Payment,
} from '../src';
import { startSandbox } from '../src/sandbox';

const keep = process.argv.includes('--keep');
const run = randomUUID().slice(0, 8);

function request(
  name: string,
  cardNumber: string,
  extra: Partial<CreatePaymentRequest> = {},
): CreatePaymentRequest {
  return {
    idempotencyKey: `demo_${run}_${name}`,
    amount: 99.99,
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
    ...extra,
  };
}

/** What the demo's risk check lets through: 10,000.00 in minor units. */
const RISK_LIMIT_MINOR = 1_000_000;

interface Row {
  scenario: string;
  outcome: string;
  attempts: string;
  amounts: string;
  ms: number;
}

async function main(): Promise<void> {
  const sandbox = await startSandbox({ port: 0 });
  const aegis = new AegisPay({
    temporal: 'embedded',
    // A queue of its own: a worker started by `npm run worker` (queue "aegispay") on the same dev
    // server has other gateways, and the two must not take each other's payments.
    taskQueue: 'aegispay-demo',
    // Warnings and errors only, on stderr: stdout is the demo's table.
    logging: { level: 'WARN' },
    logDestination: process.stderr,
    retry: { maxRetries: 2, initialDelayMs: 200, maxDelayMs: 1000, backoffMultiplier: 2 },
    // STRIPE is cheaper here, so it is the primary; PAYPAL takes over when it cannot.
    routing: {
      strategy: 'cost-optimized',
      costs: { STRIPE: { fixed: 30, percentage: 2.9 }, PAYPAL: { fixed: 49, percentage: 3.49 } },
    },
    // A stand-in for a fraud service: the worker asks it once per payment, before the first charge.
    riskCheck: {
      assess: ({ amount }) =>
        amount.amount > RISK_LIMIT_MINOR
          ? { decision: 'deny', reason: 'over the 10,000.00 limit for this merchant' }
          : { decision: 'allow', score: 1 },
    },
  });
  aegis.registerGateway(GatewayType.STRIPE, { apiKey: 'sk_test_demo', baseUrl: sandbox.url, timeout: 5000 });
  aegis.registerGateway(GatewayType.PAYPAL, {
    clientId: 'demo',
    clientSecret: 'demo',
    baseUrl: sandbox.url,
    timeout: 5000,
  });
  const rows: Row[] = [];

  async function step(scenario: string, call: () => Promise<Payment>): Promise<Payment | undefined> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    try {
      const p = await call();
      rows.push({
        scenario,
        outcome: p.failure
          ? `${p.state} (${p.failure.code})`
          : `${p.state}${p.gateway ? ` via ${p.gateway}` : ''}`,
        attempts:
          p.attempts.map((a) => `${a.gateway}${a.outcome === 'succeeded' ? '✓' : '✗'}`).join(' ') || '-',
        amounts: `${p.amounts.captured}/${p.amounts.refunded}`,
        ms: ms(),
      });
      return p;
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).message;
      rows.push({ scenario, outcome: `rejected: ${code}`, attempts: '-', amounts: '-', ms: ms() });
      return undefined;
    }
  }

  try {
    // Starts the server and the worker first: a worker its task queue's fleet refuses (other gateways
    // or settings on the same queue), or a server that does not answer, stops the demo with the reason.
    await aegis.listPayments({ limit: 1 });

    // The seed's two steps: create, then process.
    const created = await step('create', () => aegis.createPayment(request('two_step', '4242424242424242')));
    if (created) await step('process it', () => aegis.processPayment({ paymentId: created.id }));

    await step('pay, success card', () => aegis.pay(request('success', '4242424242424242')));
    await step('pay, declined card', () => aegis.pay(request('declined', '4000000000000002')));
    await step('pay, insufficient funds', () => aegis.pay(request('funds', '4000000000009995')));
    await step('pay, processing error', () => aegis.pay(request('processing', '4000000000000119')));
    await step('pay, over the risk limit', () =>
      aegis.pay(request('risky', '4242424242424242', { amount: 15_000 })),
    );
    await step('duplicate of success', () => aegis.pay(request('success', '4242424242424242')));
    await step('same key, other amount', () =>
      aegis.pay(request('success', '4242424242424242', { amount: 5 })),
    );

    const authorized = await step('pay, manual capture', () =>
      aegis.pay(request('manual', '4242424242424242', { captureMethod: 'manual' })),
    );
    if (authorized) {
      await step('capture 60.00 of 99.99', () => aegis.capturePayment(authorized.id, { amount: 60 }));
      await step('refund 20.00', () =>
        aegis.refundPayment(authorized.id, { amount: 20, refundId: 'demo_refund_1' }),
      );
      await step('refund 20.00 again (same id)', () =>
        aegis.refundPayment(authorized.id, { amount: 20, refundId: 'demo_refund_1' }),
      );
      await step('refund 50.00 (too much)', () => aegis.refundPayment(authorized.id, { amount: 50 }));
    }

    // STRIPE starts refusing every call with 429: the payment retries there, then fails over to PAYPAL.
    sandbox.setFaults({ rateLimitRate: 1 }, 'stripe');
    await step('STRIPE rate-limited: failover', () => aegis.pay(request('failover', '4242424242424242')));
    sandbox.setFaults({}, 'stripe');

    console.log('\nAegisPay demo results (amounts: captured/refunded, minor units)');
    console.table(rows);
    const charges = sandbox
      .ledger({ status: 'succeeded' })
      .filter((e) => e.kind === 'charge' || e.kind === 'authorization');
    console.log(
      `Sandbox ledger: ${charges.length} charges for ${new Set(charges.map((e) => e.paymentId)).size} payments`,
    );
    const health = await aegis.getHealthSummary();
    for (const g of health.gateways) {
      console.log(
        `${g.gateway}: breaker ${g.state}, ${g.calls} calls, ${g.failures} failures, ${g.declines} declines`,
      );
    }
    const ui = await aegis.webUiUrl();
    if (ui) {
      const link = paymentListUrl(ui, 'default', `AegisPayCustomerId="cust_demo_${run}"`);
      console.log(`\nWeb UI, this run's payments: ${link}`);
      console.log('Columns for state, amount, customer and refunds: docs/web-ui.md');
      if (!keep) {
        console.log(
          'The Web UI stops with the demo (unless `npm run temporal` was already running it): ' +
            '`npm run demo -- --keep` keeps it up until Ctrl-C.',
        );
      }
    }
    if (keep) {
      console.log(`Sandbox PSP: ${sandbox.url}. Running until Ctrl-C (--keep).`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await aegis.close();
    await sandbox.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
