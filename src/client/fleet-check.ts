/**
 * A client must write payloads the task queue's workers can read, and read what they write: above
 * all, a client without keys must never start payments on a queue whose workers encrypt (the
 * customer's e-mail and the card token would sit in plaintext in the history). The workers' encryption
 * is learned from the gateway-health workflow's memo with a describe: no keys, no running worker needed.
 */
import type { Client } from '@temporalio/client';
import type { LoadedDataConverter, Payload } from '@temporalio/common';
import { decodeFleetPolicy, readFleetRecord } from '../temporal/fleet-record';
import { encryptionOf } from '../codec/data-converter';
import { isEncryptedPayload, payloadKeyId } from '../codec/encryption-codec';
import { AegisPayError, ErrorCode } from '../domain/errors';
import { describeEncryption, encryptionConflict } from '../domain/fleet-policy';

/** How long a passed check holds per client and task queue: one describe per this, not per payment. */
export const FLEET_CHECK_TTL_MS = 10_000;

/**
 * Why a client with this data converter cannot work with the queue's workers (whose last admitted
 * policy is `policy`, as stored), as an error to throw, or undefined when it can.
 */
export async function fleetEncryptionError(
  converter: LoadedDataConverter,
  policy: Payload,
  taskQueue: string,
): Promise<AegisPayError | undefined> {
  const mine = encryptionOf(converter);
  const where = `The workers of task queue "${taskQueue}"`;
  if (isEncryptedPayload(policy)) {
    const keyId = payloadKeyId(policy) ?? '?';
    if (!mine) {
      return new AegisPayError(
        ErrorCode.ENCRYPTION_REQUIRED,
        `${where} encrypt payloads (key ${keyId}) and this client has no encryption keys: it would write ` +
          `customer data in plaintext and could not read the answers. Configure the workers' keys ` +
          `(the AegisPay \`encryption\` option).`,
        { taskQueue, keyId },
      );
    }
    if (!Object.hasOwn(mine.keys, keyId)) {
      return new AegisPayError(
        ErrorCode.ENCRYPTION_MISMATCH,
        `${where} encrypt with key ${keyId}, which this client does not hold (${describeEncryption(mine)}).`,
        { taskQueue, keyId },
      );
    }
  } else if (mine) {
    return new AegisPayError(
      ErrorCode.ENCRYPTION_MISMATCH,
      `${where} have no encryption keys: they could not read what this client encrypts ` +
        `(${describeEncryption(mine)}). Give them the same keys, or remove them from this client.`,
      { taskQueue },
    );
  }
  if (!mine) return undefined;
  const fleet = await decodeFleetPolicy(converter, policy);
  const conflict = encryptionConflict(mine, fleet.encryption, 'this client');
  return conflict
    ? new AegisPayError(ErrorCode.ENCRYPTION_MISMATCH, `${where} and this client differ: ${conflict}`, {
        taskQueue,
      })
    : undefined;
}

const passed = new WeakMap<Client, Map<string, number>>();

/**
 * Throws ENCRYPTION_REQUIRED (no keys, the workers encrypt) or ENCRYPTION_MISMATCH before a client
 * sends anything to a payment. A pass is remembered briefly per client and queue.
 */
export async function assertFleetEncryption(client: Client, taskQueue: string): Promise<void> {
  const byQueue = passed.get(client) ?? new Map<string, number>();
  passed.set(client, byQueue);
  if ((byQueue.get(taskQueue) ?? 0) > Date.now()) return;
  const record = await readFleetRecord(client, taskQueue);
  // No worker has joined yet: nothing is known, and nothing is remembered, so the first one counts.
  if (!record?.policy) return;
  const error = await fleetEncryptionError(client.options.loadedDataConverter, record.policy, taskQueue);
  if (error) throw error;
  byQueue.set(taskQueue, Date.now() + FLEET_CHECK_TTL_MS);
}
