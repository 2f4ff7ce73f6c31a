/**
 * `aegispay export` output: CSV (one line per payment, for spreadsheets) or JSON lines (one payment with
 * its events per line, for machines). Pure functions: the CLI streams `exportRows` through them.
 */
import type { DomainEvent, Payment } from '../domain/types';

/** One payment with its full event trail, as `PaymentStore.exportRows` yields it. */
export interface ExportRow {
  payment: Payment;
  events: DomainEvent[];
}

export type ExportFormat = 'csv' | 'jsonl';

/** CSV columns, in order. Amounts are integer minor units of `currency`. */
export const CSV_COLUMNS = [
  'id',
  'idempotency_key',
  'state',
  'amount',
  'currency',
  'customer_id',
  'gateway',
  'gateway_reference',
  'authorized',
  'captured',
  'refunded',
  'attempts',
  'refunds',
  'events',
  'failure_code',
  'created_at',
  'updated_at',
  'version',
] as const;

function csvLine(row: ExportRow): (string | number)[] {
  const p = row.payment;
  return [
    p.id,
    p.idempotencyKey,
    p.state,
    p.amount.amount,
    p.amount.currency,
    p.customer.id,
    p.gateway ?? '',
    p.gatewayReference ?? '',
    p.amounts.authorized,
    p.amounts.captured,
    p.amounts.refunded,
    p.attempts.length,
    p.refunds.length,
    row.events.length,
    p.failure?.code ?? '',
    p.createdAt,
    p.updatedAt,
    p.version,
  ];
}

/** RFC 4180 quoting, and a leading quote on text a spreadsheet would run as a formula. */
function csvField(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Formats export rows. CSV starts with a header line; call with `header: false` for the chunks after
 * the first when streaming. Every line ends with a newline.
 */
export function formatExport(
  rows: Iterable<ExportRow>,
  format: ExportFormat,
  { header = true }: { header?: boolean } = {},
): string {
  const lines: string[] = [];
  if (format === 'csv') {
    if (header) lines.push(CSV_COLUMNS.join(','));
    for (const row of rows) lines.push(csvLine(row).map(csvField).join(','));
  } else {
    for (const row of rows) lines.push(JSON.stringify(row));
  }
  return lines.map((line) => `${line}\n`).join('');
}
