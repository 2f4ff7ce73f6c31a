import { createServer, type Server } from 'node:http';
import getRawBody from 'raw-body';
import { Webhook } from 'standardwebhooks';
import { WebhookEventBus } from '../../src/activities/events';
import type { DomainEvent } from '../../src/domain/types';
import { signWebhook, verifyWebhook, WebhookVerificationError } from '../../src/webhooks';

const secret = 'a-secret-of-sixteen-or-more';
const event: DomainEvent = {
  id: 'evt_1',
  type: 'PAYMENT_SUCCEEDED',
  paymentId: 'pay_1',
  sequence: 1,
  at: '2026-01-01T00:00:00.000Z',
  data: { amount: 1000 },
};
const body = JSON.stringify(event);
const at = new Date('2026-01-01T00:00:00Z');
const seconds = (s: number) => new Date(at.getTime() + s * 1000);

describe('verifyWebhook', () => {
  test('returns the event of a delivery signed with the same secret', () => {
    expect(verifyWebhook(body, signWebhook(body, event.id, secret, at), secret, { now: at })).toEqual(event);
  });

  test('refuses a changed body, another secret, another event ID and missing headers', () => {
    const headers = signWebhook(body, event.id, secret, at);
    const refuse = (b: string, h: Record<string, string>, s = secret) =>
      expect(() => verifyWebhook(b, h, s, { now: at })).toThrow(WebhookVerificationError);
    refuse(body.replace('1000', '9000'), headers);
    refuse(body, headers, 'another-secret-of-sixteen');
    refuse(body, { ...headers, 'webhook-id': 'evt_2' });
    refuse(body, { 'webhook-id': event.id, 'webhook-timestamp': headers['webhook-timestamp'] });
  });

  test('the timestamp is signed: a replay with a fresh timestamp is refused', () => {
    const headers = signWebhook(body, event.id, secret, at);
    const later = seconds(3600);
    const replayed = { ...headers, 'webhook-timestamp': String(Math.floor(later.getTime() / 1000)) };
    expect(() => verifyWebhook(body, replayed, secret, { now: later })).toThrow(/no matching signature/);
  });

  test('deliveries older or newer than the tolerance are refused; within it they pass', () => {
    const headers = signWebhook(body, event.id, secret, at);
    expect(() => verifyWebhook(body, headers, secret, { now: seconds(301) })).toThrow(/301 s old/);
    expect(() => verifyWebhook(body, headers, secret, { now: seconds(-301) })).toThrow(/in the future/);
    expect(verifyWebhook(body, headers, secret, { now: seconds(299) })).toEqual(event);
    expect(() => verifyWebhook(body, headers, secret, { now: seconds(60), toleranceSeconds: 30 })).toThrow(
      /60 s old/,
    );
    expect(verifyWebhook(body, headers, secret, { now: seconds(3000), toleranceSeconds: 3600 })).toEqual(
      event,
    );
  });

  test('accepts fetch Headers and any header case, and one match among rotated signatures', () => {
    const headers = signWebhook(body, event.id, secret, at);
    const old = signWebhook(body, event.id, 'the-previous-secret-16', at)['webhook-signature'];
    const fetchHeaders = new Headers({
      'Webhook-Id': headers['webhook-id'],
      'Webhook-Timestamp': headers['webhook-timestamp'],
      'Webhook-Signature': `${old} ${headers['webhook-signature']}`,
    });
    expect(verifyWebhook(Buffer.from(body), fetchHeaders, secret, { now: at })).toEqual(event);
  });

  test('a whsec_ secret follows the standard, so any Standard Webhooks library verifies our signatures', () => {
    const standardSecret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const headers = signWebhook(body, event.id, standardSecret);
    expect(new Webhook(standardSecret).verify(body, headers)).toEqual(event);
    expect(verifyWebhook(body, headers, standardSecret)).toEqual(event);
  });
});

describe('WebhookEventBus', () => {
  const servers: Server[] = [];
  const listen = async (handler: Parameters<typeof createServer>[1]): Promise<string> => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  };
  afterAll(() => servers.forEach((s) => s.close()));

  test('signs each delivery so that verifyWebhook accepts it', async () => {
    const received: unknown[] = [];
    const url = await listen((req, res) => {
      void getRawBody(req, { encoding: 'utf8' }).then((text) => {
        received.push(verifyWebhook(text, req.headers, secret));
        res.writeHead(204).end();
      });
    });
    await new WebhookEventBus({ url, secret }).publish([event]);
    expect(received).toEqual([event]);
  });

  test('a redirect is not a delivery: the batch fails and the redirect target is never called', async () => {
    let targetCalls = 0;
    const target = await listen((_req, res) => {
      targetCalls++;
      res.writeHead(204).end();
    });
    const redirecting = await listen((_req, res) =>
      res.writeHead(307, { location: `${target}/hooks` }).end(),
    );
    await expect(new WebhookEventBus({ url: redirecting, secret }).publish([event])).rejects.toThrow(/307/);
    expect(targetCalls).toBe(0);
  });
});
