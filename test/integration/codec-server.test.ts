import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { startCodecServer, type CodecServer } from '../../src/codec/codec-server';
import { createDataConverter } from '../../src/codec/data-converter';
import { EncryptionCodec, type EncryptionConfig } from '../../src/codec/encryption-codec';
import { rawClient, useTestServer, testTaskQueue } from '../helpers';

const ENCRYPTION: EncryptionConfig = { keys: { k1: randomBytes(32).toString('base64') }, activeKeyId: 'k1' };
const TOKEN = randomBytes(24).toString('hex');
const UI_ORIGIN = 'http://127.0.0.1:8233';

let codec: CodecServer;
beforeAll(async () => {
  codec = await startCodecServer({ port: 0, encryption: ENCRYPTION, token: TOKEN });
});
afterAll(async () => {
  await codec?.stop();
});

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

/** A payload the way the Web UI sends it: protobuf JSON with base64 bytes. */
function asJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
    ),
    data: Buffer.from(payload.data!).toString('base64'),
  };
}

function jsonPayload(value: unknown): JsonPayload {
  return asJson(defaultPayloadConverter.toPayload(value));
}

/** A value encrypted as an AegisPay worker or client with ENCRYPTION stores it. */
async function encryptedJson(value: unknown): Promise<JsonPayload> {
  const [encrypted] = await new EncryptionCodec(ENCRYPTION).encode([
    defaultPayloadConverter.toPayload(value),
  ]);
  return asJson(encrypted!);
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${codec.url}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      'Content-Type': 'application/json',
      Origin: UI_ORIGIN,
      'X-Namespace': 'default',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('listens on loopback only', () => {
  expect(codec.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

test('a preflight from the Web UI origin is allowed without a token, for that origin only', async () => {
  const res = await fetch(`${codec.url}/decode`, {
    method: 'OPTIONS',
    headers: {
      Origin: UI_ORIGIN,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type,x-namespace',
    },
  });
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  expect(res.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type, X-Namespace');
  expect(res.headers.get('access-control-allow-methods')).toContain('POST');
});

test('another origin gets no CORS headers, for preflights and requests alike', async () => {
  const preflight = await fetch(`${codec.url}/decode`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  const request = await post('/decode', { payloads: [] }, { Origin: 'https://evil.example' });
  for (const res of [preflight, request]) {
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-headers')).toBeNull();
  }
});

test.each([
  ['no token', {}],
  ['a wrong token', { Authorization: `Bearer ${TOKEN.slice(0, -1)}x` }],
  ['a token without the Bearer scheme', { Authorization: TOKEN }],
])('a request with %s is rejected with 401', async (_name, headers) => {
  const base = { 'Content-Type': 'application/json', Origin: UI_ORIGIN };
  const res = await fetch(`${codec.url}/decode`, {
    method: 'POST',
    headers: { ...base, ...headers },
    body: JSON.stringify({ payloads: [jsonPayload('x')] }),
  });
  expect(res.status).toBe(401);
  // The Web UI can still read why, because its origin is allowed.
  expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
});

test.each([
  ['not JSON', '{payloads:'],
  ['JSON that is not an object', '[1,2]'],
  ['payloads that are not a list', { payloads: 'abc' }],
  ['a payload whose data is not base64', { payloads: [{ metadata: {}, data: 'not base64!' }] }],
  ['metadata that is not a map of base64', { payloads: [{ metadata: { encoding: 42 }, data: '' }] }],
  ['an unknown top-level field', { payloads: [], extra: true }],
])('a body with %s is rejected with 400', async (_name, body) => {
  const res = await post('/decode', body);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toBeTruthy();
});

test.each([
  ['an empty object (what `temporal workflow query` sends without arguments)', {}],
  ['an empty payload list', { payloads: [] }],
])('a body with %s is answered with no payloads', async (_name, body) => {
  for (const path of ['/decode', '/encode']) {
    const res = await post(path, body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ payloads: [] });
  }
});

test('the token also works as the first path segment (the Web UI endpoint), and a wrong one there is 401', async () => {
  const payload = jsonPayload('x');
  const noHeader = { 'Content-Type': 'application/json', Origin: UI_ORIGIN };
  const good = await fetch(`${codec.uiEndpoint}/decode`, {
    method: 'POST',
    headers: noHeader,
    body: JSON.stringify({ payloads: [payload] }),
  });
  expect(codec.uiEndpoint).toBe(`${codec.url}/${TOKEN}`);
  expect(good.status).toBe(200);
  expect(await good.json()).toEqual({ payloads: [payload] });
  const bad = await fetch(`${codec.url}/${TOKEN.slice(0, -1)}x/decode`, {
    method: 'POST',
    headers: noHeader,
    body: JSON.stringify({ payloads: [payload] }),
  });
  expect(bad.status).toBe(401);
});

test('a token is required unless insecureNoAuth, which only a loopback host allows', async () => {
  await expect(startCodecServer({ port: 0, encryption: ENCRYPTION })).rejects.toThrow(/token: is required/);
  await expect(
    startCodecServer({ port: 0, encryption: ENCRYPTION, insecureNoAuth: true, host: '0.0.0.0' }),
  ).rejects.toThrow(/insecureNoAuth: needs a loopback host/);
  const open = await startCodecServer({ port: 0, encryption: ENCRYPTION, insecureNoAuth: true });
  try {
    const res = await fetch(`${open.url}/decode`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
  } finally {
    await open.stop();
  }
});

test('a body over the size limit is rejected with 413', async () => {
  const small = await startCodecServer({ port: 0, encryption: ENCRYPTION, token: TOKEN, maxBodyBytes: 4096 });
  const res = await fetch(`${small.url}/decode`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ payloads: [jsonPayload('x'.repeat(1_000_000))] }),
  });
  await small.stop();
  expect(res.status).toBe(413);
});

test('unknown paths are 404 and other methods 405', async () => {
  expect((await post('/other', { payloads: [] })).status).toBe(404);
  const get = await fetch(`${codec.url}/decode`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(get.status).toBe(405);
});

test('/encode leaves operator input plain; /decode decrypts encrypted payloads and passes plain ones', async () => {
  const original = jsonPayload({ amount: '5.00' });
  const encoded = await post('/encode', { payloads: [original] });
  expect(encoded.status).toBe(200);
  expect(encoded.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  expect(((await encoded.json()) as { payloads: JsonPayload[] }).payloads).toEqual([original]);

  const encrypted = await encryptedJson({ amount: '5.00' });
  expect(Buffer.from(encrypted.data, 'base64').includes('5.00')).toBe(false);
  const decoded = await post('/decode', { payloads: [encrypted, original] });
  expect(decoded.status).toBe(200);
  expect(((await decoded.json()) as { payloads: JsonPayload[] }).payloads).toEqual([original, original]);
});

test('a payload under a key the server does not have is a 422 naming the key ID', async () => {
  const other = await startCodecServer({
    port: 0,
    encryption: { keys: { k9: randomBytes(32).toString('base64') }, activeKeyId: 'k9' },
    insecureNoAuth: true,
  });
  const payloads = [await encryptedJson(1)];
  const res = await fetch(`${other.url}/decode`, { method: 'POST', body: JSON.stringify({ payloads }) });
  await other.stop();
  expect(res.status).toBe(422);
  expect(((await res.json()) as { error: string }).error).toContain('"k1"');
});

describe('with a Temporal server', () => {
  const testServer = useTestServer();

  test('decodes the payloads of a real encrypted workflow history, as the Web UI would', async () => {
    const writer = await rawClient(testServer.server);
    const encrypted = new Client({
      connection: writer.connection,
      namespace: testServer.server.namespace,
      dataConverter: createDataConverter(ENCRYPTION),
    });
    // No worker is needed: the start event alone holds the encrypted input.
    const handle = await encrypted.workflow.start('paymentWorkflow', {
      taskQueue: testTaskQueue(),
      workflowId: `codec-${randomBytes(6).toString('hex')}`,
      args: [{ customer: { email: 'zelda@example.com' } }],
    });
    const { history } = await writer.workflowService.getWorkflowExecutionHistory({
      namespace: testServer.server.namespace,
      execution: { workflowId: handle.workflowId },
    });
    await handle.terminate();
    await writer.connection.close();
    const input = history!.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
    const asJson = input.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p.data!).toString('base64'),
    }));

    const res = await post('/decode', { payloads: asJson });
    expect(res.status).toBe(200);
    const [decoded] = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
    expect(JSON.parse(Buffer.from(decoded!.data, 'base64').toString())).toEqual({
      customer: { email: 'zelda@example.com' },
    });
  });
});
