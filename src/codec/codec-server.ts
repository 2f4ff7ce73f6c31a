/**
 * The codec server: lets the Temporal Web UI and CLI show encrypted payloads by sending them here to be
 * decoded (`POST /decode`) or encoded (`POST /encode`), per Temporal's remote codec protocol.
 *
 * Every request carries the token, as `Authorization: Bearer <token>` (the `temporal` CLI's
 * `--codec-auth`) or as the first path segment, `/<token>/decode` (the Web UI: its codec endpoint is
 * `http://127.0.0.1:<port>/<token>`, since the local UI has no login whose access token it could pass).
 *
 * `/encode` returns what it is given: operator input typed in the UI or the `temporal` CLI (signal
 * arguments) stays plain JSON, which every AegisPay worker reads (encrypted ones pass plain payloads
 * through), so a UI signal reaches payments on encrypted and unencrypted task queues alike; that input is
 * amounts, notes and references, never card data.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import getRawBody from 'raw-body';
import { z } from 'zod';
import { ValidationError } from '../domain/errors';
import { parseOrThrow } from '../domain/validation';
import {
  codecServerFields,
  codecServerSettings,
  DEFAULT_ALLOWED_ORIGINS,
  DEFAULT_MAX_BODY_BYTES,
} from '../config/codec-server';
import { loadSettings, settingsFileOf } from '../config/loader';
import { EncryptionCodec, encryptionConfigOf, encryptionConfigSchema } from './encryption-codec';

const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];

export { DEFAULT_ALLOWED_ORIGINS, DEFAULT_MAX_BODY_BYTES };
/** Options of `startCodecServer`: its settings (src/config/codec-server.ts) with the encryption config. */
export const codecServerOptionsSchema = z
  .strictObject({ ...codecServerFields, encryption: encryptionConfigSchema })
  .superRefine((o, ctx) => {
    if (o.token === undefined && !o.insecureNoAuth) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'is required (or insecureNoAuth on loopback)',
      });
    }
    if (o.insecureNoAuth && !LOOPBACK_HOSTS.includes(o.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['insecureNoAuth'],
        message: `needs a loopback host, not ${o.host}`,
      });
    }
  });
export type CodecServerOptions = z.input<typeof codecServerOptionsSchema>;

/** A running codec server. */
export interface CodecServer {
  /** `http://127.0.0.1:<port>`, the endpoint for the `temporal` CLI's `--codec-endpoint` (with `--codec-auth`). */
  url: string;
  /** The endpoint for the Web UI (`--ui-codec-endpoint`, `codecEndpoint` in temporal-dev.yml): `url/<token>`. */
  uiEndpoint: string;
  stop(): Promise<void>;
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
/** A payload as the Web UI sends it: protobuf JSON, so bytes are base64 strings. */
const jsonPayloadSchema = z.object({
  metadata: z.record(z.string(), base64).nullish(),
  data: base64.nullish(),
});
/** `{}` is what `temporal workflow query --codec-endpoint` sends for a query without arguments. */
const requestBodySchema = z.strictObject({ payloads: z.array(jsonPayloadSchema).default([]) });
type JsonPayload = z.infer<typeof jsonPayloadSchema>;

function fromJson({ metadata, data }: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
    ),
    data: Buffer.from(data ?? '', 'base64'),
  };
}

function toJson({ metadata, data }: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(metadata ?? {}).map(([k, v]) => [
        k,
        Buffer.from(v ?? new Uint8Array()).toString('base64'),
      ]),
    ),
    data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Hashing both sides first makes the comparison constant-time whatever the lengths. */
function tokenMatches(given: string, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/**
 * The operation a request asks for and whether it carries the token: `/<op>` with a bearer header, or
 * `/<token>/<op>` as the Web UI sends it.
 */
function route(req: IncomingMessage, token: string | undefined): { op: string; authorized: boolean } {
  const segments = new URL(req.url ?? '/', 'http://codec').pathname.split('/').filter(Boolean);
  const op = segments.at(-1) ?? '';
  if (segments.length > 2 || (op !== 'encode' && op !== 'decode')) throw new HttpError(404, 'not found');
  if (token === undefined) return { op, authorized: segments.length === 1 };
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const given = segments.length === 2 ? segments[0]! : (bearer ?? '');
  return { op, authorized: tokenMatches(given, token) };
}

/** The request body as text; over `limit` bytes (declared or sent) it is a 413. */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  try {
    return await getRawBody(req, { limit, encoding: 'utf8' });
  } catch (err) {
    if ((err as { status?: unknown }).status === 413)
      throw new HttpError(413, `body larger than ${limit} bytes`);
    throw err;
  }
}

/** Starts the codec server (on 127.0.0.1 unless `host` says otherwise). */
export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const config = parseOrThrow(codecServerOptionsSchema, options, 'codec server options');
  const codec: PayloadCodec = new EncryptionCodec(config.encryption);
  const allowed = new Set(config.allowedOrigins.map((o) => new URL(o).origin));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    // Browsers send Origin on cross-origin calls; a page from any other site is refused outright.
    if (origin !== undefined && !allowed.has(origin)) throw new HttpError(403, 'origin not allowed');
    if (origin !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      // Preflights carry no credentials, so they are answered without the token.
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Namespace',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    const { op, authorized } = route(req, config.token);
    if (req.method !== 'POST') throw new HttpError(405, 'use POST');
    if (!authorized) throw new HttpError(401, 'missing or wrong token');
    const text = await readBody(req, config.maxBodyBytes);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'body is not JSON');
    }
    const body = requestBodySchema.safeParse(json);
    if (!body.success)
      throw new HttpError(400, 'body must be { payloads: [{ metadata, data }] } with base64 bytes');
    const payloads = body.data.payloads.map(fromJson);
    let result: Payload[];
    try {
      // Operator input stays plain (see the top of this file).
      result = op === 'encode' ? payloads : await codec.decode(payloads);
    } catch (err) {
      // The codec's messages name key IDs, never keys or payload contents.
      throw new HttpError(422, (err as Error).message);
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ payloads: result.map(toJson) }));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : 'internal error';
      // A body left unread (413) must not be parsed as the next request on this connection.
      if (!res.headersSent)
        res.writeHead(status, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(JSON.stringify({ error: message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  return {
    url,
    uiEndpoint: config.token === undefined ? url : `${url}/${config.token}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * The codec server's options from `code`, the environment and the settings file `AEGISPAY_CONFIG_FILE`
 * names, in that order; the encryption keys are the workers' variables.
 */
export function codecServerOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  code?: Record<string, unknown>,
): CodecServerOptions {
  const file = settingsFileOf(env);
  const { encryption: keys, ...settings } = loadSettings(codecServerSettings, {
    env,
    ...(code ? { code } : {}),
    ...(file ? { file } : {}),
  });
  const encryption = encryptionConfigOf(keys);
  if (!encryption) {
    throw new ValidationError(
      [{ path: 'AEGISPAY_ENCRYPTION_KEYS', message: 'is required (keyId:base64Key,...)' }],
      codecServerSettings.what,
    );
  }
  return { ...settings, encryption };
}
