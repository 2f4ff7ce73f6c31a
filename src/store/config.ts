/**
 * Payment store settings: an embedded PostgreSQL (PGlite) under a data directory, or a PostgreSQL
 * server. Read from code (`openPaymentStore(config)`) or from the environment (`storeConfigFromEnv`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  encryptionConfigFromEnv,
  encryptionConfigSchema,
  type EncryptionConfig,
} from '../codec/encryption-codec';
import { loadSettings } from '../config/loader';
import { storeSettings, type StoreSettings } from '../config/store';
import { ConfigurationError } from '../domain/errors';
import { parseOrThrow } from '../domain/validation';
import { findProjectRoot, isInstalledPackage } from '../project-root';

const common = {
  /** Encrypts the customer's email, name and phone at rest (the same keys as payload encryption). */
  encryption: encryptionConfigSchema.optional(),
  /** Apply missing migrations when the store opens (default true); false expects `migrate()` run before. */
  migrate: z.boolean().optional(),
};

const sslSchema = z.strictObject({
  /** PEM text of the CA certificates to trust. */
  ca: z.string().optional(),
  /** PEM text of the client certificate and key, for servers that require client certificates. */
  cert: z.string().optional(),
  key: z.string().optional(),
  /** Defaults to true; false accepts any server certificate (tests only). */
  rejectUnauthorized: z.boolean().optional(),
});

export const storeConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('embedded'),
    /** PGlite's data directory; default `<project root>/.aegispay/store`. */
    dataDir: z.string().min(1).optional(),
    ...common,
  }),
  z.strictObject({
    kind: z.literal('postgres'),
    /** `postgres://user:password@host:port/database?…`; the fields below override its parts. */
    connectionString: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    database: z.string().min(1).optional(),
    /** Largest number of pooled connections (default 10). */
    max: z.number().int().min(1).max(1000).optional(),
    /** TLS: true for the system's CAs, or the certificates to use. */
    ssl: z.union([z.boolean(), sslSchema]).optional(),
    ...common,
  }),
]);
export type StoreConfig = z.input<typeof storeConfigSchema>;
export type ParsedStoreConfig = z.output<typeof storeConfigSchema>;

export function parseStoreConfig(config: unknown): ParsedStoreConfig {
  return parseOrThrow(storeConfigSchema, config, 'payment store config');
}

/**
 * The default embedded data directory: `.aegispay/store` in the AegisPay checkout, or in the working
 * directory when AegisPay is a package installed into an app (never inside node_modules).
 */
export function defaultEmbeddedDataDir(): string {
  let root: string;
  try {
    root = findProjectRoot();
    if (isInstalledPackage(root)) root = process.cwd();
  } catch {
    root = process.cwd();
  }
  return join(root, '.aegispay', 'store');
}

/**
 * The store from the environment:
 * - `AEGISPAY_STORE_URL=postgres://…` selects PostgreSQL (`AEGISPAY_STORE=postgres` without a URL
 *   leaves the connection to pg's own PGHOST, PGUSER, … variables);
 * - otherwise the embedded store under `AEGISPAY_STORE_DIR` (default `.aegispay/store`);
 * - `AEGISPAY_STORE_POOL_MAX`; TLS from `AEGISPAY_STORE_SSL_CA`, `_CERT`, `_KEY` (file paths) and
 *   `AEGISPAY_STORE_SSL_REJECT_UNAUTHORIZED=false`; encryption from `AEGISPAY_ENCRYPTION_KEYS`.
 */
export function storeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ParsedStoreConfig {
  return storeConfigFromSettings(loadSettings(storeSettings, { env }), encryptionConfigFromEnv(env));
}

/**
 * The store the settings name (a URL or a kind), if any: the standalone worker and the CLI open none
 * otherwise, and `aegispay export` falls back to the embedded one.
 */
export function namedStoreConfig(
  settings: StoreSettings,
  encryption?: EncryptionConfig,
): ParsedStoreConfig | undefined {
  return settings.url || settings.kind ? storeConfigFromSettings(settings, encryption) : undefined;
}

/** `namedStoreConfig` from the environment, with its encryption keys. */
export function namedStoreConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ParsedStoreConfig | undefined {
  return namedStoreConfig(loadSettings(storeSettings, { env }), encryptionConfigFromEnv(env));
}

/** The store config from its settings (see src/config/store.ts) and the encryption keys, if any. */
export function storeConfigFromSettings(
  settings: StoreSettings,
  encryption?: EncryptionConfig,
): ParsedStoreConfig {
  const url = settings.url?.trim();
  const kind = settings.kind ?? (url ? 'postgres' : 'embedded');
  if (kind === 'embedded') {
    if (url) throw new ConfigurationError('AEGISPAY_STORE_URL is set but AEGISPAY_STORE is embedded');
    return parseStoreConfig({
      kind,
      ...(settings.dataDir ? { dataDir: settings.dataDir } : {}),
      ...(encryption ? { encryption } : {}),
    });
  }
  const file = (name: string, path: string | undefined) => {
    if (!path) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch {
      throw new ConfigurationError(`${name} names a file that cannot be read: ${path}`);
    }
  };
  const ca = file('AEGISPAY_STORE_SSL_CA', settings.sslCa);
  const cert = file('AEGISPAY_STORE_SSL_CERT', settings.sslCert);
  const key = file('AEGISPAY_STORE_SSL_KEY', settings.sslKey);
  const reject = settings.sslRejectUnauthorized;
  const ssl =
    ca || cert || key || reject !== undefined
      ? {
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
          ...(reject !== undefined ? { rejectUnauthorized: reject } : {}),
        }
      : undefined;
  return parseStoreConfig({
    kind,
    ...(url ? { connectionString: url } : {}),
    ...(settings.poolMax ? { max: settings.poolMax } : {}),
    ...(ssl ? { ssl } : {}),
    ...(encryption ? { encryption } : {}),
  });
}
