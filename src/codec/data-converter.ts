import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, type EncryptionConfig } from './encryption-codec';

/** Path of the failure converter that encodes messages and stack traces; the worker bundles it into workflows. */
export const ENCODED_FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The data converter for encrypted payloads and failures, or undefined (Temporal's default) without encryption.
 * Codecs run outside the workflow sandbox, so only the failure converter goes into the workflow bundle.
 */
export function createDataConverter(encryption?: EncryptionConfig): DataConverter | undefined {
  if (!encryption) return undefined;
  return {
    payloadCodecs: [new EncryptionCodec(encryption)],
    failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH,
  };
}
