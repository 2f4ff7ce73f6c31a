/**
 * The chaos run's faults on the local cluster (`npm run cluster`): a Temporal service SIGKILLed and
 * started again by its PID, and the cluster's PostgreSQL (Temporal's persistence and the payment store
 * alike) stopped without a checkpoint and started again. Whatever died with the database is restarted as
 * a process supervisor would.
 */
import { binaryPaths } from '../../scripts/cluster/binaries';
import { startPostgres, stopPostgres } from '../../scripts/cluster/database';
import { processStatus } from '../../scripts/cluster/cluster';
import { startService, stopService } from '../../scripts/cluster/services';
import { createDatabaseIfMissing, postgresUrl } from '../../src/toolchain/postgres';
import { TEMPORAL_SERVICES, type ClusterState, type TemporalService } from '../../scripts/cluster/state';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs `service`, leaves it down for `downMs`, starts it again; resolves once it listens. */
export async function crashService(
  state: ClusterState,
  service: TemporalService,
  downMs: number,
): Promise<void> {
  await stopService(state, service, 'SIGKILL');
  await sleep(downMs);
  await startService(binaryPaths(), state, service);
}

/** Stops PostgreSQL abruptly for `downMs`, starts it again; returns the services that had to be restarted. */
export async function databaseOutage(state: ClusterState, downMs: number): Promise<TemporalService[]> {
  await stopPostgres(state, 'immediate');
  await sleep(downMs);
  await startPostgres(state);
  const running = processStatus(state);
  const died = TEMPORAL_SERVICES.filter((service) => !running[service]);
  for (const service of ['history', 'matching', 'frontend', 'worker'] as const) {
    if (died.includes(service)) await startService(binaryPaths(), state, service);
  }
  return died;
}

/** A fresh database for the run's payment store on the cluster's PostgreSQL server; returns its URL. */
export async function clusterStoreDatabase(state: ClusterState): Promise<string> {
  const name = `aegispay_chaos_${Date.now().toString(36)}`;
  await createDatabaseIfMissing(postgresUrl(state.postgres.port), name);
  return postgresUrl(state.postgres.port, name);
}
