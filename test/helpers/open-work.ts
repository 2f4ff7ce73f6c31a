import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

/**
 * What a workflow has under way, read from the server: pending activities and timers started but
 * neither fired nor cancelled. A payment that is not final must have at least one of them.
 */
export async function openWork(handle: WorkflowHandle): Promise<{ activities: number; timers: number }> {
  const description = await handle.describe();
  const history = await handle.fetchHistory();
  const open = new Set<string>();
  for (const event of history.events ?? []) {
    if (event.eventType === EventType.EVENT_TYPE_TIMER_STARTED) {
      open.add(event.timerStartedEventAttributes!.timerId!);
    } else if (event.eventType === EventType.EVENT_TYPE_TIMER_FIRED) {
      open.delete(event.timerFiredEventAttributes!.timerId!);
    } else if (event.eventType === EventType.EVENT_TYPE_TIMER_CANCELED) {
      open.delete(event.timerCanceledEventAttributes!.timerId!);
    }
  }
  return { activities: description.raw.pendingActivities?.length ?? 0, timers: open.size };
}
