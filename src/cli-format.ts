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

/** A relative age: "just now", "5 s ago", "3 min ago", "2 h ago", "4 d ago", or "in 20 d" for the future. */
export function relative(at: Date, now: Date = new Date()): string {
  const seconds = Math.round((now.getTime() - at.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const [n, unit] =
    abs < 60
      ? [abs, 's']
      : abs < 3600
        ? [abs / 60, 'min']
        : abs < 86_400
          ? [abs / 3600, 'h']
          : [abs / 86_400, 'd'];
  if (abs < 2) return 'just now';
  const amount = `${Math.floor(n)} ${unit}`;
  return seconds >= 0 ? `${amount} ago` : `in ${amount}`;
}

/** A time as `2026-12-06 18:10:37 UTC (3 min ago)`, from an ISO string or epoch milliseconds. */
export function time(value: string | number | undefined, now: Date = new Date()): string | undefined {
  if (value === undefined || value === '') return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return String(value);
  return `${at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC')} (${relative(at, now)})`;
}

/** A duration in whole milliseconds (or to 0.1 ms below 10 ms, where rounding would hide it). */
export function millis(ms: number): string {
  return `${ms < 10 ? Math.round(ms * 10) / 10 : Math.round(ms)} ms`;
}

/** Newest first by `createdAt`; items without one keep their order at the end. */
export function newestFirst<T extends { createdAt?: string }>(items: T[]): T[] {
  const at = (i: T) => (i.createdAt ? Date.parse(i.createdAt) : -Infinity);
  return [...items].sort((a, b) => at(b) - at(a));
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
    ['created', time(p.createdAt)],
    ['updated', time(p.updatedAt)],
  ]);
}

/** A page of `listPayments` as a table, with the command for the next page (`cli`: as the user typed it). */
export function formatPaymentList(page: PaymentListPage, cli = 'aegispay'): string {
  if (page.payments.length === 0) return 'No payments found.';
  const rows = page.payments.map((p) => [
    p.id,
    p.state ?? '-',
    money(p.amount, p.currency),
    p.gateway ?? '-',
    p.customerId ?? '-',
    time(p.createdAt) ?? '-',
  ]);
  const out = table(['ID', 'STATE', 'AMOUNT', 'GATEWAY', 'CUSTOMER', 'CREATED'], rows);
  return page.nextPageToken ? `${out}\n\nMore: ${cli} list --page-token ${page.nextPageToken}` : out;
}

/** A payment's domain events as a table. */
export function formatEvents(events: DomainEvent[]): string {
  if (events.length === 0) return 'No events.';
  return table(
    ['#', 'AT', 'TYPE', 'DATA'],
    events.map((e) => [String(e.sequence), time(e.at) ?? '-', e.type, JSON.stringify(e.data)]),
  );
}

/**
 * One field for people: times (`…At`, `at`: epoch ms or ISO) as `time`, durations (`…Ms`) as `millis`,
 * ratios (`…Rate`) as percentages, other numbers rounded to 3 decimals.
 */
export function humanValue(key: string, value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (/(At|^at)$/.test(key) && (typeof value === 'number' || typeof value === 'string')) {
    return time(value) ?? '-';
  }
  if (typeof value === 'number') {
    if (/Ms$/.test(key)) return millis(value);
    if (/Rate$/.test(key)) return `${Math.round(value * 1000) / 10}%`;
    return String(Math.round(value * 1000) / 1000);
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
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
    .map(([k, v]): [string, string] => [k, humanValue(k, v)]);
  const tables = lists.map(([name, rows]) => {
    // Nested values (per-worker details and the like) would make the table unreadable; --json has them.
    const columns = Object.keys(rows[0]!).filter((c) => rows.every((r) => typeof r[c] !== 'object'));
    const cells = rows.map((r) => columns.map((c) => humanValue(c, r[c])));
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
