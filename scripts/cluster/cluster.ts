/**
 * `up`, `down` and `status` of the local production-shaped cluster. `up` is idempotent: with a state
 * file it starts only what is not running, on the ports recorded at the first `up`; `down` stops every
 * process by its recorded PID and removes the state directory.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PG_SUPERUSER } from '../../src/toolchain/postgres';
import { ensureBinaries, type ClusterBinaries } from './binaries';
import { generateCerts } from './certs';
import {
  initPostgres,
  migrateTemporalSchema,
  POSTGRES_COMMAND,
  startPostgres,
  stopPostgres,
} from './database';
import { clusterConnection, setUpNamespace } from './namespace';
import { freeMembershipPort, freePort } from './ports';
import { isRunning } from './processes';
import { writeServerConfig } from './server-config';
import { startService, startUi, stopService } from './services';
import {
  readState,
  TEMPORAL_SERVICES,
  writeState,
  type ClusterProcess,
  type ClusterState,
  type ServicePorts,
} from './state';
import { TEMPORAL_SERVER_VERSION } from './versions';

export const DEFAULT_NAMESPACE = 'aegispay';
export const DEFAULT_RETENTION_DAYS = 3;

export interface UpOptions {
  stateDir: string;
  tls: boolean;
  namespace?: string;
  retentionDays?: number;
  log?: (line: string) => void;
}

async function servicePorts(http: boolean): Promise<ServicePorts> {
  return {
    grpc: await freePort(),
    membership: await freeMembershipPort(),
    metrics: await freePort(),
    ...(http ? { http: await freePort() } : {}),
  };
}

/** A new cluster's state: every port a free loopback port chosen now, certificates when `tls`. */
async function newState(options: UpOptions): Promise<ClusterState> {
  const { stateDir } = options;
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  mkdirSync(join(stateDir, 'ui', 'config'), { recursive: true });
  const services = {} as ClusterState['services'];
  for (const service of TEMPORAL_SERVICES) services[service] = await servicePorts(service === 'frontend');
  const state: ClusterState = {
    temporalVersion: TEMPORAL_SERVER_VERSION,
    stateDir,
    namespace: options.namespace ?? DEFAULT_NAMESPACE,
    retentionDays: options.retentionDays ?? DEFAULT_RETENTION_DAYS,
    postgres: { port: await freePort(), dataDir: initPostgres(stateDir), superuser: PG_SUPERUSER },
    services,
    uiPort: await freePort(),
    ...(options.tls ? { tls: generateCerts(join(stateDir, 'certs')) } : {}),
    pids: {},
    commands: {},
  };
  writeState(state);
  return state;
}

/** Brings the cluster up (or the parts of it that are down); returns its state. */
export async function up(options: UpOptions): Promise<ClusterState> {
  const log = options.log ?? console.log;
  const started = Date.now();
  const binaries = ensureBinaries(log);
  const existing = readState(options.stateDir);
  if (existing && !!existing.tls !== options.tls) {
    throw new Error(
      `The cluster in ${options.stateDir} runs ${existing.tls ? 'with' : 'without'} mTLS: run \`down\` first to change that`,
    );
  }
  const state = existing ?? (await newState(options));
  writeServerConfig(state);
  await startPostgres(state);
  log(`PostgreSQL on 127.0.0.1:${state.postgres.port}`);
  await migrateTemporalSchema(binaries, state);
  await startTemporal(binaries, state, log);
  await setUpNamespace(state);
  await startUi(binaries, state);
  state.startSeconds = Math.round((Date.now() - started) / 100) / 10;
  writeState(state);
  writeEnvironmentFiles(state);
  log(`cluster up in ${state.startSeconds} s`);
  return state;
}

/** History first: on an empty database the first service to start writes the cluster metadata, and two racing fail. */
async function startTemporal(
  binaries: ClusterBinaries,
  state: ClusterState,
  log: (line: string) => void,
): Promise<void> {
  await startService(binaries, state, 'history');
  for (const service of ['matching', 'frontend', 'worker'] as const)
    await startService(binaries, state, service);
  log(
    `Temporal ${state.temporalVersion}: ${TEMPORAL_SERVICES.map((s) => `${s} :${state.services[s].grpc}`).join(', ')}`,
  );
}

/** Stops every process by its PID (the UI and the frontend first, PostgreSQL last) and removes the state directory. */
export async function down(stateDir: string, log: (line: string) => void = console.log): Promise<void> {
  const state = readState(stateDir);
  if (!state) {
    log(`no cluster in ${stateDir}`);
    return;
  }
  for (const name of ['ui', 'frontend', 'worker', 'matching', 'history'] as const)
    await stopService(state, name);
  await stopPostgres(state);
  rmSync(stateDir, { recursive: true, force: true });
  log(`cluster in ${stateDir} stopped and removed`);
}

/** Which processes of the cluster run, by name. */
export function processStatus(state: ClusterState): Record<ClusterProcess, boolean> {
  const names: ClusterProcess[] = ['postgres', ...TEMPORAL_SERVICES, 'ui'];
  return Object.fromEntries(
    names.map((name) => [
      name,
      isRunning(state.pids[name], name === 'postgres' ? POSTGRES_COMMAND : state.commands[name]),
    ]),
  ) as Record<ClusterProcess, boolean>;
}

/** Temporal's environment configuration for this cluster: a TOML profile and the equivalent variables. */
export function environmentVariables(state: ClusterState): Record<string, string> {
  const connection = clusterConnection(state);
  const tls = typeof connection.tls === 'object' ? connection.tls : undefined;
  return {
    TEMPORAL_ADDRESS: connection.address!,
    TEMPORAL_NAMESPACE: connection.namespace!,
    ...(tls
      ? {
          TEMPORAL_TLS_CLIENT_CERT_PATH: tls.clientCertPath,
          TEMPORAL_TLS_CLIENT_KEY_PATH: tls.clientKeyPath,
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.serverRootCACertPath!,
          TEMPORAL_TLS_SERVER_NAME: tls.serverNameOverride!,
        }
      : {}),
  };
}

/** Writes `<stateDir>/temporal.toml` (profile `default`) and `<stateDir>/env` (shell `export` lines). */
function writeEnvironmentFiles(state: ClusterState): void {
  const vars = environmentVariables(state);
  const quote = (v: string) => JSON.stringify(v);
  const toml = [
    '[profile.default]',
    `address = ${quote(vars.TEMPORAL_ADDRESS!)}`,
    `namespace = ${quote(vars.TEMPORAL_NAMESPACE!)}`,
    ...(state.tls
      ? [
          '',
          '[profile.default.tls]',
          `client_cert_path = ${quote(state.tls.clientCert)}`,
          `client_key_path = ${quote(state.tls.clientKey)}`,
          `server_ca_cert_path = ${quote(state.tls.caCert)}`,
          `server_name = ${quote(state.tls.serverName)}`,
        ]
      : []),
  ];
  writeFileSync(join(state.stateDir, 'temporal.toml'), toml.join('\n') + '\n');
  const exports = Object.entries(vars).map(([k, v]) => `export ${k}=${quote(v)}`);
  writeFileSync(join(state.stateDir, 'env'), exports.join('\n') + '\n');
}
