/**
 * The fleet's record as anyone can read it: the gateway-health workflow's task queue and the memo of
 * its last admitted policy. Read by clients (their encryption check) and by workers (joining a fleet).
 */
import type { Client } from '@temporalio/client';
import type { LoadedDataConverter, Payload } from '@temporalio/common';
import { FLEET_MEMO_KEY, fleetTaskQueue, type FleetPolicy } from '../domain/fleet-policy';
import { gatewayHealthWorkflowId } from '../domain/health';

/** gRPC NOT_FOUND: the workflow does not exist. */
const NOT_FOUND = 5;

/** What the gateway-health workflow shows of its fleet to anyone, with or without keys. */
export interface FleetRecord {
  /** The task queue the workflow runs on (workers of an earlier version ran it on the payment queue). */
  runsOn: string;
  /** The memo payload of the last admitted policy, as stored: maybe encrypted. */
  policy?: Payload;
}

/** Reads the fleet's record without decoding anything; undefined when no worker ever joined. */
export async function readFleetRecord(client: Client, taskQueue: string): Promise<FleetRecord | undefined> {
  try {
    const { workflowExecutionInfo: info } = await client.workflowService.describeWorkflowExecution({
      namespace: client.options.namespace,
      execution: { workflowId: gatewayHealthWorkflowId(taskQueue) },
    });
    const policy = info?.memo?.fields?.[FLEET_MEMO_KEY] ?? undefined;
    return { runsOn: info?.taskQueue ?? fleetTaskQueue(taskQueue), ...(policy ? { policy } : {}) };
  } catch (err) {
    if ((err as { code?: number }).code === NOT_FOUND) return undefined;
    throw err;
  }
}

/** Decodes the memo's policy with this converter's codecs (throws when they cannot decrypt it). */
export async function decodeFleetPolicy(
  converter: LoadedDataConverter,
  payload: Payload,
): Promise<FleetPolicy> {
  let decoded = [payload];
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return converter.payloadConverter.fromPayload<FleetPolicy>(decoded[0]!);
}
