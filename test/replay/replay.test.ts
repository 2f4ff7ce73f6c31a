import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type ReplayResult, type WorkflowBundle } from '@temporalio/worker';
import { luhnValid } from '../../src/domain/cards';
import { paymentMetricsSinks } from '../../src/metrics';

/**
 * Payments live for weeks: a worker running new workflow code must replay the histories of payments
 * started by the code before it. Every history under histories/<version>/ (recorded with
 * `npm run record-histories -- <version>`, see docs/versioning.md) is replayed against the current
 * workflow code; a non-determinism error names the fixture it came from.
 */
const HISTORIES = join(__dirname, 'histories');

/** `v1/success-mock`, … for every `histories/<version>/<path>.json`. */
const fixtures = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.json'))
  .map((file) => relative(HISTORIES, join(HISTORIES, file)).replace(/\.json$/, ''))
  .sort();

const histories = new Map<string, History>(
  fixtures.map((name) => [name, historyFromJSON(JSON.parse(readFileSync(fixtureFile(name), 'utf8')))]),
);

/**
 * The workflow ID a history ran under: the payment ID in its input (the workflow checks that they agree,
 * so replaying under another ID would not be the same run).
 */
function workflowIdOf(name: string): string {
  const started = histories.get(name)!.events?.[0]?.workflowExecutionStartedEventAttributes;
  const data = started?.input?.payloads?.[0]?.data;
  const input = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { payment?: { id?: string } }) : {};
  return input.payment?.id ?? name;
}

function fixtureFile(name: string): string {
  return join(HISTORIES, `${name}.json`);
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

describe('replay of recorded payment histories against the current workflow code', () => {
  const results = new Map<string, ReplayResult>();

  beforeAll(async () => {
    // The bundle and sinks the real worker runs with (src/worker.ts): the workflows module, without the
    // encoded failure converter or tracing interceptors, as the fixtures were recorded without them.
    const workflowBundle: WorkflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      logger: quietBundlerLogger,
    });
    const replays = Worker.runReplayHistories(
      { workflowBundle, sinks: paymentMetricsSinks() },
      fixtures.map((name) => ({ workflowId: workflowIdOf(name), history: histories.get(name)! })),
    );
    const names = new Map(fixtures.map((name) => [workflowIdOf(name), name]));
    for await (const result of replays) results.set(names.get(result.workflowId)!, result);
  }, 180_000);

  test('there are fixtures of the released code to replay', () => {
    expect(fixtures.filter((name) => name.startsWith('v1/')).length).toBeGreaterThanOrEqual(15);
  });

  test.each(fixtures)('%s replays without non-determinism', (name) => {
    const result = results.get(name);
    if (!result) throw new Error(`${name}: the replayer returned no result`);
    if (result.error) {
      const { name: kind, message } = result.error as Error;
      throw new Error(`${name} (${fixtureFile(name)}) does not replay: ${kind}: ${message}`);
    }
  });

  test.each(fixtures)('%s holds no card number (payloads decoded)', (name) => {
    expect(cardNumbersIn(histories.get(name)!)).toEqual([]);
  });
});

/** Luhn-valid runs of 13-19 digits standing alone (not inside a hex hash) in any payload's data. */
function cardNumbersIn(history: History): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (value instanceof Uint8Array) {
      const text = Buffer.from(value).toString('utf8');
      found.push(...(text.match(/(?<![0-9A-Za-z])\d{13,19}(?![0-9A-Za-z])/g) ?? []).filter(luhnValid));
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(history);
  return found;
}
