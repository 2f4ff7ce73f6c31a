/**
 * Temporal's four services as separate processes of the pinned server binary (each with its own
 * config overlay), and the Web UI server pointed at the frontend.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterBinaries } from './binaries';
import { isRunning, spawnDetached, stopPid } from './processes';
import { frontendAddress, writeState, type ClusterState, type TemporalService } from './state';

const logFile = (state: ClusterState, name: string) => join(state.stateDir, 'logs', `${name}.log`);

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; throws after `timeoutMs` or once `gone()`. */
export async function waitForPort(
  port: number,
  gone: () => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (gone()) throw new Error(`${what} exited before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts one Temporal service (unless it runs), records its PID and waits for its gRPC port. */
export async function startService(
  binaries: ClusterBinaries,
  state: ClusterState,
  service: TemporalService,
): Promise<void> {
  if (isRunning(state.pids[service], binaries.temporalServer)) return;
  const args = ['--root', state.stateDir, '--config', 'config', '--env', service, '--allow-no-auth'];
  const pid = spawnDetached(
    binaries.temporalServer,
    [...args, 'start', '--service', service],
    logFile(state, service),
  );
  state.pids[service] = pid;
  state.commands[service] = binaries.temporalServer;
  writeState(state);
  const log = logFile(state, service);
  // The worker service serves no gRPC; it is up once it has joined the membership ring.
  const ports = state.services[service];
  const port = service === 'worker' ? ports.membership : ports.grpc;
  await waitForPort(port, () => !isRunning(pid), `Temporal ${service} (see ${log})`);
}

/** Stops a service by its PID: SIGTERM (graceful), or SIGKILL as a crash. */
export async function stopService(
  state: ClusterState,
  service: TemporalService | 'ui',
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  await stopPid(state.pids[service], state.commands[service], signal, 15_000);
  delete state.pids[service];
  writeState(state);
}

/** The Web UI server's config (`<stateDir>/ui/config/cluster.yaml`): the frontend, with mTLS when the cluster has it. */
function writeUiConfig(state: ClusterState): string {
  const root = join(state.stateDir, 'ui');
  const tls = state.tls;
  const config = {
    temporalGrpcAddress: frontendAddress(state),
    host: '127.0.0.1',
    port: state.uiPort,
    enableUi: true,
    defaultNamespace: state.namespace,
    ...(tls
      ? {
          tls: {
            caFile: tls.caCert,
            certFile: tls.clientCert,
            keyFile: tls.clientKey,
            serverName: tls.serverName,
            enableHostVerification: true,
          },
        }
      : {}),
  };
  writeFileSync(join(root, 'config', 'cluster.yaml'), stringify(config));
  return root;
}

export async function startUi(binaries: ClusterBinaries, state: ClusterState): Promise<void> {
  if (isRunning(state.pids.ui, binaries.uiServer)) return;
  const root = writeUiConfig(state);
  const pid = spawnDetached(
    binaries.uiServer,
    ['--root', root, '--env', 'cluster', 'start'],
    logFile(state, 'ui'),
  );
  state.pids.ui = pid;
  state.commands.ui = binaries.uiServer;
  writeState(state);
  await waitForPort(state.uiPort, () => !isRunning(pid), `Web UI server (see ${logFile(state, 'ui')})`);
}
