/**
 * The test suites run against the dev server, or against the local cluster (`npm run cluster`) when
 * AEGISPAY_TEST_CLUSTER names its state directory (test/cluster/run.ts sets it): then the "server" of a
 * test file is the cluster's frontend, reached with the cluster's client certificate.
 */
import type { TemporalConnectionConfig } from '../../src/temporal/connection';
import type { DevServer } from '../../src/toolchain/dev-server';
import { loadDevServerSettings } from '../../src/toolchain/dev-server';
import { clusterConnection } from '../../scripts/cluster/namespace';
import { readState, uiUrl, type ClusterState } from '../../scripts/cluster/state';

/** The cluster the suites run against, if any. */
export function clusterUnderTest(): ClusterState | undefined {
  const dir = process.env.AEGISPAY_TEST_CLUSTER;
  if (!dir) return undefined;
  const state = readState(dir);
  if (!state) throw new Error(`AEGISPAY_TEST_CLUSTER=${dir} holds no cluster: run \`npm run cluster -- up\``);
  return state;
}

/** A test server with the connection settings (TLS included) that reach it. */
export type TestServer = DevServer & { connection: TemporalConnectionConfig };

/** The cluster as a test server: it outlives the test file, so `stop` leaves it running. */
export function clusterTestServer(state: ClusterState): TestServer {
  const connection = clusterConnection(state);
  return {
    address: connection.address!,
    namespace: connection.namespace!,
    uiUrl: uiUrl(state),
    settings: { ...loadDevServerSettings(), namespace: state.namespace },
    exited: new Promise<never>(() => undefined),
    stop: async () => undefined,
    connection,
  };
}

/** How to connect to `server`: its own settings for the cluster, address and namespace for a dev server. */
export function connectionOf(server: DevServer): TemporalConnectionConfig {
  return 'connection' in server
    ? (server as TestServer).connection
    : { address: server.address, namespace: server.namespace };
}

/** `temporal` CLI flags that reach `server` (address, namespace and, on the cluster, the client certificate). */
export function temporalCliArgs(server: DevServer): string[] {
  const { address, namespace, tls } = connectionOf(server);
  const args = ['--address', address!, '--namespace', namespace!];
  if (typeof tls !== 'object') return args;
  return [
    ...args,
    ...['--tls-cert-path', tls.clientCertPath!, '--tls-key-path', tls.clientKeyPath!],
    ...['--tls-ca-path', tls.serverRootCACertPath!, '--tls-server-name', tls.serverNameOverride!],
  ];
}
