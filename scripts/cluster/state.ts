/**
 * The cluster's state file: the ports chosen at `up`, the PIDs of its processes and where its certificates
 * are. `status`, `down`, the tests and the benchmark read it; nothing else knows the cluster's ports.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProjectRoot } from '../../src/toolchain/temporal-binaries';

export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];
export type ClusterProcess = 'postgres' | TemporalService | 'ui';

export interface ServicePorts {
  grpc: number;
  membership: number;
  metrics: number;
  /** Only the frontend serves HTTP. */
  http?: number;
}

export interface ClusterCerts {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** The name the server certificate is issued for (clients verify it). */
  serverName: string;
}

export interface ClusterState {
  temporalVersion: string;
  stateDir: string;
  namespace: string;
  retentionDays: number;
  postgres: { port: number; dataDir: string; superuser: string };
  services: Record<TemporalService, ServicePorts>;
  uiPort: number;
  /** Present when the cluster runs with mTLS. */
  tls?: ClusterCerts;
  pids: Partial<Record<ClusterProcess, number>>;
  /** Command line of each process, to tell it from an unrelated process that later got the same PID. */
  commands: Partial<Record<ClusterProcess, string>>;
  /** Seconds `up` took, for the record. */
  startSeconds?: number;
}

/** The state directory: `AEGISPAY_CLUSTER_DIR`, else `.cluster` in the project root. */
export function clusterStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AEGISPAY_CLUSTER_DIR ?? join(findProjectRoot(), '.cluster');
}

export const stateFile = (stateDir: string) => join(stateDir, 'cluster.json');

export function readState(stateDir = clusterStateDir()): ClusterState | undefined {
  const file = stateFile(stateDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
}

/** Writes atomically: a reader never sees half a file. */
export function writeState(state: ClusterState): void {
  mkdirSync(state.stateDir, { recursive: true });
  const file = stateFile(state.stateDir);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${file}.tmp`, file);
}

export const frontendAddress = (state: ClusterState) => `127.0.0.1:${state.services.frontend.grpc}`;
export const uiUrl = (state: ClusterState) => `http://127.0.0.1:${state.uiPort}`;
export const postgresAddress = (state: ClusterState) => `127.0.0.1:${state.postgres.port}`;
