/**
 * `up`, `status` and `down` on a second cluster of its own (without TLS): `up` is idempotent and starts
 * only what is not running, on the recorded ports; `down` stops every process by its PID and removes
 * the state directory.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { down, processStatus, up } from '../../scripts/cluster/cluster';
import { isRunning } from '../../scripts/cluster/processes';
import { readState } from '../../scripts/cluster/state';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';

const stateDir = mkdtempSync(join(tmpdir(), 'aegispay-cluster-command-'));
const quiet = () => undefined;
afterAll(() => down(stateDir, quiet));

test('up twice changes nothing, up after a crash restarts only what died, down leaves no process', async () => {
  const first = await up({ stateDir, tls: false, log: quiet });
  expect(Object.values(processStatus(first)).every(Boolean)).toBe(true);
  const connection = await Connection.connect({ address: `127.0.0.1:${first.services.frontend.grpc}` });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: 'aegispay',
    });
    expect(Object.keys(customAttributes ?? {}).sort()).toEqual(
      PAYMENT_SEARCH_ATTRIBUTES.map((k) => k.name).sort(),
    );
    const { config } = await connection.workflowService.describeNamespace({ namespace: 'aegispay' });
    expect(Number(config?.workflowExecutionRetentionTtl?.seconds)).toBe(3 * 24 * 3600);
  } finally {
    await connection.close();
  }

  const again = await up({ stateDir, tls: false, log: quiet });
  expect(again.pids).toEqual(first.pids);
  expect(again.services).toEqual(first.services);

  process.kill(first.pids.matching!, 'SIGKILL');
  const repaired = await up({ stateDir, tls: false, log: quiet });
  expect(repaired.pids.matching).not.toBe(first.pids.matching);
  const { matching: _restarted, ...others } = repaired.pids;
  const { matching: _killed, ...before } = first.pids;
  expect(others).toEqual(before);
  expect(processStatus(readState(stateDir)!).matching).toBe(true);

  await down(stateDir, quiet);
  for (const [name, pid] of Object.entries(repaired.pids)) {
    expect({
      name,
      running: isRunning(pid, repaired.commands[name as keyof typeof repaired.commands]),
    }).toEqual({
      name,
      running: false,
    });
  }
  expect(existsSync(stateDir)).toBe(false);
}, 180_000);
