import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Money } from '../../../domain/types';
import {
  GatewayError,
  type GatewayErrorCategory,
  type CaptureRequest,
  type ChargeRequest,
  type FollowUpRequest,
  type RefundRequest,
  type ChargeResult,
  type Gateway,
  type GatewayConfig,
  type OperationStatus,
} from '../gateway';

/** Stripe's test token for a card that always asks for 3-D Secure authentication. */
const THREE_D_SECURE_TOKEN = 'tok_threeDSecure2Required';

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
  tok_chargeDeclinedExpiredCard: {
    category: 'decline',
    code: 'expired_card',
    message: 'Your card has expired.',
  },
  tok_chargeDeclinedIncorrectCvc: {
    category: 'decline',
    code: 'incorrect_cvc',
    message: "Your card's security code is incorrect.",
  },
  tok_chargeDeclinedProcessingError: {
    category: 'retry-same-gateway',
    code: 'processing_error',
    message: 'An error occurred while processing your card. Try again.',
  },
};

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
  operation: 'charge' | 'confirm' | 'capture' | 'void' | 'refund';
  /** For follow-up operations: the charge they act on. */
  chargeReference?: string;
  amount: Money;
  outcome: MockOutcome;
}

/** What the MOCK ledger records of one call: done, or refused with a code. */
type MockOutcome =
  | { status: 'succeeded' | 'authorized' | 'requires_action'; reference: string; amount: Money }
  | { status: 'failed'; code: string };

/** What the MOCK gateway knows of one charge, by its reference. */
interface MockCharge {
  status: 'requires_action' | 'authorized' | 'succeeded' | 'voided';
  captureMethod: 'automatic' | 'manual';
  amount: Money;
  captured: number;
  refunded: number;
}

/** A stateful in-process gateway with Stripe-style test cards and a ledger keyed by idempotency key. */
export class MockGateway implements Gateway {
  readonly type = 'MOCK' as const;
  /** The ledger answers lookups at once. */
  readonly lookupLagMs: number;
  /** In-process: nothing to point at; its test cards behave the same everywhere. */
  readonly policySettings = {};
  readonly capabilities = {
    currencies: 'all',
    methods: ['CARD', 'UPI', 'NET_BANKING', 'WALLET', 'PAY_LATER'],
  } as const;
  /** When set, refunds are declined with this code (to exercise REFUND_FAILED). */
  failRefundsWith?: string;
  private readonly ledger = new Map<string, MockLedgerEntry>();
  private readonly chargesByReference = new Map<string, MockCharge>();

  constructor(private readonly options: MockGatewayOptions = {}) {
    this.lookupLagMs = options.lookupLagMs ?? 0;
    if (options.ledgerFile && existsSync(options.ledgerFile)) {
      const entries = JSON.parse(readFileSync(options.ledgerFile, 'utf8')) as MockLedgerEntry[];
      for (const e of entries) this.apply(e);
    }
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    return this.operate(request, 'charge', request.amount, () => {
      const failure = TOKEN_OUTCOMES[tokenOf(request)];
      if (failure) return { status: 'failed', code: failure.code };
      const status =
        tokenOf(request) === THREE_D_SECURE_TOKEN
          ? 'requires_action'
          : request.captureMethod === 'manual'
            ? 'authorized'
            : 'succeeded';
      return { status, reference: `mock_ch_${randomUUID()}`, amount: request.amount };
    }).then(asChargeResult);
  }

  async confirm(request: FollowUpRequest): Promise<ChargeResult> {
    const charge = this.chargeOf(request.reference);
    return this.operate(request, 'confirm', charge.amount, () => {
      if (charge.status !== 'requires_action')
        return { status: 'failed', code: 'payment_intent_unexpected_state' };
      const status = charge.captureMethod === 'manual' ? 'authorized' : 'succeeded';
      return { status, reference: request.reference, amount: charge.amount };
    }).then(asChargeResult);
  }

  async capture(request: CaptureRequest): Promise<{ reference: string }> {
    const charge = this.chargeOf(request.reference);
    const outcome = await this.operate(request, 'capture', request.amount, () =>
      charge.status !== 'authorized'
        ? { status: 'failed', code: 'payment_intent_unexpected_state' }
        : request.amount.amount > charge.amount.amount
          ? { status: 'failed', code: 'amount_too_large' }
          : { status: 'succeeded', reference: request.reference, amount: request.amount },
    );
    return { reference: (outcome as { reference: string }).reference };
  }

  async void(request: FollowUpRequest): Promise<void> {
    const charge = this.chargeOf(request.reference);
    await this.operate(request, 'void', charge.amount, () =>
      charge.status === 'authorized' || charge.status === 'requires_action'
        ? { status: 'succeeded', reference: request.reference, amount: charge.amount }
        : { status: 'failed', code: 'payment_intent_unexpected_state' },
    );
  }

  async refund(request: RefundRequest): Promise<{ reference: string }> {
    const charge = this.chargeOf(request.reference);
    const outcome = await this.operate(request, 'refund', request.amount, () =>
      this.failRefundsWith
        ? { status: 'failed', code: this.failRefundsWith }
        : request.amount.amount > charge.captured - charge.refunded
          ? { status: 'failed', code: 'amount_too_large' }
          : { status: 'succeeded', reference: `mock_re_${randomUUID()}`, amount: request.amount },
    );
    return { reference: (outcome as { reference: string }).reference };
  }

  async getStatus(idempotencyKey: string): Promise<OperationStatus> {
    const outcome = this.ledger.get(idempotencyKey)?.outcome;
    if (!outcome) return { status: 'not_found' };
    if (outcome.status !== 'failed') return outcome;
    const category = Object.values(TOKEN_OUTCOMES).find((o) => o?.code === outcome.code)?.category;
    return { ...outcome, category: category === 'failover' ? 'failover' : 'decline' };
  }

  /** Every successful charge or authorization in the ledger (for tests and the demo). */
  charges(): MockLedgerEntry[] {
    return this.operations('charge');
  }

  /** Every successful operation of a kind in the ledger. */
  operations(kind: MockLedgerEntry['operation']): MockLedgerEntry[] {
    return [...this.ledger.values()].filter((e) => e.operation === kind && e.outcome.status !== 'failed');
  }

  /**
   * Runs one operation exactly once per idempotency key: a retried call replays the recorded
   * outcome and moves no money; only transient failures are forgotten, so a retry is a new try.
   */
  private async operate(
    key: { idempotencyKey: string; paymentId: string; reference?: string },
    operation: MockLedgerEntry['operation'],
    amount: Money,
    decide: () => MockOutcome,
  ): Promise<MockOutcome> {
    const { idempotencyKey, paymentId, reference } = key;
    await sleep(this.options.latencyMs);
    let entry = this.ledger.get(idempotencyKey);
    if (!entry) {
      entry = {
        idempotencyKey,
        paymentId,
        operation,
        amount,
        outcome: decide(),
        ...(reference ? { chargeReference: reference } : {}),
      };
      this.apply(entry);
      this.persist();
    }
    await sleep(this.options.delayAfterCommitMs);
    const outcome = entry.outcome;
    if (outcome.status !== 'failed') return outcome;
    const failure = Object.values(TOKEN_OUTCOMES).find((o) => o?.code === outcome.code);
    if (failure?.category === 'retry-same-gateway') {
      this.ledger.delete(idempotencyKey);
      this.persist();
    }
    throw new GatewayError(failure?.category ?? 'decline', outcome.code, failure?.message ?? outcome.code);
  }

  /** Records a ledger entry and its effect on the charge it concerns. */
  private apply(entry: MockLedgerEntry): void {
    this.ledger.set(entry.idempotencyKey, entry);
    const { outcome } = entry;
    if (outcome.status === 'failed') return;
    if (entry.operation === 'charge') {
      this.chargesByReference.set(outcome.reference, {
        status: outcome.status,
        captureMethod: outcome.status === 'authorized' ? 'manual' : 'automatic',
        amount: outcome.amount,
        captured: outcome.status === 'succeeded' ? outcome.amount.amount : 0,
        refunded: 0,
      });
      return;
    }
    const charge = this.chargesByReference.get(entry.chargeReference ?? outcome.reference);
    if (!charge) return;
    if (entry.operation === 'confirm') {
      charge.status = outcome.status === 'authorized' ? 'authorized' : 'succeeded';
      charge.captured = charge.status === 'succeeded' ? charge.amount.amount : 0;
    } else if (entry.operation === 'capture') {
      charge.status = 'succeeded';
      charge.captured = entry.amount.amount;
    } else if (entry.operation === 'void') {
      charge.status = 'voided';
    } else {
      charge.refunded += entry.amount.amount;
    }
  }

  private chargeOf(reference: string): MockCharge {
    const charge = this.chargesByReference.get(reference);
    if (!charge) throw new GatewayError('decline', 'resource_missing', `No such charge: ${reference}`);
    return charge;
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

function asChargeResult(outcome: MockOutcome): ChargeResult {
  const { status, reference } = outcome as { status: ChargeResult['status']; reference: string };
  return { status, reference };
}

function tokenOf(request: ChargeRequest): string {
  return request.paymentMethod.type === 'CARD' ? request.paymentMethod.card.token : '';
}

function sleep(ms = 0): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
