/**
 * The benchmark's floor: the least a Temporal payment workflow started with Update-With-Start can do.
 * Its update handler runs one no-op activity and returns; then the workflow completes. The options
 * add one AegisPay cost at a time, so the gap between AegisPay and the floor can be attributed.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  allHandlersFinished,
  condition,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';

export interface FloorOptions {
  /** A no-op local activity before the activity, like AegisPay's routing decision. */
  localActivity?: boolean;
  /** Search-attribute upserts per run, placed like AegisPay's (processing, routed, settled). */
  upserts?: number;
  /** Stay open on a 30-day timer after the update, like AegisPay's refund window. */
  stayOpen?: boolean;
  /** Characters of padding returned by the update, to match the size of AegisPay's `Payment` view. */
  resultPadding?: number;
  /** The update returns at once, without the activity (for timing the activity's share). */
  noActivity?: boolean;
  /** Ignored: makes the start input as large as AegisPay's. */
  inputPadding?: string;
  /** Promises awaited one after another in the update handler, to price each promise workflow code creates. */
  awaits?: number;
}

export interface FloorActivities {
  noop(): Promise<void>;
}

export const floorUpdate = defineUpdate<{ ok: boolean; padding?: string }, [unknown]>('process');

const STATE = defineSearchAttributeKey('AegisPayState', SearchAttributeType.KEYWORD);

export async function floorWorkflow(options: FloorOptions = {}): Promise<void> {
  const { noop } = proxyActivities<FloorActivities>({ startToCloseTimeout: '30s' });
  const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10s' });
  const maxUpserts = options.upserts ?? 0;
  let upserts = 0;
  const upsert = () => {
    if (upserts < maxUpserts) upsertSearchAttributes([{ key: STATE, value: `S${++upserts}` }]);
  };
  let done = false;
  setHandler(floorUpdate, async () => {
    for (let i = 0; i < (options.awaits ?? 0); i++) await Promise.resolve(i);
    upsert();
    if (options.localActivity) await local.noop();
    upsert();
    if (!options.noActivity) await noop();
    while (upserts < maxUpserts) upsert();
    done = true;
    return { ok: true, ...(options.resultPadding ? { padding: 'x'.repeat(options.resultPadding) } : {}) };
  });
  await condition(() => done && allHandlersFinished());
  if (options.stayOpen) await condition(() => false, '30 days');
}
