import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { applyHealthReport, type HealthState } from '../domain/health';
import { healthQuery, healthReportSignal } from '../domain/messages';

/** Continue-as-new well before Temporal's history limits: the state carried over is small. */
const MAX_HISTORY_EVENTS = 5000;

/**
 * A long-lived collector of gateway health for one task queue. Workers signal their reports to it
 * (signal-with-start, so the first report creates it); clients query it, so health and metrics are
 * readable from any process, worker or not, and cover every worker.
 */
export async function gatewayHealthWorkflow(carried?: HealthState): Promise<void> {
  let state: HealthState = carried ?? { reports: {}, transitions: [] };
  setHandler(healthReportSignal, (report) => {
    state = applyHealthReport(state, report);
  });
  setHandler(healthQuery, () => state);
  await condition(
    () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS,
  );
  await continueAsNew<typeof gatewayHealthWorkflow>(state);
}
