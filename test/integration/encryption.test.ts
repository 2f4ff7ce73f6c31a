import { randomBytes, randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import { AegisPay } from '../../src/embedded/aegis-pay';
import { EncryptionCodec, type EncryptionConfig } from '../../src/codec/encryption-codec';
import { processUpdate } from '../../src/domain/messages';
import {
  cardPayment,
  eventually,
  expectAegisError,
  rawClient,
  useTestServer,
  startTestWorker,
  TEST_CARDS,
  testClient,
  testTaskQueue,
  uniqueKey,
} from '../helpers';

const KEY_1 = { id: 'key-2024-01', key: randomBytes(32).toString('base64') };
const KEY_2 = { id: 'key-2025-06', key: randomBytes(32).toString('base64') };
const BEFORE_ROTATION: EncryptionConfig = { keys: { [KEY_1.id]: KEY_1.key }, activeKeyId: KEY_1.id };
const AFTER_ROTATION: EncryptionConfig = {
  keys: { [KEY_1.id]: KEY_1.key, [KEY_2.id]: KEY_2.key },
  activeKeyId: KEY_2.id,
};
const NEW_KEY_ONLY: EncryptionConfig = { keys: { [KEY_2.id]: KEY_2.key }, activeKeyId: KEY_2.id };

const testServer = useTestServer();

/** The workflow's history as stored by the server, read without any codec. */
async function rawHistory(paymentId: string): Promise<Buffer> {
  const client = await rawClient(testServer.server);
  try {
    const { history } = await client.workflowService.getWorkflowExecutionHistory({
      namespace: testServer.server.namespace,
      execution: { workflowId: paymentId },
    });
    return Buffer.from(temporal.api.history.v1.History.encode(history!).finish());
  } finally {
    await client.connection.close();
  }
}

/** Starts an encrypted worker and client on a fresh task queue; `close` stops both. */
async function encryptedSetup(encryption: EncryptionConfig, taskQueue = testTaskQueue()) {
  const worker = await startTestWorker(testServer.server, taskQueue, [new MockGateway()], { encryption });
  const aegis = testClient(testServer.server, taskQueue, { encryption });
  return {
    aegis,
    taskQueue,
    close: async () => {
      await aegis.close();
      await worker.stop();
    },
  };
}

test('with encryption on, the raw history of a paid card payment holds no card, customer or metadata values, and the keys read it back', async () => {
  const { aegis, taskQueue, close } = await encryptedSetup(BEFORE_ROTATION);
  const suffix = randomUUID().slice(0, 8);
  const request = cardPayment({ cardNumber: '4000056655665556', cvv: '987' }); // not a test-token card
  request.customer = {
    id: uniqueKey('cust'),
    email: `zelda.${suffix}@example.com`,
    name: `Zelda Quimby ${suffix}`,
  };
  request.metadata = { orderId: `ord_${suffix}`, note: `gift wrap for ${suffix}` };
  if (request.paymentMethod.type === 'CARD')
    request.paymentMethod.details.cardHolderName = `Z Quimby ${suffix}`;

  const paid = await aegis.pay(request);
  expect(paid.state).toBe('SUCCESS');
  const raw = await rawHistory(paid.id);

  expect(raw.includes('binary/encrypted')).toBe(true);
  expect(raw.includes(KEY_1.id)).toBe(true);
  // Search attributes are indexed, so they stay readable: proof that these are the payment's bytes.
  expect(raw.includes(request.customer.id)).toBe(true);
  const secrets = [
    '4000056655665556',
    '4000 0566 5566 5556',
    '"987"',
    '"cvv"',
    request.customer.email!,
    request.customer.name!,
    `Z Quimby ${suffix}`,
    `ord_${suffix}`,
    `gift wrap for ${suffix}`,
    // The summary line ("USD 99.99 · card visa ••5556 · …") goes through the codec too.
    'card visa',
  ];
  for (const secret of secrets)
    expect({ secret, found: raw.includes(secret) }).toEqual({ secret, found: false });

  // A client with the same keys (a fresh instance, so nothing is cached) sees the payment in full.
  const reader = testClient(testServer.server, taskQueue, { encryption: BEFORE_ROTATION });
  const read = await reader.getPayment(paid.id);
  expect(read).toMatchObject({
    id: paid.id,
    state: 'SUCCESS',
    customer: request.customer,
    metadata: request.metadata,
    paymentMethod: { type: 'CARD', card: { brand: 'visa', last4: '5556' } },
  });
  await reader.close();

  // Without the keys, the payment cannot be read at all (rather than read as garbage), and the
  // error says why instead of the payload converter's "Unknown encoding" ValueError.
  const keyless = testClient(testServer.server, taskQueue);
  const err = await expectAegisError(keyless.getPayment(paid.id), 'ENCRYPTION_REQUIRED');
  expect(err.message).toContain(KEY_1.id);
  expect(err.message).not.toContain(KEY_1.key);
  await keyless.close();
  await close();
});

test("a declined payment's failure message and stack trace are encrypted too", async () => {
  const { aegis, close } = await encryptedSetup(BEFORE_ROTATION);
  const declined = await aegis.pay(cardPayment({ cardNumber: TEST_CARDS.declined }));
  expect(declined.state).toBe('FAILURE');
  expect(declined.failure).toMatchObject({ code: 'card_declined', message: 'Your card was declined.' });

  const raw = await rawHistory(declined.id);
  expect(raw.includes('Your card was declined')).toBe(false);
  expect(raw.includes('.ts:')).toBe(false); // no stack frame (file:line) in plaintext
  // The failure converter replaced the message; the real one is inside an encrypted payload.
  expect(raw.includes('Encoded failure')).toBe(true);
  await close();
});

test('after key rotation, payments written under the old key are still read and processed', async () => {
  const before = await encryptedSetup(BEFORE_ROTATION);
  const created = await before.aegis.createPayment(cardPayment());
  const declined = await before.aegis.pay(cardPayment({ cardNumber: TEST_CARDS.declined }));
  await before.close();

  // New client and worker on the same task queue: key 2 encrypts, key 1 still decrypts.
  const after = await encryptedSetup(AFTER_ROTATION, before.taskQueue);
  expect((await after.aegis.getPayment(created.id)).state).toBe('INITIATED');
  const processed = await after.aegis.processPayment({ paymentId: created.id });
  expect(processed.state).toBe('SUCCESS');
  expect((await after.aegis.getPayment(declined.id)).failure?.code).toBe('card_declined');

  const raw = await rawHistory(created.id);
  expect(raw.includes(KEY_1.id)).toBe(true); // the create
  expect(raw.includes(KEY_2.id)).toBe(true); // the process, after rotation
  await after.close();

  // Dropping the old key too early fails clearly, naming the missing key ID and never a key.
  const newKeyOnly = testClient(testServer.server, before.taskQueue, { encryption: NEW_KEY_ONLY });
  const err = await expectAegisError(newKeyOnly.getPayment(declined.id), 'CONFIGURATION_ERROR');
  expect(err.message).toContain(`"${KEY_1.id}"`);
  expect(err.message).not.toContain(KEY_1.key);
  expect(err.message).not.toContain(KEY_2.key);
  await newKeyOnly.close();
});

test('an unencrypted payload (plain JSON from the CLI or Web UI) reaches an encrypted worker', async () => {
  const { aegis, close } = await encryptedSetup(BEFORE_ROTATION);
  const created = await aegis.createPayment(cardPayment());

  // A client without the codec sends the update's argument as plain json/plain.
  const plain = await rawClient(testServer.server);
  await plain.workflow
    .getHandle(created.id)
    .startUpdate(processUpdate, { args: [{}], waitForStage: 'ACCEPTED' });
  await plain.connection.close();
  const done = await eventually(async () => {
    const payment = await aegis.getPayment(created.id);
    return payment.state === 'SUCCESS' && payment;
  });
  expect(done.gateway).toBe('MOCK');

  const codec = new EncryptionCodec(BEFORE_ROTATION);
  const json = defaultPayloadConverter.toPayload({ reason: 'typed in the UI' });
  expect(await codec.decode([json])).toEqual([json]);
  await close();
});

test('an unknown key ID fails with an error naming it, and bad encryption config names the field, never the key', async () => {
  const codec = new EncryptionCodec(BEFORE_ROTATION);
  const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload({ amount: 1 })]);
  const err = await expectAegisError(
    new EncryptionCodec(NEW_KEY_ONLY).decode([encrypted!]),
    'CONFIGURATION_ERROR',
  );
  expect(err.message).toContain(`"${KEY_1.id}"`);
  expect(err.message).not.toContain(KEY_2.key);
  // GCM authenticates: an altered byte is refused, not decrypted into something else.
  const data = Buffer.from(encrypted!.data!);
  data[20]! ^= 1;
  await expectAegisError(codec.decode([{ ...encrypted!, data }]), 'CONFIGURATION_ERROR');

  const shortKey = randomBytes(16).toString('base64');
  const bad = await expectAegisError(
    Promise.resolve().then(
      () => new AegisPay({ encryption: { keys: { k1: shortKey, k2: KEY_2.key }, activeKeyId: 'k3' } }),
    ),
    'VALIDATION_ERROR',
  );
  const paths = (bad as unknown as { issues: { path: string }[] }).issues.map((i) => i.path);
  expect(paths.sort()).toEqual(['encryption.activeKeyId', 'encryption.keys.k1']);
  expect(bad.message).not.toContain(shortKey);
  expect(bad.message).not.toContain(KEY_2.key);
});
