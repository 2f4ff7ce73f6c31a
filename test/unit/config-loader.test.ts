import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { loadSettings, type SettingsSection } from '../../src/config/loader';
import { validationIssues } from '../helpers/validation-issues';

const section = {
  key: 'demo',
  what: 'demo settings',
  schema: z.strictObject({
    name: z.string().min(1).default('plain').meta({ doc: 'A name.', env: 'DEMO_NAME' }),
    port: z.number().int().min(1).max(65_535).optional().meta({ doc: 'A port.', env: 'DEMO_PORT' }),
    verbose: z.boolean().default(false).meta({ doc: 'Talk more.', env: 'DEMO_VERBOSE' }),
    tags: z.array(z.string().min(2)).default([]).meta({ doc: 'Tags.', env: 'DEMO_TAGS' }),
    limits: z
      .strictObject({
        min: z.number().int().default(1).meta({ doc: 'Least.', env: 'DEMO_MIN' }),
        max: z.number().int().default(9).meta({ doc: 'Most.', env: 'DEMO_MAX' }),
      })
      .default({ min: 1, max: 9 }),
    rule: z
      .strictObject({ weight: z.number().min(0) })
      .optional()
      .meta({ doc: 'A JSON rule.', env: 'DEMO_RULE' }),
    required: z.string({ error: 'is required' }).meta({ doc: 'Must be given.', env: 'DEMO_REQUIRED' }),
  }),
} satisfies SettingsSection;

const dir = mkdtempSync(join(tmpdir(), 'aegispay-settings-'));
let files = 0;
function settingsFile(content: unknown): string {
  const file = join(dir, `settings-${files++}.json`);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('loadSettings', () => {
  test('code wins over the environment, the environment over the file, the file over the default', () => {
    const file = settingsFile({ demo: { name: 'from-file', port: 3000, verbose: true, required: 'f' } });
    const env = { DEMO_NAME: 'from-env', DEMO_PORT: '4000' };
    const settings = loadSettings(section, { code: { name: 'from-code' }, env, file });
    expect(settings).toMatchObject({ name: 'from-code', port: 4000, verbose: true, required: 'f' });
    expect(settings.tags).toEqual([]);
    expect(loadSettings(section, { env, file }).name).toBe('from-env');
    expect(loadSettings(section, { file }).name).toBe('from-file');
    expect(loadSettings(section, { code: { required: 'c' } }).name).toBe('plain');
  });

  test('a nested group merges field by field across the sources', () => {
    const file = settingsFile({ demo: { limits: { min: 2, max: 5 }, required: 'f' } });
    const settings = loadSettings(section, { env: { DEMO_MAX: '7' }, file });
    expect(settings.limits).toEqual({ min: 2, max: 7 });
    expect(
      loadSettings(section, { code: { limits: { min: 3 } }, env: { DEMO_MAX: '8' }, file }).limits,
    ).toEqual({
      min: 3,
      max: 8,
    });
  });

  test('variables are read as the field type: numbers, booleans, comma lists, JSON', () => {
    const settings = loadSettings(section, {
      env: { DEMO_REQUIRED: 'r', DEMO_VERBOSE: '1', DEMO_TAGS: 'ab, cd,,ef', DEMO_RULE: '{"weight":0.5}' },
    });
    expect(settings).toMatchObject({ verbose: true, tags: ['ab', 'cd', 'ef'], rule: { weight: 0.5 } });
  });

  test('variables the section does not declare are ignored, and empty ones count as unset', () => {
    const settings = loadSettings(section, {
      env: { DEMO_REQUIRED: 'r', DEMO_UNKNOWN: 'x', AEGISPAY_NOT_A_SETTING: '{', DEMO_NAME: '  ' },
    });
    expect(settings.name).toBe('plain');
    expect(Object.keys(settings)).not.toContain('DEMO_UNKNOWN');
  });

  test('every bad field is named at once, by the variable, the file or the code field that set it', () => {
    const file = settingsFile({ demo: { tags: ['x'], limits: { min: 'low' } } });
    const issues = validationIssues(() =>
      loadSettings(section, {
        code: { verbose: 'yes' },
        env: { DEMO_PORT: '70000', DEMO_MAX: 'many', DEMO_RULE: '{"weight":-1}', DEMO_NAME: 'ok' },
        file,
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'DEMO_MAX: must be a number',
        expect.stringMatching(/^DEMO_PORT: .*65535/),
        expect.stringMatching(/^DEMO_RULE\.weight: /),
        expect.stringMatching(/^verbose: .*boolean/),
        expect.stringMatching(new RegExp(`^tags\\.0 in ${file}: `)),
        expect.stringMatching(new RegExp(`^limits\\.min in ${file}: `)),
        'DEMO_REQUIRED: is required',
      ]),
    );
    expect(issues).toHaveLength(7);
  });

  test('unreadable variables are named: a non-number, a non-boolean, JSON that does not parse', () => {
    const issues = validationIssues(() =>
      loadSettings(section, {
        env: { DEMO_REQUIRED: 'r', DEMO_PORT: 'x', DEMO_VERBOSE: 'yes', DEMO_RULE: '{' },
      }),
    );
    expect(issues).toEqual([
      'DEMO_PORT: must be a number',
      'DEMO_VERBOSE: must be true, false, 1 or 0',
      'DEMO_RULE: must be valid JSON',
    ]);
  });

  test('a missing required field is named by its field without the environment, by its variable with it', () => {
    expect(validationIssues(() => loadSettings(section, {}))).toEqual(['required: is required']);
    expect(validationIssues(() => loadSettings(section, { env: {} }))).toEqual([
      'DEMO_REQUIRED: is required',
    ]);
  });

  test('a settings file that is missing or not JSON is an error naming the file, never quoting it', () => {
    const missing = join(dir, 'nope.json');
    expect(validationIssues(() => loadSettings(section, { file: missing }))).toEqual([
      `${missing}: cannot be read: ENOENT`,
    ]);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "demo": { "secret": hunter2-is-a-secret } }');
    expect(validationIssues(() => loadSettings(section, { file: broken }))).toEqual([
      `${broken}: is not valid JSON`,
    ]);
  });

  test('a file without the section leaves its fields to the other sources', () => {
    const file = settingsFile({ other: { name: 'x' } });
    expect(loadSettings(section, { file, env: { DEMO_REQUIRED: 'r' } }).name).toBe('plain');
  });
});
