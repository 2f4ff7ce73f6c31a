/** Human-readable output of the `aegispay` CLI: key-value views, tables and a progress bar. */
import type { PaymentListPage } from './client/list-payments';
import { isCurrencyCode } from './domain/currencies';
import { formatMinor } from './domain/money';
import { methodLabel } from './domain/payment';
import type { DomainEvent, Payment } from './domain/types';

/** "USD 99.99" from minor units; the raw number when the currency is unknown. */
export function money(minor: number | undefined, currency: string | undefined): string {
  if (minor === undefined) return '-';
  return currency && isCurrencyCode(currency) ? `${currency} ${formatMinor(minor, currency)}` : String(minor);
}

/** Aligns `key  value` pairs; pairs whose value is undefined are left out. */
export function keyValues(pairs: [string, string | number | undefined][]): string {
  const shown = pairs.filter((p): p is [string, string | number] => p[1] !== undefined && p[1] !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** A plain-text table with a header row and columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One payment as key-value lines; the card shows only brand and last 4. */
export function formatPayment(p: Payment): string {
  const c = p.amount.currency;
  const amounts = p.amounts;
  return keyValues([
    ['id', p.id],
    ['state', p.state],
    ['amount', money(p.amount.amount, c)],
    ['method', methodLabel(p)],
    ['customer', p.customer.email ? `${p.customer.id} <${p.customer.email}>` : p.customer.id],
    ['capture', p.captureMethod],
    ['gateway', p.gateway],
    ['authorized', amounts.authorized ? money(amounts.authorized, c) : undefined],
    ['captured', amounts.captured ? money(amounts.captured, c) : undefined],
    ['refunded', amounts.refunded ? money(amounts.refunded, c) : undefined],
    ['refunds', p.refunds.map((r) => `${r.id} ${money(r.amount, c)} ${r.status}`).join(', ')],
    ['failure', p.failure && `${p.failure.code}: ${p.failure.message}`],
    ['cancelled', p.cancellationReason],
    ['attempts', p.attempts.length],
    ['created', p.createdAt],
    ['updated', p.updatedAt],
  ]);
}

/** A page of `listPayments` as a table, with the token for the next page. */
export function formatPaymentList(page: PaymentListPage): string {
  if (page.payments.length === 0) return 'No payments found.';
  const rows = page.payments.map((p) => [
    p.id,
    p.state ?? '-',
    money(p.amount, p.currency),
    p.gateway ?? '-',
    p.customerId ?? '-',
    p.createdAt ?? '-',
  ]);
  const out = table(['ID', 'STATE', 'AMOUNT', 'GATEWAY', 'CUSTOMER', 'CREATED'], rows);
  return page.nextPageToken ? `${out}\n\nMore: --page-token ${page.nextPageToken}` : out;
}

/** A payment's domain events as a table. */
export function formatEvents(events: DomainEvent[]): string {
  if (events.length === 0) return 'No events.';
  return table(
    ['#', 'AT', 'TYPE', 'DATA'],
    events.map((e) => [String(e.sequence), e.at, e.type, JSON.stringify(e.data)]),
  );
}

/** Any object as key-value lines; lists of objects as tables of their plain fields; other values as JSON. */
export function formatObject(value: object): string {
  const isRow = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const lists = Object.entries(value).filter(
    (e): e is [string, Record<string, unknown>[]] =>
      Array.isArray(e[1]) && e[1].length > 0 && e[1].every(isRow),
  );
  const pairs = Object.entries(value)
    .filter(([k]) => !lists.some(([name]) => name === k))
    .map(([k, v]): [string, string] => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  const tables = lists.map(([name, rows]) => {
    // Nested values (per-worker details and the like) would make the table unreadable; --json has them.
    const columns = Object.keys(rows[0]!).filter((c) => rows.every((r) => typeof r[c] !== 'object'));
    const cells = rows.map((r) => columns.map((c) => (r[c] === undefined ? '-' : String(r[c]))));
    return `${name}\n${table(columns, cells)}`;
  });
  return [keyValues(pairs), ...tables].filter(Boolean).join('\n\n');
}

/** What `pay --count` reports at the end. */
export interface BatchSummary {
  count: number;
  byState: Record<string, number>;
  errors: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  totalMs: number;
}

/** The `pay --count` summary as key-value lines. */
export function formatBatchSummary(s: BatchSummary): string {
  const counts = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  return keyValues([
    ['payments', s.count],
    ['states', counts(s.byState)],
    ['errors', counts(s.errors)],
    ['p50', `${s.p50Ms} ms`],
    ['p95', `${s.p95Ms} ms`],
    ['total', `${s.totalMs} ms`],
  ]);
}

/** The nearest-rank percentile of some numbers (0 when there are none). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A one-line progress bar redrawn in place; it draws nothing unless the stream is a terminal. */
export function progressBar(total: number, stream: NodeJS.WriteStream = process.stderr) {
  let done = 0;
  const draw = () => {
    if (!stream.isTTY) return;
    const width = 30;
    const filled = Math.round((done / total) * width);
    stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
  };
  draw();
  return {
    tick(): void {
      done++;
      draw();
    },
    finish(): void {
      if (stream.isTTY) stream.write('\n');
    },
  };
}
