import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AegisPay } from '../../src/embedded/aegis-pay';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';
import type { DevServer } from '../../src/toolchain/dev-server';
import { cardPayment, eventually, FAST_RETRY, rawClient, startTestServer, testTaskQueue } from '../helpers';

// A Temporal server that knows nothing of AegisPay: no search attributes registered up front.
let server: DevServer;
beforeAll(async () => {
  const settingsFile = join(mkdtempSync(join(tmpdir(), 'aegispay-bare-')), 'temporal-dev.yml');
  writeFileSync(
    settingsFile,
    [
      'x-aegispay:',
      '  namespace: default',
      '  ip: 127.0.0.1',
      "  grpcPort: '0'",
      "  uiPort: '0'",
      '  logLevel: warn',
      '  searchAttributes: []',
      '',
    ].join('\n'),
  );
  server = await startTestServer({ settingsFile });
});
afterAll(async () => {
  await server?.stop();
});

test('an AegisPay instance with a registered gateway runs its own worker and creates its search attributes on a bare server', async () => {
  const client = await rawClient(server);
  const before = await client.connection.operatorService.listSearchAttributes({
    namespace: server.namespace,
  });
  expect(Object.keys(before.customAttributes ?? {})).not.toContain('AegisPayState');

  const lines: string[] = [];
  const logSink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  const aegis = new AegisPay({
    temporal: { address: server.address, namespace: server.namespace },
    taskQueue: testTaskQueue(),
    retry: FAST_RETRY,
    logging: { level: 'DEBUG' },
    logDestination: logSink,
  });
  aegis.registerGateway('MOCK', { apiKey: 'test', environment: 'sandbox' });
  try {
    const payment = await aegis.pay({
      ...cardPayment({ cardNumber: '4000056655665556', cvv: '321' }),
      customer: { id: 'cust_bare', email: 'bare@example.com' },
    });
    expect(payment.state).toBe('SUCCESS');

    const after = await client.connection.operatorService.listSearchAttributes({
      namespace: server.namespace,
    });
    for (const key of PAYMENT_SEARCH_ATTRIBUTES)
      expect(Object.keys(after.customAttributes ?? {})).toContain(key.name);
    const listed = await eventually(async () => {
      const page = await aegis.listPayments({ customerId: 'cust_bare', state: 'SUCCESS' });
      return page.payments.length === 1 ? page : undefined;
    });
    expect(listed.payments[0]!.id).toBe(payment.id);
  } finally {
    await aegis.close();
    await client.connection.close();
  }
  // The run logged (DEBUG), and no line carries the card number, CVV or email.
  const log = lines.join('');
  expect(log).toContain('gateway charge completed');
  for (const secret of ['4000056655665556', '"321"', 'bare@example.com']) expect(log).not.toContain(secret);
});
