import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptionConfigFromEnv } from '../../src/codec/encryption-codec';
import { ValidationError } from '../../src/domain/errors';

const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'aegispay-keys-'));

function keysFile(text: string): string {
  const file = join(dir, `keys-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

describe('AEGISPAY_ENCRYPTION_KEYS_FILE', () => {
  test('reads the same key list as AEGISPAY_ENCRYPTION_KEYS, one entry per line or comma-separated', () => {
    const fromVariable = encryptionConfigFromEnv({
      AEGISPAY_ENCRYPTION_KEYS: `k1:${k1},k2:${k2}`,
      AEGISPAY_ENCRYPTION_ACTIVE_KEY: 'k2',
    });
    for (const text of [`k1:${k1}\nk2:${k2}\n`, `k1:${k1},\r\nk2:${k2}`]) {
      expect(
        encryptionConfigFromEnv({
          AEGISPAY_ENCRYPTION_KEYS_FILE: keysFile(text),
          AEGISPAY_ENCRYPTION_ACTIVE_KEY: 'k2',
        }),
      ).toEqual(fromVariable);
    }
  });

  test('both the variable and the file, or a file that cannot be read, is an error naming the variable', () => {
    const both = () =>
      encryptionConfigFromEnv({
        AEGISPAY_ENCRYPTION_KEYS: `k1:${k1}`,
        AEGISPAY_ENCRYPTION_KEYS_FILE: keysFile(`k1:${k1}`),
      });
    expect(both).toThrow(ValidationError);
    expect(both).toThrow(/AEGISPAY_ENCRYPTION_KEYS_FILE: give either it or AEGISPAY_ENCRYPTION_KEYS/);
    const missing = () => encryptionConfigFromEnv({ AEGISPAY_ENCRYPTION_KEYS_FILE: join(dir, 'nope') });
    expect(missing).toThrow(/AEGISPAY_ENCRYPTION_KEYS_FILE: cannot read .*nope: ENOENT/);
  });

  test('a bad entry in the file is reported like one in the variable, without the key', () => {
    const bad = () => encryptionConfigFromEnv({ AEGISPAY_ENCRYPTION_KEYS_FILE: keysFile(`k1:not-a-key\n`) });
    expect(bad).toThrow(/AEGISPAY_ENCRYPTION_KEYS: k1/);
  });
});
