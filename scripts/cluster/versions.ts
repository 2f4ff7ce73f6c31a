/**
 * The one place the local cluster's versions and build locations are pinned. Binaries are built once
 * with the installed Go into a per-user cache keyed by version, so every clone on a machine shares them.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export const TEMPORAL_SERVER_VERSION = '1.29.1';
export const TEMPORAL_UI_SERVER_VERSION = '2.54.1';

export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2';

/** Where built binaries live: `AEGISPAY_CLUSTER_CACHE`, else `$XDG_CACHE_HOME` or `~/.cache`, `/aegispay/cluster`. */
export function clusterCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AEGISPAY_CLUSTER_CACHE) return env.AEGISPAY_CLUSTER_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'aegispay', 'cluster');
}

/** The Temporal server build: `bin/temporal-server`, `bin/temporal-sql-tool`, and the PostgreSQL schemas. */
export const temporalServerDir = (root = clusterCacheRoot()) =>
  join(root, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
/** The Web UI server build: `bin/server`. */
export const uiServerDir = (root = clusterCacheRoot()) =>
  join(root, `ui-server-${TEMPORAL_UI_SERVER_VERSION}`);

/** The Go toolchain: `AEGISPAY_GO`, else `go` on PATH, else the usual install location. */
export const GO_CANDIDATES = (env: NodeJS.ProcessEnv = process.env) =>
  [env.AEGISPAY_GO, 'go', '/usr/local/go/bin/go'].filter((g): g is string => !!g);
