/**
 * The namespace AegisPay runs in, with its retention and AegisPay's search attributes (with SQL
 * visibility they belong to a namespace). A just-started frontend, and a just-registered namespace, need
 * a few retries before they answer, so every step here retries until a deadline.
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import {
  connectClient,
  ensureSearchAttributes,
  type TemporalConnectionConfig,
} from '../../src/temporal/connection';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';
import { frontendAddress, type ClusterState } from './state';

/** How AegisPay (and anything else) connects to this cluster: its frontend, namespace and client certificate. */
export function clusterConnection(state: ClusterState): TemporalConnectionConfig {
  const tls = state.tls;
  return {
    address: frontendAddress(state),
    namespace: state.namespace,
    ...(tls
      ? {
          tls: {
            clientCertPath: tls.clientCert,
            clientKeyPath: tls.clientKey,
            serverRootCACertPath: tls.caCert,
            serverNameOverride: tls.serverName,
          },
        }
      : {}),
  };
}

/** Runs `step` until it resolves, retrying every 500 ms; rethrows its last error after `timeoutMs`. */
export async function retrying<T>(what: string, step: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function registerNamespace(connection: Connection, state: ClusterState): Promise<void> {
  const service = connection.workflowService;
  try {
    await service.describeNamespace({ namespace: state.namespace });
    return;
  } catch {
    // not registered yet
  }
  await service
    .registerNamespace({
      namespace: state.namespace,
      description: 'AegisPay payments',
      workflowExecutionRetentionPeriod: msToTs(`${state.retentionDays} days`),
    })
    .catch((err: Error & { code?: number }) => {
      if (err.code !== 6) throw err; // ALREADY_EXISTS: a previous attempt got through
    });
}

/** Registers the namespace and its search attributes; resolves once both are usable. */
export async function setUpNamespace(state: ClusterState): Promise<void> {
  const connection = await retrying('Temporal frontend', () => connectClient(clusterConnection(state)));
  try {
    await retrying('frontend ready', () => connection.workflowService.getSystemInfo({}));
    await retrying('register namespace', () => registerNamespace(connection, state));
    await retrying('namespace usable', () =>
      connection.workflowService.describeNamespace({ namespace: state.namespace }),
    );
    await retrying('search attributes', () => ensureSearchAttributes(connection, state.namespace));
    await retrying('search attributes usable', async () => {
      const names = PAYMENT_SEARCH_ATTRIBUTES.map((key) => key.name);
      await connection.workflowService.countWorkflowExecutions({
        namespace: state.namespace,
        query: names.map((name) => `${name} IS NOT NULL`).join(' OR '),
      });
    });
  } finally {
    await connection.close();
  }
}
