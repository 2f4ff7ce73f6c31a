import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cardBrand, normalizeCardNumber } from '../../domain/cards';
import type { CardDetails, Money, TokenizedCard } from '../../domain/types';
import {
  GatewayError,
  type GatewayErrorCategory,
  type ChargeRequest,
  type ChargeResult,
  type Gateway,
  type GatewayConfig,
  type OperationStatus,
} from './gateway';

/** Stripe's test card numbers and the Stripe test tokens that stand for them. */
export const MOCK_TEST_CARDS = {
  '4242424242424242': 'tok_visa',
  '4000000000000002': 'tok_chargeDeclined',
  '4000000000009995': 'tok_chargeDeclinedInsufficientFunds',
  '4000000000000119': 'tok_chargeDeclinedProcessingError',
} as const satisfies Record<string, string>;

/** How the MOCK gateway answers a token: Stripe's test-token behaviour; any other token succeeds. */
const TOKEN_OUTCOMES: Record<
  string,
  { category: GatewayErrorCategory; code: string; message: string } | undefined
> = {
  tok_chargeDeclined: { category: 'decline', code: 'card_declined', message: 'Your card was declined.' },
  tok_chargeDeclinedInsufficientFunds: {
    category: 'decline',
    code: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  tok_chargeDeclinedProcessingError: {
    category: 'retry-same-gateway',
    code: 'processing_error',
    message: 'An error occurred while processing your card. Try again.',
  },
};

/**
 * The MOCK gateway's tokenization, run by the client before a workflow starts: the card number and
 * CVV stay in the caller's process, the workflow sees only the token, brand, last 4 and expiry.
 */
export function mockTokenizeCard(details: CardDetails): TokenizedCard {
  const number = normalizeCardNumber(details.cardNumber);
  const brand = cardBrand(number);
  const known = (MOCK_TEST_CARDS as Record<string, string>)[number];
  return {
    token: known ?? `tok_mock_${randomUUID().replace(/-/g, '')}`,
    brand,
    last4: number.slice(-4),
    expiryMonth: Number(details.expiryMonth),
    expiryYear: normalizeYear(Number(details.expiryYear)),
    ...(details.cardHolderName ? { cardHolderName: details.cardHolderName } : {}),
  };
}

function normalizeYear(year: number): number {
  return year < 100 ? 2000 + year : year;
}

/** Options of the in-process MOCK gateway, for tests and demos. */
export interface MockGatewayOptions extends GatewayConfig {
  /** Delay before the charge is processed. */
  latencyMs?: number;
  /** Delay after the charge is recorded and before the answer: a crash here is "charged, no answer". */
  delayAfterCommitMs?: number;
  /** Keeps the ledger in a JSON file, so charges can be counted across worker processes and crashes. */
  ledgerFile?: string;
}

/** One ledger line: the outcome of one call, keyed by its gateway idempotency key. */
export interface MockLedgerEntry {
  idempotencyKey: string;
  paymentId: string;
  amount: Money;
  outcome: OperationStatus;
}

/** A stateful in-process gateway with Stripe-style test cards and a ledger keyed by idempotency key. */
export class MockGateway implements Gateway {
  readonly type = 'MOCK' as const;
  readonly capabilities = {
    currencies: 'all',
    methods: ['CARD', 'UPI', 'NET_BANKING', 'WALLET', 'PAY_LATER'],
  } as const;
  private readonly ledger = new Map<string, MockLedgerEntry>();

  constructor(private readonly options: MockGatewayOptions = {}) {
    if (options.ledgerFile && existsSync(options.ledgerFile)) {
      const entries = JSON.parse(readFileSync(options.ledgerFile, 'utf8')) as MockLedgerEntry[];
      for (const e of entries) this.ledger.set(e.idempotencyKey, e);
    }
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    await sleep(this.options.latencyMs);
    // Idempotent replay: a retried call returns the first call's answer and charges nothing new.
    const existing = this.ledger.get(request.idempotencyKey) ?? this.record(request);
    await sleep(this.options.delayAfterCommitMs);
    const outcome = existing.outcome;
    if (outcome.status === 'succeeded' || outcome.status === 'authorized') {
      return { status: outcome.status, reference: outcome.reference };
    }
    if (outcome.status === 'failed') {
      const failure = Object.values(TOKEN_OUTCOMES).find((o) => o?.code === outcome.code);
      if (failure?.category === 'retry-same-gateway') {
        // Transient errors are not remembered: a retry is a new try.
        this.ledger.delete(request.idempotencyKey);
        this.persist();
      }
      // A replayed call gets the recorded answer, whatever token it carries now.
      throw new GatewayError(failure?.category ?? 'decline', outcome.code, failure?.message ?? outcome.code);
    }
    throw new GatewayError('unknown', 'not_found', 'no outcome recorded');
  }

  async getStatus(idempotencyKey: string): Promise<OperationStatus> {
    return this.ledger.get(idempotencyKey)?.outcome ?? { status: 'not_found' };
  }

  /** Every successful charge or authorization in the ledger (for tests and the demo). */
  charges(): MockLedgerEntry[] {
    return [...this.ledger.values()].filter((e) => e.outcome.status !== 'failed');
  }

  private record(request: ChargeRequest): MockLedgerEntry {
    const failure = TOKEN_OUTCOMES[tokenOf(request)];
    const outcome: OperationStatus = failure
      ? { status: 'failed', code: failure.code }
      : {
          status: request.captureMethod === 'manual' ? 'authorized' : 'succeeded',
          reference: `mock_ch_${randomUUID()}`,
          amount: request.amount,
        };
    const entry = {
      idempotencyKey: request.idempotencyKey,
      paymentId: request.paymentId,
      amount: request.amount,
      outcome,
    };
    this.ledger.set(request.idempotencyKey, entry);
    this.persist();
    return entry;
  }

  private persist(): void {
    const file = this.options.ledgerFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    // Write-then-rename, so a crash never leaves a half-written ledger behind.
    writeFileSync(`${file}.tmp`, JSON.stringify([...this.ledger.values()]));
    renameSync(`${file}.tmp`, file);
  }
}

function tokenOf(request: ChargeRequest): string {
  return request.paymentMethod.type === 'CARD' ? request.paymentMethod.card.token : '';
}

function sleep(ms = 0): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
