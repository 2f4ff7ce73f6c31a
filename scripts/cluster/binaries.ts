/**
 * Builds the pinned Temporal server, its SQL tool and the Web UI server with the installed Go (from the
 * Go module proxy) into the per-user cache, once: a later call, from any clone, finds them there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  GO_CANDIDATES,
  TEMPORAL_SERVER_MODULE,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_SERVER_MODULE,
  TEMPORAL_UI_SERVER_VERSION,
  temporalServerDir,
  uiServerDir,
} from './versions';

export interface ClusterBinaries {
  temporalServer: string;
  sqlTool: string;
  uiServer: string;
  /** `schema/postgresql/v12` of the server module: `temporal/versioned` and `visibility/versioned`. */
  schemaDir: string;
}

export function binaryPaths(): ClusterBinaries {
  const server = temporalServerDir();
  return {
    temporalServer: join(server, 'bin', 'temporal-server'),
    sqlTool: join(server, 'bin', 'temporal-sql-tool'),
    uiServer: join(uiServerDir(), 'bin', 'server'),
    schemaDir: join(server, 'schema', 'postgresql', 'v12'),
  };
}

function findGo(): string {
  for (const go of GO_CANDIDATES()) {
    if (spawnSync(go, ['version'], { stdio: 'ignore' }).status === 0) return go;
  }
  throw new Error(
    'Go is needed to build the cluster binaries: install it or set AEGISPAY_GO to the go binary',
  );
}

/** `go install pkg@version` into `gobin`, logging what it runs; module-mode so no go.mod is needed. */
function goInstall(go: string, gobin: string, pkg: string, log: (line: string) => void): void {
  log(`go install ${pkg}`);
  execFileSync(go, ['install', pkg], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
  });
}

/** Builds into `<dir>.partial` and renames it into place, so an interrupted build leaves no half cache. */
function buildInto(dir: string, build: (partial: string) => void): void {
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(join(partial, 'bin'), { recursive: true });
  try {
    build(partial);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

function buildTemporalServer(go: string, log: (line: string) => void): void {
  const v = `v${TEMPORAL_SERVER_VERSION}`;
  buildInto(temporalServerDir(), (partial) => {
    const bin = join(partial, 'bin');
    goInstall(go, bin, `${TEMPORAL_SERVER_MODULE}/cmd/server@${v}`, log);
    renameSync(join(bin, 'server'), join(bin, 'temporal-server'));
    goInstall(go, bin, `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql@${v}`, log);
    renameSync(join(bin, 'sql'), join(bin, 'temporal-sql-tool'));
    const modCache = execFileSync(go, ['env', 'GOMODCACHE']).toString().trim();
    const schema = join('schema', 'postgresql', 'v12');
    cpSync(join(modCache, `${TEMPORAL_SERVER_MODULE}@${v}`, schema), join(partial, schema), {
      recursive: true,
    });
  });
}

function buildUiServer(go: string, log: (line: string) => void): void {
  buildInto(uiServerDir(), (partial) =>
    goInstall(
      go,
      join(partial, 'bin'),
      `${TEMPORAL_UI_SERVER_MODULE}/cmd/server@v${TEMPORAL_UI_SERVER_VERSION}`,
      log,
    ),
  );
}

/** The binaries, built first if the cache lacks them. */
export function ensureBinaries(log: (line: string) => void = console.log): ClusterBinaries {
  const paths = binaryPaths();
  const serverReady = [paths.temporalServer, paths.sqlTool, paths.schemaDir].every((p) => existsSync(p));
  const uiReady = existsSync(paths.uiServer);
  if (serverReady && uiReady) return paths;
  const go = findGo();
  const started = Date.now();
  if (!serverReady) buildTemporalServer(go, log);
  if (!uiReady) buildUiServer(go, log);
  log(
    `built the cluster binaries in ${((Date.now() - started) / 1000).toFixed(0)} s into ${temporalServerDir()} and ${uiServerDir()}`,
  );
  return paths;
}
