/**
 * The Temporal server's configuration, written into `<stateDir>/config`: `base.yaml` for what the four
 * services share (persistence, ports, TLS) and `<service>.yaml` overlays (the server loads base, then
 * the file named by `--env`) for what must differ between processes: the metrics listener.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TEMPORAL_SERVICES, type ClusterCerts, type ClusterState, type ServicePorts } from './state';

export const TEMPORAL_DATABASE = 'temporal';
export const VISIBILITY_DATABASE = 'temporal_visibility';
export const HISTORY_SHARDS = 4;

function sqlStore(state: ClusterState, databaseName: string, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${state.postgres.port}`,
      connectProtocol: 'tcp',
      user: state.postgres.superuser,
      password: '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/** Mutual TLS everywhere: clients and peers must present a certificate issued by the cluster's CA. */
function tlsConfig(certs: ClusterCerts) {
  const server = {
    certFile: certs.serverCert,
    keyFile: certs.serverKey,
    requireClientAuth: true,
    clientCaFiles: [certs.caCert],
  };
  const client = { serverName: certs.serverName, rootCaFiles: [certs.caCert] };
  return {
    internode: { server, client },
    frontend: { server, client },
    systemWorker: { certFile: certs.clientCert, keyFile: certs.clientKey, client },
  };
}

function rpc(ports: ServicePorts) {
  return {
    rpc: {
      grpcPort: ports.grpc,
      membershipPort: ports.membership,
      bindOnLocalHost: true,
      ...(ports.http ? { httpPort: ports.http } : {}),
    },
  };
}

export function baseConfig(state: ClusterState, dynamicConfigFile: string) {
  const frontend = `127.0.0.1:${state.services.frontend.grpc}`;
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: HISTORY_SHARDS,
      datastores: {
        default: sqlStore(state, TEMPORAL_DATABASE, 20),
        visibility: sqlStore(state, VISIBILITY_DATABASE, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      ...(state.tls ? { tls: tlsConfig(state.tls) } : {}),
    },
    services: Object.fromEntries(TEMPORAL_SERVICES.map((s) => [s, rpc(state.services[s])])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontend },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Writes base.yaml, one overlay per service and the dynamic config; returns the config directory. */
export function writeServerConfig(state: ClusterState): string {
  const dir = join(state.stateDir, 'config');
  mkdirSync(dir, { recursive: true });
  const dynamicConfig = join(dir, 'dynamicconfig.yaml');
  // Dynamic settings (changed without a restart, re-read every 10 s): the defaults, to start with.
  writeFileSync(dynamicConfig, '{}\n');
  writeFileSync(join(dir, 'base.yaml'), stringify(baseConfig(state, dynamicConfig)));
  for (const service of TEMPORAL_SERVICES) {
    const metrics = {
      prometheus: { framework: 'tally', listenAddress: `127.0.0.1:${state.services[service].metrics}` },
    };
    writeFileSync(join(dir, `${service}.yaml`), stringify({ global: { metrics } }));
  }
  return dir;
}
