import { readFileSync } from 'node:fs';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { z } from 'zod';
import { ConfigurationError, TemporalUnavailableError } from '../domain/errors';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../domain/search-attributes';

/** How to reach a Temporal service: a self-hosted cluster, Temporal Cloud or the local dev server. */
export const temporalConnectionSchema = z.strictObject({
  address: z.string().min(1).default('localhost:7233'),
  namespace: z.string().min(1).default('default'),
  /** API key (Temporal Cloud); implies TLS. */
  apiKey: z.string().min(1).optional(),
  /** `true` for server-verified TLS, or client-certificate files (mTLS). */
  tls: z
    .union([
      z.boolean(),
      z.strictObject({
        clientCertPath: z.string().min(1),
        clientKeyPath: z.string().min(1),
        serverRootCACertPath: z.string().min(1).optional(),
        serverNameOverride: z.string().min(1).optional(),
      }),
    ])
    .optional(),
});
export type TemporalConnectionConfig = z.input<typeof temporalConnectionSchema>;
type ResolvedConnectionConfig = z.output<typeof temporalConnectionSchema>;

function connectionOptions(config: ResolvedConnectionConfig): ConnectionOptions & NativeConnectionOptions {
  const tls = config.tls;
  return {
    address: config.address,
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    ...(tls === true || (config.apiKey && tls === undefined) ? { tls: true } : {}),
    ...(typeof tls === 'object'
      ? {
          tls: {
            clientCertPair: { crt: readFileSync(tls.clientCertPath), key: readFileSync(tls.clientKeyPath) },
            ...(tls.serverRootCACertPath
              ? { serverRootCACertificate: readFileSync(tls.serverRootCACertPath) }
              : {}),
            ...(tls.serverNameOverride ? { serverNameOverride: tls.serverNameOverride } : {}),
          },
        }
      : {}),
  };
}

/** Opens a client connection; a clear error when the service does not answer. */
export async function connectClient(config: ResolvedConnectionConfig): Promise<Connection> {
  try {
    return await Connection.connect({ ...connectionOptions(config), connectTimeout: '10s' });
  } catch (err) {
    throw new TemporalUnavailableError(
      `Cannot reach Temporal at ${config.address}: ${(err as Error).message}`,
    );
  }
}

/** Opens a worker connection; a clear error when the service does not answer. */
export async function connectWorker(config: ResolvedConnectionConfig): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connectionOptions(config));
  } catch (err) {
    throw new TemporalUnavailableError(
      `Cannot reach Temporal at ${config.address}: ${(err as Error).message}`,
    );
  }
}

/** Temporal's numeric indexed-value types for the kinds of search attribute AegisPay uses. */
const INDEXED_VALUE_TYPE = { KEYWORD: 2, INT: 3 } as const;

/**
 * Makes sure AegisPay's search attributes exist on the namespace, creating the missing ones
 * through the operator service, so AegisPay works against any Temporal server.
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection | NativeConnection, 'operatorService'>,
  namespace: string,
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.customAttributes, ...existing.systemAttributes };
  const missing = PAYMENT_SEARCH_ATTRIBUTES.filter((key) => !(key.name in known));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((key) => [key.name, INDEXED_VALUE_TYPE[key.type as keyof typeof INDEXED_VALUE_TYPE]]),
      ),
    });
  } catch (err) {
    throw new ConfigurationError(
      `Search attributes ${missing.map((k) => k.name).join(', ')} are missing on namespace "${namespace}" and could not be created ` +
        `(${(err as Error).message}). Ask an operator to run: ` +
        missing
          .map(
            (k) =>
              `temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type ${k.type === 'INT' ? 'Int' : 'Keyword'}`,
          )
          .join(' && '),
    );
  }
  return missing.map((k) => k.name);
}
