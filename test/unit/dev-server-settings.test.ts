import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ValidationError } from '../../src/domain/errors';
import { loadDevServerSettings } from '../../src/toolchain/dev-server';
import { findProjectRoot } from '../../src/toolchain/temporal-binaries';

function settingsFile(dynamicConfig: string): string {
  const file = join(mkdtempSync(join(os.tmpdir(), 'aegispay-settings-')), 'temporal-dev.yml');
  writeFileSync(
    file,
    ['x-aegispay:', '  namespace: default', '  ip: 127.0.0.1', "  grpcPort: '0'", "  uiPort: '0'"]
      .concat(['  logLevel: warn', dynamicConfig])
      .join('\n'),
  );
  return file;
}

describe('dev server dynamic config', () => {
  it('temporal-dev.yml raises the transfer queue’s read rate, and the Compose service passes the same values', () => {
    const { dynamicConfig } = loadDevServerSettings();
    expect(Number(dynamicConfig['history.transferProcessorMaxPollRPS'])).toBeGreaterThanOrEqual(200);
    const doc = parse(readFileSync(join(findProjectRoot(), 'temporal-dev.yml'), 'utf8')) as {
      services: { temporal: { command: string[] } };
    };
    const command = doc.services.temporal.command;
    const passed = command.flatMap((arg, i) => (arg === '--dynamic-config-value' ? [command[i + 1]!] : []));
    expect(passed.sort()).toEqual(
      Object.entries(dynamicConfig)
        .map(([k, v]) => `${k}=${v}`)
        .sort(),
    );
  });

  it('reads KEY=VALUE entries and refuses any other shape, naming it', () => {
    const file = settingsFile('  dynamicConfig:\n    - matching.numTaskqueueReadPartitions=1');
    expect(loadDevServerSettings(file).dynamicConfig).toEqual({ 'matching.numTaskqueueReadPartitions': '1' });
    const bad = settingsFile("  dynamicConfig:\n    - 'no value here'");
    expect(() => loadDevServerSettings(bad)).toThrow(ValidationError);
    expect(() => loadDevServerSettings(bad)).toThrow(
      new RegExp(`dynamicConfig\\.0 in ${bad}: "no value here" is not KEY=VALUE`),
    );
  });
});

describe('dev server SQLite pragmas', () => {
  it('temporal-dev.yml keeps a write-ahead log with full sync, and the Compose service passes the same pragmas', () => {
    const { sqlitePragmas } = loadDevServerSettings();
    expect(sqlitePragmas).toEqual({ journal_mode: 'wal' });
    const doc = parse(readFileSync(join(findProjectRoot(), 'temporal-dev.yml'), 'utf8')) as {
      services: { temporal: { command: string[] } };
    };
    const command = doc.services.temporal.command;
    const passed = command.flatMap((arg, i) => (arg === '--sqlite-pragma' ? [command[i + 1]!] : []));
    expect(passed).toEqual(['journal_mode=wal']);
  });

  it('refuses a pragma that is not KEY=VALUE, naming it', () => {
    const bad = settingsFile("  sqlitePragmas:\n    - 'wal'");
    expect(() => loadDevServerSettings(bad)).toThrow(
      new RegExp(`sqlitePragmas\\.0 in ${bad}: "wal" is not KEY=VALUE`),
    );
  });
});

describe('dev server settings from the environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['AEGISPAY_TEMPORAL_PORT', 'AEGISPAY_TEMPORAL_DB_FILE', 'AEGISPAY_CODEC_ENDPOINT'])
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
  });

  it('overrides the file: ports, an empty database file for memory, the codec endpoint', () => {
    const file = settingsFile('  dbFile: .temporal/dev.db');
    expect(loadDevServerSettings(file)).toMatchObject({ port: 0, uiPort: 0 });
    expect(loadDevServerSettings(file).dbFile).toMatch(/\.temporal\/dev\.db$/);
    Object.assign(process.env, {
      AEGISPAY_TEMPORAL_PORT: '7999',
      AEGISPAY_TEMPORAL_DB_FILE: '',
      AEGISPAY_CODEC_ENDPOINT: 'http://127.0.0.1:8888/token',
    });
    expect(loadDevServerSettings(file)).toMatchObject({
      port: 7999,
      dbFile: undefined,
      codecEndpoint: 'http://127.0.0.1:8888/token',
    });
  });

  it('names a bad variable and a bad field of the file together', () => {
    const file = settingsFile("  searchAttributes:\n    - 'AegisPayState'");
    process.env.AEGISPAY_TEMPORAL_PORT = 'seven';
    expect(() => loadDevServerSettings(file)).toThrow(
      new RegExp(
        `AEGISPAY_TEMPORAL_PORT: .*; searchAttributes\\.0 in ${file}: "AegisPayState" is not Name=Type`,
      ),
    );
  });
});
