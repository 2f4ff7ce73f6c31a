/**
 * The customer's email, name and phone at rest. With payload encryption configured they are sealed by
 * the same `EncryptionCodec` (AES-256-GCM, key ID in the payload's metadata, rotation by keeping old
 * keys) and stored as a Temporal payload in protobuf JSON, the form the codec server's `/decode` reads.
 * Without keys they are stored as a plain object. `customer.id` and `country` stay in the view, in clear,
 * because listing filters and routing reports need them and they identify no one by themselves.
 */
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { EncryptionCodec, PlaintextCodec, type EncryptionConfig } from '../codec/encryption-codec';
import type { Customer } from '../domain/types';

export const PII_FIELDS = ['email', 'name', 'phone'] as const;
export type CustomerPii = Partial<Pick<Customer, (typeof PII_FIELDS)[number]>>;

/** A payload in protobuf JSON: bytes as base64. */
interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

export class PiiSealer {
  private readonly codec: EncryptionCodec | PlaintextCodec;

  constructor(encryption?: EncryptionConfig) {
    this.codec = encryption ? new EncryptionCodec(encryption) : new PlaintextCodec();
  }

  get encrypts(): boolean {
    return this.codec instanceof EncryptionCodec;
  }

  /** Splits the PII off a customer: what the view keeps, and what goes to the customer_pii column. */
  async seal(customer: Customer): Promise<{ customer: Customer; sealed: unknown }> {
    const kept: Customer = { ...customer };
    const pii: CustomerPii = {};
    for (const field of PII_FIELDS) {
      if (kept[field] !== undefined) pii[field] = kept[field];
      delete kept[field];
    }
    if (Object.keys(pii).length === 0) return { customer: kept, sealed: null };
    if (!this.encrypts) return { customer: kept, sealed: pii };
    const plain: Payload = {
      metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') },
      data: Buffer.from(JSON.stringify(pii)),
    };
    const [encrypted] = await this.codec.encode([plain]);
    return { customer: kept, sealed: toJson(encrypted!) };
  }

  /** Puts the PII back; an encrypted column read without keys fails with ENCRYPTION_REQUIRED. */
  async open(customer: Customer, sealed: unknown): Promise<Customer> {
    if (sealed === null || sealed === undefined) return customer;
    if (!isJsonPayload(sealed)) return { ...customer, ...(sealed as CustomerPii) };
    const [plain] = await this.codec.decode([fromJson(sealed)]);
    const pii = JSON.parse(Buffer.from(plain!.data ?? new Uint8Array()).toString('utf8')) as CustomerPii;
    return { ...customer, ...pii };
  }
}

function isJsonPayload(value: unknown): value is JsonPayload {
  const v = value as Partial<JsonPayload>;
  return typeof v === 'object' && typeof v.data === 'string' && typeof v.metadata === 'object';
}

function toJson({ metadata, data }: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(metadata ?? {}).map(([k, v]) => [
        k,
        Buffer.from(v ?? new Uint8Array()).toString('base64'),
      ]),
    ),
    data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
  };
}

function fromJson({ metadata, data }: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(data, 'base64'),
  };
}
