/**
 * The codec server: lets the Temporal Web UI and CLI show encrypted payloads by sending them here to be
 * decoded (`POST /decode`) or encoded (`POST /encode`), per Temporal's remote codec protocol.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { ValidationError } from '../domain/errors';
import { parseOrThrow } from '../domain/validation';
import { EncryptionCodec, encryptionConfigFromEnv, encryptionConfigSchema } from './encryption-codec';

/** The Web UI origins of the local dev server. */
export const DEFAULT_ALLOWED_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'];
/** Largest request body accepted, in bytes: room for a 2 MB payload (Temporal's limit) once in base64. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const HOST = '127.0.0.1';

/** Options of `startCodecServer`. */
export const codecServerOptionsSchema = z.strictObject({
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: z.number().int().min(0).max(65535).default(8888),
  encryption: encryptionConfigSchema,
  /** Bearer token every request must carry; without one, only loopback and the origin list protect the server. */
  token: z.string().min(16, 'token must be at least 16 characters').optional(),
  /** Browser origins allowed to call the server (CORS); other origins are refused. */
  allowedOrigins: z.array(z.url({ error: 'allowedOrigins must be URLs' })).default(DEFAULT_ALLOWED_ORIGINS),
  maxBodyBytes: z.number().int().min(1024).default(DEFAULT_MAX_BODY_BYTES),
});
export type CodecServerOptions = z.input<typeof codecServerOptionsSchema>;

/** A running codec server. */
export interface CodecServer {
  /** `http://127.0.0.1:<port>`, the value for `--ui-codec-endpoint` / `codecEndpoint`. */
  url: string;
  stop(): Promise<void>;
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
/** A payload as the Web UI sends it: protobuf JSON, so bytes are base64 strings. */
const jsonPayloadSchema = z.object({
  metadata: z.record(z.string(), base64).nullish(),
  data: base64.nullish(),
});
const requestBodySchema = z.strictObject({ payloads: z.array(jsonPayloadSchema) });
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
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the codec server on 127.0.0.1. */
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
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    if (path !== '/encode' && path !== '/decode') throw new HttpError(404, 'not found');
    if (req.method !== 'POST') throw new HttpError(405, 'use POST');
    if (config.token !== undefined && !tokenMatches(req.headers.authorization, config.token)) {
      throw new HttpError(401, 'missing or wrong bearer token');
    }
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
      result = path === '/encode' ? await codec.encode(payloads) : await codec.decode(payloads);
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
    server.listen(config.port, HOST, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${HOST}:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const codecServerEnvSchema = z.object({
  AEGISPAY_CODEC_PORT: z.coerce.number().int().min(0).max(65535).default(8888),
  AEGISPAY_CODEC_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  AEGISPAY_CODEC_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',').map((o) => o.trim()) : DEFAULT_ALLOWED_ORIGINS))
    .pipe(z.array(z.url({ error: 'must be a comma-separated list of URLs' }))),
});

/** The codec server's options from the environment (the encryption keys are the worker's variables). */
export function codecServerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CodecServerOptions {
  const parsed = parseOrThrow(codecServerEnvSchema, env, 'codec server environment');
  const encryption = encryptionConfigFromEnv(env);
  if (!encryption) {
    throw new ValidationError(
      [{ path: 'AEGISPAY_ENCRYPTION_KEYS', message: 'is required (keyId:base64Key,...)' }],
      'codec server environment',
    );
  }
  return {
    port: parsed.AEGISPAY_CODEC_PORT,
    encryption,
    allowedOrigins: parsed.AEGISPAY_CODEC_ALLOWED_ORIGINS,
    ...(parsed.AEGISPAY_CODEC_TOKEN ? { token: parsed.AEGISPAY_CODEC_TOKEN } : {}),
  };
}
