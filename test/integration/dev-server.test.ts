import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ConfigurationError } from '../../src/domain/errors';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';
import { startDevServer, type DevServer } from '../../src/toolchain/dev-server';
import { findProjectRoot, findTemporalCli } from '../../src/toolchain/temporal-binaries';

const SEARCH_ATTRIBUTES = PAYMENT_SEARCH_ATTRIBUTES.map((key) => key.name);

describe('Temporal dev server', () => {
  let dir: string;
  let dbFile: string;
  let server: DevServer | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aegispay-dev-server-'));
    dbFile = join(dir, 'nested', 'dev.db'); // nested: startDevServer must create the folder
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function withClient<T>(
    s: DevServer,
    fn: (client: Client, connection: Connection) => Promise<T>,
  ): Promise<T> {
    const connection = await Connection.connect({ address: s.address });
    try {
      return await fn(new Client({ connection, namespace: s.namespace }), connection);
    } finally {
      await connection.close();
    }
  }

  it('starts on a free port with the AegisPay search attributes and a db file', async () => {
    server = await startDevServer({ port: 0, dbFile });
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.uiUrl).not.toContain(`:${server.address.split(':')[1]}`);

    await withClient(server, async (_client, connection) => {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: server!.namespace,
      });
      expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(SEARCH_ATTRIBUTES));
    });
    expect(existsSync(dbFile)).toBe(true);
  });

  it('keeps workflows across a restart on the same db file', async () => {
    server = await startDevServer({ port: 0, uiPort: false, dbFile });
    expect(server.uiUrl).toBe('');
    const workflowId = 'persist-check';
    await withClient(server, (client) =>
      client.workflow.start('nonexistentType', { taskQueue: 'x', workflowId }),
    );
    await server.stop();

    server = await startDevServer({ port: 0, uiPort: false, dbFile });
    const description = await withClient(server, (client) =>
      client.workflow.getHandle(workflowId).describe(),
    );
    expect(description.workflowId).toBe(workflowId);
    expect(description.type).toBe('nonexistentType');
    expect(description.status.name).toBe('RUNNING');
  });

  it('adds the search attributes a db file made with older settings lacks', async () => {
    const settings = readFileSync(join(findProjectRoot(), 'temporal-dev.yml'), 'utf8');
    const older = join(dir, 'older-temporal-dev.yml');
    writeFileSync(
      older,
      settings
        .replace(/^ *- &saRefunded .*\n/m, '')
        .replace(/^ *- --search-attribute\n *- \*saRefunded\n/m, ''),
    );
    const oldDb = join(dir, 'older.db');
    server = await startDevServer({ port: 0, uiPort: false, dbFile: oldDb, settingsFile: older });
    const names = async () =>
      withClient(server!, async (_client, connection) => {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({
          namespace: server!.namespace,
        });
        return Object.keys(customAttributes ?? {});
      });
    expect(await names()).not.toContain('AegisPayRefunded');
    await server.stop();

    server = await startDevServer({ port: 0, uiPort: false, dbFile: oldDb });
    expect(await names()).toEqual(expect.arrayContaining(SEARCH_ATTRIBUTES));
    // temporal-dev.yml's journal_mode=wal reached SQLite: its write-ahead log sits beside the file.
    expect(existsSync(`${oldDb}-wal`)).toBe(true);
  });
});

describe('findTemporalCli', () => {
  const saved = process.env.AEGISPAY_TEMPORAL_BIN;
  afterEach(() => {
    if (saved === undefined) delete process.env.AEGISPAY_TEMPORAL_BIN;
    else process.env.AEGISPAY_TEMPORAL_BIN = saved;
  });

  it('honours AEGISPAY_TEMPORAL_BIN', () => {
    delete process.env.AEGISPAY_TEMPORAL_BIN;
    const real = findTemporalCli();
    process.env.AEGISPAY_TEMPORAL_BIN = real;
    expect(findTemporalCli()).toBe(real);
  });

  it('throws a helpful ConfigurationError when AEGISPAY_TEMPORAL_BIN points to a missing file', () => {
    process.env.AEGISPAY_TEMPORAL_BIN = '/nonexistent/temporal';
    expect(() => findTemporalCli()).toThrow(ConfigurationError);
    expect(() => findTemporalCli()).toThrow(
      /AEGISPAY_TEMPORAL_BIN=\/nonexistent\/temporal does not exist.*npm run setup/,
    );
  });
});

describe('npm run temporal -- <args>', () => {
  const script = join(findProjectRoot(), 'scripts', 'temporal-dev.ts');
  const tsx = join(findProjectRoot(), 'node_modules', '.bin', 'tsx');

  it('runs the pinned Temporal CLI with the arguments, not the dev server', () => {
    const out = execFileSync(tsx, [script, '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(out).toMatch(/^temporal version /);
    expect(out).toBe(execFileSync(findTemporalCli(), ['--version'], { encoding: 'utf8' }));
  }, 60_000);

  it("passes the CLI's exit code on", () => {
    const run = spawnSync(tsx, [script, 'no-such-command'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr + run.stdout).toMatch(/unknown command/i);
  }, 60_000);
});
