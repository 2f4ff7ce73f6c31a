import { z } from 'zod';
import type { SettingsSection } from './loader';

/** The payload-encryption keys as processes read them from the environment or a settings file. */
export const encryptionSettingsSchema = z.strictObject({
  keys: z.string().min(1).optional().meta({
    env: 'AEGISPAY_ENCRYPTION_KEYS',
    doc: '`keyId:base64,keyId2:base64`: payload encryption keys (the same on clients, workers and the codec server).',
  }),
  keysFile: z.string().min(1).optional().meta({
    env: 'AEGISPAY_ENCRYPTION_KEYS_FILE',
    doc: 'Or a file holding that list (commas or one entry per line), to keep keys out of the environment.',
  }),
  activeKeyId: z.string().min(1).optional().meta({
    env: 'AEGISPAY_ENCRYPTION_ACTIVE_KEY',
    doc: 'The key ID that encrypts; required with several keys.',
    shownDefault: 'the only key',
  }),
});
export type EncryptionSettings = z.output<typeof encryptionSettingsSchema>;

export const encryptionSettings = {
  key: 'encryption',
  what: 'encryption environment',
  schema: encryptionSettingsSchema,
} satisfies SettingsSection;
