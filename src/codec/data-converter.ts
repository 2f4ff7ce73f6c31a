import type { DataConverter, PayloadCodec } from '@temporalio/common';
import type { EncryptionPolicy } from '../domain/fleet-policy';
import { EncryptionCodec, PlaintextCodec, type EncryptionConfig } from './encryption-codec';

/** Path of the failure converter that encodes messages and stack traces; the worker bundles it into workflows. */
export const ENCODED_FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The data converter for encrypted payloads and failures or, without encryption, one that leaves
 * payloads as they are and refuses encrypted ones with a clear error (ENCRYPTION_REQUIRED).
 * Codecs run outside the workflow sandbox, so only the failure converter goes into the workflow bundle.
 */
export function createDataConverter(encryption?: EncryptionConfig): DataConverter {
  if (!encryption) return { payloadCodecs: [new PlaintextCodec()] };
  return {
    payloadCodecs: [new EncryptionCodec(encryption)],
    failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH,
  };
}

/** The encryption keys a data converter holds (IDs and fingerprints), or null when it does not encrypt. */
export function encryptionOf(
  dataConverter: { payloadCodecs?: PayloadCodec[] } | undefined,
): EncryptionPolicy | null {
  const codec = dataConverter?.payloadCodecs?.find((c) => c instanceof EncryptionCodec);
  return codec ? codec.describeKeys() : null;
}
