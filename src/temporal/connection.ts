import { readFileSync } from 'node:fs';
import { status as grpcStatus } from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { z } from 'zod';
import { ConfigurationError, TemporalUnavailableError } from '../domain/errors';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { DEFAULT_TEMPORAL_TIMEOUT_MS, temporalCallBounds, temporalUnavailable } from './calls';

const pem = z.string().regex(/-----BEGIN [A-Z ]+-----/, 'must be PEM text (-----BEGIN …-----)');

/** A client certificate for mTLS; each part from a file or given as PEM text. */
const mtlsSchema = z
  .strictObject({
    clientCertPath: z.string().min(1).optional(),
    clientCert: pem.optional(),
    clientKeyPath: z.string().min(1).optional(),
    clientKey: pem.optional(),
    serverRootCACertPath: z.string().min(1).optional(),
    serverRootCACert: pem.optional(),
    serverNameOverride: z.string().min(1).optional(),
  })
  .superRefine((tls, ctx) => {
    const pairs = [
      ['clientCert', true],
      ['clientKey', true],
      ['serverRootCACert', false],
    ] as const;
    for (const [name, required] of pairs) {
      const given = [tls[name], tls[`${name}Path`]].filter((v) => v !== undefined).length;
      if (given > 1)
        ctx.addIssue({ code: 'custom', path: [name], message: `give ${name} or ${name}Path, not both` });
      if (required && given === 0)
        ctx.addIssue({ code: 'custom', path: [name], message: `${name} or ${name}Path is required` });
    }
  });

/** How to reach a Temporal service: a self-hosted cluster, Temporal Cloud or the local dev server. */
export const temporalConnectionSchema = z.strictObject({
  address: z.string().min(1).default('localhost:7233'),
  namespace: z.string().min(1).default('default'),
  /** API key (Temporal Cloud); implies TLS. */
  apiKey: z.string().min(1).optional(),
  /**
   * `true` for server-verified TLS, or a client certificate (mTLS): each of the certificate, its key and
   * the server's CA as a file path (`…Path`) or as PEM text (e.g. from a secret store), not both.
   */
  tls: z.union([z.boolean(), mtlsSchema]).optional(),
});
export type TemporalConnectionConfig = z.input<typeof temporalConnectionSchema>;

/** What the SDK's client and worker connections take, plus the namespace to use on them. */
export interface ResolvedConnection {
  namespace: string;
  options: Pick<NativeConnectionOptions, 'address' | 'tls' | 'apiKey' | 'metadata'>;
}

/**
 * Resolves where Temporal is into connection options: the one place they are built. `'env'` reads
 * Temporal's environment configuration: the profile `TEMPORAL_PROFILE` (default `default`) of the TOML
 * file `TEMPORAL_CONFIG_FILE` (default `~/.config/temporalio/temporal.toml`), overridden by the standard
 * `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY` and `TEMPORAL_TLS*` variables.
 */
export function resolveConnection(
  target: TemporalConnectionConfig | 'env',
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConnection {
  if (target !== 'env') {
    const config = temporalConnectionSchema.parse(target);
    return { namespace: config.namespace, options: explicitOptions(config) };
  }
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    const vars = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined);
    loaded = loadClientConnectConfig({ overrideEnvVars: Object.fromEntries(vars) });
  } catch (err) {
    throw new ConfigurationError(`Temporal environment configuration: ${(err as Error).message}`);
  }
  const { address, tls, apiKey, metadata } = loaded.connectionOptions;
  return {
    namespace: loaded.namespace ?? 'default',
    options: {
      address: address ?? 'localhost:7233',
      ...(tls !== undefined ? { tls } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
    },
  };
}

const pemOrFile = (text: string | undefined, path: string | undefined): Buffer | undefined =>
  text !== undefined ? Buffer.from(text) : path !== undefined ? readFileSync(path) : undefined;

function explicitOptions(config: z.output<typeof temporalConnectionSchema>): ResolvedConnection['options'] {
  const tls = config.tls;
  return {
    address: config.address,
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    ...(tls === true || (config.apiKey && tls === undefined) ? { tls: true } : {}),
    ...(typeof tls === 'object'
      ? {
          tls: {
            clientCertPair: {
              crt: pemOrFile(tls.clientCert, tls.clientCertPath)!,
              key: pemOrFile(tls.clientKey, tls.clientKeyPath)!,
            },
            ...(tls.serverRootCACert || tls.serverRootCACertPath
              ? { serverRootCACertificate: pemOrFile(tls.serverRootCACert, tls.serverRootCACertPath) }
              : {}),
            ...(tls.serverNameOverride ? { serverNameOverride: tls.serverNameOverride } : {}),
          },
        }
      : {}),
  };
}

const resolved = (target: ResolvedConnection | TemporalConnectionConfig): ResolvedConnection =>
  'options' in target ? target : resolveConnection(target);

/**
 * Opens a client connection; a clear error when the service does not answer. With `timeoutMs`, every
 * request on it is bounded (see `temporalCallBounds`) and the namespace is checked now: missing, it is
 * a configuration error; later, "namespace not found" is reported as Temporal being unavailable.
 */
export async function connectClient(
  target: ResolvedConnection | TemporalConnectionConfig,
  timeoutMs?: number,
): Promise<Connection> {
  const { namespace, options } = resolved(target);
  const bounds = timeoutMs === undefined ? undefined : temporalCallBounds(timeoutMs);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...options,
      connectTimeout: timeoutMs ?? DEFAULT_TEMPORAL_TIMEOUT_MS,
      ...(bounds ? { interceptors: bounds.interceptors } : {}),
    });
  } catch (err) {
    throw new TemporalUnavailableError(
      `Cannot reach Temporal at ${options.address}: ${(err as Error).message}`,
    );
  }
  if (!bounds) return connection;
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    await connection.close();
    if ((err as { code?: number }).code !== grpcStatus.NOT_FOUND) {
      throw temporalUnavailable(err) ?? err;
    }
    throw new ConfigurationError(
      `Namespace "${namespace}" is not found at ${options.address}: create it, or name an existing one ` +
        `(if it exists, Temporal cannot read its persistence)`,
    );
  }
  bounds.namespaceConfirmed();
  return connection;
}

/** Opens a worker connection; a clear error when the service does not answer. */
export async function connectWorker(
  target: ResolvedConnection | TemporalConnectionConfig,
): Promise<NativeConnection> {
  const { options } = resolved(target);
  try {
    return await NativeConnection.connect(options);
  } catch (err) {
    throw new TemporalUnavailableError(
      `Cannot reach Temporal at ${options.address}: ${(err as Error).message}`,
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
