/**
 * Temporal's Web UI (v2) as a payment list. The UI keeps its list columns in the browser's
 * localStorage, never in a link, so a link can carry the query and a one-line script the columns.
 */
import {
  PAYMENT_AMOUNT,
  PAYMENT_CURRENCY,
  PAYMENT_CUSTOMER_ID,
  PAYMENT_GATEWAY,
  PAYMENT_REFUNDED,
  PAYMENT_STATE,
} from './domain/search-attributes';

/** The UI's localStorage key for the workflow list's columns, by namespace (Temporal UI 2.x). */
export const WEB_UI_COLUMNS_KEY = 'namespace-workflow-table-columns';

/** The payment list's columns: the payment's state first, so a failed payment reads FAILURE at once. */
export const WEB_UI_PAYMENT_COLUMNS: readonly string[] = [
  'Status',
  PAYMENT_STATE.name,
  'Workflow ID',
  PAYMENT_AMOUNT.name,
  PAYMENT_CURRENCY.name,
  PAYMENT_CUSTOMER_ID.name,
  PAYMENT_GATEWAY.name,
  PAYMENT_REFUNDED.name,
  'Start',
];

/** A link to the namespace's workflow list filtered by a visibility query (payments only by default). */
export function paymentListUrl(uiUrl: string, namespace: string, query = "WorkflowType='paymentWorkflow'") {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

/**
 * A script to paste into the browser's console on the Web UI: it sets the payment columns for
 * `namespace` (other namespaces keep theirs) and reloads the page.
 */
export function webUiColumnsScript(namespace: string): string {
  const columns = JSON.stringify(WEB_UI_PAYMENT_COLUMNS.map((label) => ({ label })));
  return (
    `(k=>{const c=JSON.parse(localStorage.getItem(k)||'{}');` +
    `c[${JSON.stringify(namespace)}]=${columns};` +
    `localStorage.setItem(k,JSON.stringify(c));location.reload()})(${JSON.stringify(WEB_UI_COLUMNS_KEY)})`
  );
}
