/** The codec server's settings (`aegispay codec-server`, `startCodecServer`): environment, settings file or code. */
import { z } from 'zod';
import { encryptionSettingsSchema } from './encryption';
import type { SettingsSection } from './loader';

/** The Web UI origins of the local dev server. */
export const DEFAULT_ALLOWED_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'];
/** Largest request body accepted, in bytes: room for a 2 MB payload (Temporal's limit) once in base64. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The codec server's own fields; `startCodecServer` takes them with the encryption config itself. */
export const codecServerFields = {
  host: z.string().min(1).default('127.0.0.1').meta({
    env: 'AEGISPAY_CODEC_HOST',
    doc: 'Interface to listen on (`--host`).',
  }),
  port: z.number().int().min(0).max(65535).default(8888).meta({
    env: 'AEGISPAY_CODEC_PORT',
    doc: 'TCP port (`--port`); `0` picks a free one.',
  }),
  token: z
    .string()
    .regex(/^[A-Za-z0-9._~-]{16,}$/, 'token must be at least 16 URL-safe characters (A-Z a-z 0-9 . _ ~ -)')
    .optional()
    .meta({
      env: 'AEGISPAY_CODEC_TOKEN',
      doc: 'Token every request must carry (`Authorization: Bearer` or the first path segment); required unless `insecureNoAuth`.',
      shownDefault: 'required',
    }),
  insecureNoAuth: z.boolean().default(false).meta({
    doc: 'Serve without a token (`--insecure-no-auth`): loopback hosts only, where the origin list still refuses other sites.',
  }),
  allowedOrigins: z
    .array(z.url({ error: 'allowedOrigins must be URLs' }))
    .default(DEFAULT_ALLOWED_ORIGINS)
    .meta({
      env: 'AEGISPAY_CODEC_ALLOWED_ORIGINS',
      doc: 'Comma-separated browser origins allowed to call the server (CORS); other origins are refused.',
    }),
  maxBodyBytes: z.number().int().min(1024).default(DEFAULT_MAX_BODY_BYTES).meta({
    doc: 'Largest request body accepted, in bytes.',
  }),
};

export const codecServerSettings = {
  key: 'codecServer',
  what: 'codec server settings',
  schema: z.strictObject({ ...codecServerFields, encryption: encryptionSettingsSchema.prefault({}) }),
} satisfies SettingsSection;
