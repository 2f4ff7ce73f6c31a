/**
 * Payload encryption: AES-256-GCM over each whole payload, with several keys so they can be rotated.
 * Runs in the client, the worker's main thread and the codec server, never in the workflow sandbox.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { encryptionSettings, type EncryptionSettings } from '../config/encryption';
import { loadSettings } from '../config/loader';
import { AegisPayError, ConfigurationError, ErrorCode, ValidationError } from '../domain/errors';
import type { EncryptionPolicy } from '../domain/fleet-policy';
import { parseOrThrow } from '../domain/validation';

/** The `encoding` metadata of an encrypted payload (the same as Temporal's samples, so their tools interoperate). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata entry naming the key a payload was encrypted with. */
export const METADATA_ENCRYPTION_KEY_ID = 'encryption-key-id';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Key IDs are stored in plaintext metadata and shown in errors, so they are short and plain. */
const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

const base64KeySchema = z
  .string({ error: 'must be a base64 string' })
  // Messages are fixed strings: a key must never be echoed into an error.
  .refine(
    (s) => BASE64_PATTERN.test(s) && Buffer.from(s, 'base64').length === KEY_BYTES,
    `must be ${KEY_BYTES} bytes in base64 (generate one with: openssl rand -base64 32)`,
  );

/** Encryption settings: every key that may still be needed to decrypt, and the one that encrypts. */
export const encryptionConfigSchema = z
  .strictObject({
    /** Key ID → base64 of a 32-byte key. Keep retired keys here so old payloads stay readable. */
    keys: z
      .record(z.string().regex(KEY_ID_PATTERN), base64KeySchema, {
        error: (iss) =>
          iss.code === 'invalid_key'
            ? 'is not a valid key ID: use 1-64 letters, digits, _, . or -, starting with a letter or digit'
            : iss.code === 'invalid_type'
              ? 'must be an object of key ID to base64 key'
              : undefined,
      })
      .refine((keys) => Object.keys(keys).length > 0, 'must name at least one key'),
    /** The key new payloads are encrypted with. */
    activeKeyId: z.string({ error: 'must be a string' }),
  })
  .refine((config) => Object.hasOwn(config.keys, config.activeKeyId), {
    path: ['activeKeyId'],
    message: 'must be one of the key IDs in keys',
  });
export type EncryptionConfig = z.input<typeof encryptionConfigSchema>;

/** Encrypts every payload with the active key and decrypts with whichever key a payload names. */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, KeyObject>;
  private readonly activeKeyId: string;

  constructor(config: EncryptionConfig) {
    const { keys, activeKeyId } = parseOrThrow(encryptionConfigSchema, config, 'encryption config');
    // KeyObjects print as `SecretKeyObject { type: 'secret' }`, so an accidental log shows no key bytes.
    this.keys = new Map(
      Object.entries(keys).map(([id, key]) => [id, createSecretKey(Buffer.from(key, 'base64'))]),
    );
    this.activeKeyId = activeKeyId;
  }

  /**
   * The key IDs with a fingerprint of each key (a hash: it cannot give the key back), so workers and
   * clients can check they hold the same keys without showing them.
   */
  describeKeys(): EncryptionPolicy {
    const keys = [...this.keys].map(([id, key]) => [id, keyFingerprint(key)]);
    return { activeKeyId: this.activeKeyId, keys: Object.fromEntries(keys) as Record<string, string> };
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.activeKeyId)!;
    return payloads.map((payload) => ({
      // The original metadata (encoding, message type) is inside the ciphertext, not next to it.
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [METADATA_ENCRYPTION_KEY_ID]: Buffer.from(this.activeKeyId),
      },
      data: encrypt(temporal.api.common.v1.Payload.encode(payload).finish(), key),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Plain payloads (a signal typed as JSON in the Web UI or CLI) were never encrypted.
      if (!isEncryptedPayload(payload)) return payload;
      const keyId = payloadKeyId(payload) ?? '';
      const key = this.keys.get(keyId);
      if (!key) {
        throw new ConfigurationError(
          `Cannot decrypt a payload: encryption key ID ${JSON.stringify(keyId.slice(0, 64))} is not configured ` +
            `(known: ${[...this.keys.keys()].join(', ')}). Keep retired keys in the encryption keys.`,
        );
      }
      return temporal.api.common.v1.Payload.decode(decrypt(payload.data ?? new Uint8Array(), key, keyId));
    });
  }
}

/** True for a payload this codec (or one like it) encrypted; its key ID stays readable in its metadata. */
export function isEncryptedPayload(payload: Payload): boolean {
  return metadataText(payload, METADATA_ENCODING_KEY) === ENCRYPTED_ENCODING;
}

/** The key ID an encrypted payload names. */
export function payloadKeyId(payload: Payload): string | undefined {
  return metadataText(payload, METADATA_ENCRYPTION_KEY_ID);
}

function keyFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update('aegispay-key-fingerprint:')
    .update(key.export())
    .digest('hex')
    .slice(0, 16);
}

/**
 * The codec of a client or worker without keys: payloads pass unchanged, and an encrypted one fails
 * with ENCRYPTION_REQUIRED instead of the payload converter's "Unknown encoding" ValueError.
 */
export class PlaintextCodec implements PayloadCodec {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    const encrypted = payloads.find(isEncryptedPayload);
    if (encrypted) {
      throw new AegisPayError(
        ErrorCode.ENCRYPTION_REQUIRED,
        `Cannot read an encrypted payload (key ID ${JSON.stringify((payloadKeyId(encrypted) ?? '').slice(0, 64))}): ` +
          'this process has no encryption keys. Configure the same keys as the workers ' +
          '(the AegisPay `encryption` option, or AEGISPAY_ENCRYPTION_KEYS).',
      );
    }
    return payloads;
  }
}

function metadataText(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value ? Buffer.from(value).toString('utf8') : undefined;
}

/** IV ‖ ciphertext ‖ tag: the layout of Temporal's encryption samples. */
function encrypt(plain: Uint8Array, key: KeyObject): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function decrypt(data: Uint8Array, key: KeyObject, keyId: string): Uint8Array {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
    const decipher = createDecipheriv(ALGORITHM, key, bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    // GCM's tag check failed: another key was configured under this ID, or the data was altered.
    throw new ConfigurationError(
      `Cannot decrypt a payload with encryption key ID "${keyId}": wrong key for this ID or corrupted data`,
    );
  }
}

/**
 * The key list from `AEGISPAY_ENCRYPTION_KEYS`, or from the file `AEGISPAY_ENCRYPTION_KEYS_FILE` names
 * (the same list, commas or one entry per line): a file keeps keys out of the process environment.
 */
function keyList(settings: EncryptionSettings, what: string): string | undefined {
  const file = settings.keysFile?.trim();
  if (!file) return settings.keys?.trim();
  if (settings.keys?.trim()) {
    throw new ValidationError(
      [
        {
          path: 'AEGISPAY_ENCRYPTION_KEYS_FILE',
          message: 'give either it or AEGISPAY_ENCRYPTION_KEYS, not both',
        },
      ],
      what,
    );
  }
  try {
    return readFileSync(file, 'utf8')
      .split(/[\r\n,]+/)
      .map((e) => e.trim())
      .filter(Boolean)
      .join(',');
  } catch (err) {
    throw new ValidationError(
      [
        {
          path: 'AEGISPAY_ENCRYPTION_KEYS_FILE',
          message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        },
      ],
      what,
    );
  }
}

/**
 * Reads `AEGISPAY_ENCRYPTION_KEYS` (`keyId:base64,keyId2:base64`) or `AEGISPAY_ENCRYPTION_KEYS_FILE`, and
 * `AEGISPAY_ENCRYPTION_ACTIVE_KEY` (optional with a single key); returns undefined when no keys are set.
 */
export function encryptionConfigFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionConfig | undefined {
  return encryptionConfigOf(loadSettings(encryptionSettings, { env }));
}

/** The codec's config from the encryption settings (see src/config/encryption.ts); undefined without keys. */
export function encryptionConfigOf(settings: EncryptionSettings): EncryptionConfig | undefined {
  const what = encryptionSettings.what;
  const list = keyList(settings, what);
  const active = settings.activeKeyId?.trim();
  if (!list) {
    if (!active) return undefined;
    throw new ValidationError(
      [
        {
          path: 'AEGISPAY_ENCRYPTION_KEYS',
          message: 'is required when AEGISPAY_ENCRYPTION_ACTIVE_KEY is set',
        },
      ],
      what,
    );
  }
  const entries = list.split(',').map((entry) => {
    const colon = entry.indexOf(':');
    return [entry.slice(0, Math.max(colon, 0)).trim(), colon < 0 ? '' : entry.slice(colon + 1).trim()];
  });
  if (entries.some(([id]) => !id)) {
    throw new ValidationError(
      [{ path: 'AEGISPAY_ENCRYPTION_KEYS', message: 'must be a comma-separated list of keyId:base64Key' }],
      what,
    );
  }
  const activeKeyId = active || (entries.length === 1 ? entries[0]![0]! : '');
  // Object.fromEntries defines own properties, so a key ID like __proto__ cannot reach a prototype.
  const config = { keys: Object.fromEntries(entries), activeKeyId };
  try {
    return parseOrThrow(encryptionConfigSchema, config, what);
  } catch (err) {
    const issues = (err as ValidationError).issues.map(({ path, message }) =>
      path === 'activeKeyId'
        ? {
            path: 'AEGISPAY_ENCRYPTION_ACTIVE_KEY',
            message: active
              ? 'must be one of the key IDs in AEGISPAY_ENCRYPTION_KEYS'
              : 'is required with several keys',
          }
        : {
            path: 'AEGISPAY_ENCRYPTION_KEYS',
            message: [path.replace(/^keys\.?/, ''), message].filter(Boolean).join(': '),
          },
    );
    throw new ValidationError(issues, what);
  }
}
