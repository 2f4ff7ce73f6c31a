import { condition, continueAsNew, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import { canonicalJson, FLEET_MEMO_KEY, joinFleet, joinFleetUpdate } from '../domain/fleet-policy';
import { applyHealthReport, type HealthState } from '../domain/health';
import { healthQuery, healthReportSignal } from '../domain/messages';

/** Continue-as-new well before Temporal's history limits: the state carried over is small. */
const MAX_HISTORY_EVENTS = 5000;

/**
 * A long-lived collector of gateway health for one task queue, and the keeper of its fleet policy.
 * Workers join it (an update: one at a time, so two workers starting together cannot both set
 * different policies) before they poll payments, then signal their reports to it; the reports are
 * also what keeps a member live. Clients query it, so health and metrics are readable from any
 * process, worker or not, and cover every worker.
 */
export async function gatewayHealthWorkflow(carried?: HealthState): Promise<void> {
  let state: HealthState = carried ?? { reports: {}, transitions: [] };
  let published: string | undefined;
  // The memo lets a client learn the fleet's encryption with a describe, without keys or a worker.
  const publishFleet = () => {
    const fleet = state.fleet && canonicalJson(state.fleet);
    if (fleet && fleet !== published) {
      upsertMemo({ [FLEET_MEMO_KEY]: state.fleet });
      published = fleet;
    }
  };
  publishFleet();
  setHandler(healthReportSignal, (report) => {
    state = applyHealthReport(state, report);
  });
  setHandler(healthQuery, () => state);
  setHandler(joinFleetUpdate, (request) => {
    const joined = joinFleet(state, request, Date.now());
    state = joined.state;
    publishFleet();
    return joined.result;
  });
  await condition(
    () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS,
  );
  await continueAsNew<typeof gatewayHealthWorkflow>(state);
}
