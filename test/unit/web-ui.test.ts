import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paymentListUrl, WEB_UI_PAYMENT_COLUMNS, webUiColumnsScript } from '../../src/web-ui';

describe('Web UI helpers', () => {
  it('docs/web-ui.md prints the columns script the package makes for namespace default', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'web-ui.md'), 'utf8');
    expect(doc).toContain(`\n${webUiColumnsScript('default')}\n`);
  });

  it('the columns put the payment state next to the status and hold every payment attribute', () => {
    expect(WEB_UI_PAYMENT_COLUMNS.slice(0, 2)).toEqual(['Status', 'AegisPayState']);
    for (const name of ['AegisPayAmount', 'AegisPayCurrency', 'AegisPayCustomerId', 'AegisPayRefunded'])
      expect(WEB_UI_PAYMENT_COLUMNS).toContain(name);
  });

  it('a list link carries the query encoded, payments only by default', () => {
    expect(paymentListUrl('http://127.0.0.1:8233', 'default', 'AegisPayState="FAILURE"')).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows?query=AegisPayState%3D%22FAILURE%22',
    );
    expect(paymentListUrl('http://ui', 'ns')).toBe(
      "http://ui/namespaces/ns/workflows?query=WorkflowType%3D'paymentWorkflow'",
    );
  });
});
