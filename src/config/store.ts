import { z } from 'zod';
import type { SettingsSection } from './loader';

/** The payment store as processes read it from the environment or a settings file (see src/store/config.ts). */
export const storeSettingsSchema = z.strictObject({
  kind: z.enum(['postgres', 'embedded']).optional().meta({
    env: 'AEGISPAY_STORE',
    doc: 'Open the [payment store](system-of-record.md#configuration): `postgres` or `embedded`. Unset, a URL means `postgres`; without either the worker has no store and `aegispay export` reads the embedded one.',
    shownDefault: 'by the URL',
  }),
  url: z.string().min(1).optional().meta({
    env: 'AEGISPAY_STORE_URL',
    doc: "`postgres://…`: PostgreSQL (without it, `postgres` uses pg's own `PGHOST`, `PGUSER`, … variables).",
  }),
  dataDir: z.string().min(1).optional().meta({
    env: 'AEGISPAY_STORE_DIR',
    doc: 'The embedded data directory.',
    shownDefault: '`.aegispay/store`',
  }),
  poolMax: z.number().int().min(1).max(1000).optional().meta({
    env: 'AEGISPAY_STORE_POOL_MAX',
    doc: 'PostgreSQL pool size.',
    shownDefault: '`10`',
  }),
  sslCa: z
    .string()
    .min(1)
    .optional()
    .meta({ env: 'AEGISPAY_STORE_SSL_CA', doc: 'PostgreSQL TLS: path of the CA PEM file.' }),
  sslCert: z.string().min(1).optional().meta({
    env: 'AEGISPAY_STORE_SSL_CERT',
    doc: 'PostgreSQL TLS: path of the client certificate PEM file.',
  }),
  sslKey: z.string().min(1).optional().meta({
    env: 'AEGISPAY_STORE_SSL_KEY',
    doc: 'PostgreSQL TLS: path of the client key PEM file.',
  }),
  sslRejectUnauthorized: z.boolean().optional().meta({
    env: 'AEGISPAY_STORE_SSL_REJECT_UNAUTHORIZED',
    doc: '`false` accepts any server certificate (tests only).',
    shownDefault: '`true`',
  }),
});
export type StoreSettings = z.output<typeof storeSettingsSchema>;

export const storeSettings = {
  key: 'store',
  what: 'payment store environment',
  schema: storeSettingsSchema,
} satisfies SettingsSection;
