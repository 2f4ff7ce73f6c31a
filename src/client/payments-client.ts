import {
  Client,
  QueryRejectedError,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Connection,
} from '@temporalio/client';
import type { DataConverter, QueryDefinition, UpdateDefinition } from '@temporalio/common';
import {
  AegisPayError,
  ConfigurationError,
  ErrorCode,
  IdempotencyConflictError,
  InvalidStateTransitionError,
  ValidationError,
} from '../domain/errors';
import { withFullRefundByDefault } from '../domain/follow-up-requests';
import { lateRefundWorkflowId, paymentWorkflowId } from '../domain/ids';
import { toMinorUnits } from '../domain/money';
import {
  gatewayHealthWorkflowId,
  summarizeHealth,
  type GatewayHealthSummary,
  type HealthState,
  type HealthSummary,
} from '../domain/health';
import { assertCancellable, repeatsCapture, resolveCapture, resolveRefund } from '../domain/lifecycle';
import {
  cancelUpdate,
  captureUpdate,
  completeActionUpdate,
  resolveReviewUpdate,
  refundUpdate,
  type CancelRequest,
  type CaptureRequest,
  type CompleteActionRequest,
  type RefundRequest,
  createUpdate,
  eventsQuery,
  healthQuery,
  paymentQuery,
  processUpdate,
  type ProcessRequest,
} from '../domain/messages';
import { newPaymentOf, paymentDetails, paymentSummary, type PaymentWorkflowInput } from '../domain/payment';
import { checkResolveReviewRequest, type ResolveReviewRequest } from '../domain/review';
import {
  PAYMENT_AMOUNT,
  PAYMENT_CURRENCY,
  PAYMENT_CUSTOMER_ID,
  PAYMENT_GATEWAY,
  PAYMENT_REFUNDED,
  PAYMENT_STATE,
} from '../domain/search-attributes';
import {
  PaymentState,
  type CreatePaymentRequest,
  type DomainEvent,
  type GatewayType,
  type NewPayment,
  type Payment,
} from '../domain/types';
import {
  parseOrThrow,
  processPaymentRequestSchema,
  capturePaymentRequestSchema,
  cancelPaymentRequestSchema,
  refundPaymentRequestSchema,
  completeActionRequestSchema,
  validateCreatePaymentRequest,
} from '../domain/validation';
import { createLogger, type Logger } from '../logging';
import { installTemporalRuntime } from '../temporal-runtime';
import { paymentWorkflow } from '../workflows/payment-workflow';
import { lateRefundWorkflow, type LateRefundWorkflowInput } from '../workflows/late-refund-workflow';
import type { PaymentStore } from '../store';
import {
  clientConfigSchema,
  paymentSettings,
  storeConfigOf,
  type ClientConfig,
  type ResolvedClientConfig,
} from '../config';
import { createDataConverter } from '../codec/data-converter';
import { connectClient, resolveConnection, type ResolvedConnection } from '../temporal/connection';
import { createTracing, tracingClientInterceptors, type Tracing } from '../tracing';
import { isClosedWorkflowError, isUnansweredUpdate, isUpdateAnswerLost, toAegisPayError } from './errors';
import {
  listPaymentsQuery,
  storedPaymentSummary,
  listPaymentsRequestSchema,
  type ListPaymentsRequest,
  type PaymentListPage,
  toPaymentSummary,
} from './list-payments';
import { preparePayment } from './prepare-payment';
import { assertFleetEncryption } from './fleet-check';

/** A closed payment answers a process request with its outcome, unless it was cancelled before it was ever processed. */
function assertProcessedOrProcessable(closed: Payment): void {
  if (closed.state === 'CANCELLED' && closed.attempts.length === 0) {
    throw new InvalidStateTransitionError(
      closed.state,
      'PROCESSING',
      `payment ${closed.id} was cancelled before processing`,
    );
  }
}

/**
 * How an update is re-sent when it got no answer from the workflow: attempts in all, and the first
 * backoff (doubled each time, with jitter so a crowd of duplicates does not return in step).
 */
const UPDATE_ATTEMPTS = 6;
const UPDATE_RETRY_BASE_MS = 100;

const CLOSED = Symbol('closed');

/** The query's answer while the workflow runs, or CLOSED once it has closed (the server refuses the query). */
async function queryIfOpen<T>(
  openOnly: Client,
  workflowId: string,
  query: QueryDefinition<T>,
): Promise<T | typeof CLOSED> {
  try {
    return await openOnly.workflow.getHandle(workflowId).query(query);
  } catch (err) {
    if (err instanceof QueryRejectedError) return CLOSED;
    throw err;
  }
}

/** A live connection to Temporal, opened once per client; the embedded runtime's worker reuses it. */
export interface Connected {
  client: Client;
  /** The same client, but its queries are refused by the server (QueryRejectedError) once the workflow has closed. */
  openOnly: Client;
  connection: Connection;
  namespace: string;
  /** Where Temporal is, resolved once: the embedded worker connects to the same place. */
  target: ResolvedConnection;
  tracing?: Tracing;
}

/**
 * What the embedded runtime (src/embedded/) adds to a client: its own Temporal server, and a worker
 * started once the client is connected. A client without one talks to a Temporal run elsewhere.
 */
export interface ClientRuntime {
  /** Options for the Temporal core runtime, installed before the first connection. */
  coreOptions(): Promise<{ prometheusBindAddress?: string }>;
  /** Where Temporal is when the config says `'embedded'`. */
  embeddedTarget(): Promise<ResolvedConnection>;
  /** Called after every connect; starts what must run before a call goes out (once). */
  connected(connected: Connected): Promise<void>;
}

/**
 * The AegisPay client: it creates, charges and follows payments through Temporal, connecting lazily.
 * It runs nothing itself; `AegisPay` (src/embedded/) adds the in-process server and worker.
 */
export class PaymentsClient {
  protected readonly config: ResolvedClientConfig;
  /** Left out, it is Temporal's environment configuration, which falls back to the schema's localhost default. */
  private readonly temporal: ResolvedClientConfig['temporal'];
  protected readonly logger: Logger;
  /** One converter (codecs included) for this client, its health-report client and its embedded worker. */
  protected readonly dataConverter: DataConverter;
  private connecting?: Promise<Connected>;
  private storeOpening?: Promise<PaymentStore | undefined>;
  private runtime?: ClientRuntime;

  constructor(config: ClientConfig = {}, what = 'client config') {
    this.config = parseOrThrow(clientConfigSchema, config, what);
    this.temporal = config.temporal === undefined ? 'env' : this.config.temporal;
    this.logger = createLogger(this.config.logging.level, this.config.logDestination);
    this.dataConverter = createDataConverter(this.config.encryption);
  }

  /** Attaches the embedded runtime; set once, before the first call. */
  protected attachRuntime(runtime: ClientRuntime): void {
    this.runtime = runtime;
  }

  /** Creates the payment (state INITIATED), or returns the one created earlier with this key and request. */
  async createPayment(request: CreatePaymentRequest): Promise<Payment> {
    const payment = await this.prepare(request);
    return this.updateWithStart(payment, createUpdate, { fingerprint: payment.fingerprint });
  }

  /** Routes and charges a created payment; resolves with its settled state. A decline is a FAILURE, not an error. */
  async processPayment(request: { paymentId: string; gatewayType?: GatewayType }): Promise<Payment> {
    const { paymentId, gatewayType } = parseOrThrow(processPaymentRequestSchema, request, 'process request');
    const { client } = await this.connect();
    const handle = client.workflow.getHandle<typeof paymentWorkflow>(paymentId);
    try {
      return await this.sendUpdate(paymentId, true, () =>
        handle.executeUpdate(processUpdate, { args: [gatewayType ? { gatewayType } : {}] }),
      );
    } catch (err) {
      if (!isClosedWorkflowError(err)) throw toAegisPayError(err, { paymentId });
      // A payment whose workflow has closed has settled: its outcome is the workflow's result,
      // unless it was cancelled before it was ever processed.
      const closed = await this.getPayment(paymentId);
      assertProcessedOrProcessable(closed);
      return closed;
    }
  }

  /** Creates and processes in one round trip (Update-With-Start); duplicates get the first call's outcome. */
  async pay(request: CreatePaymentRequest): Promise<Payment> {
    const payment = await this.prepare(request);
    const process: ProcessRequest = { fingerprint: payment.fingerprint };
    if (payment.gatewayType) process.gatewayType = payment.gatewayType;
    return this.updateWithStart(payment, processUpdate, process);
  }

  /** Captures an AUTHORIZED payment, fully (no `amount`) or partially (`amount` in major units); the rest is released. */
  async capturePayment(paymentId: string, request: CaptureRequest = {}): Promise<Payment> {
    const valid = parseOrThrow(capturePaymentRequestSchema, request, 'capture request');
    return this.updatePayment(
      paymentId,
      captureUpdate,
      valid,
      (closed) => repeatsCapture(closed, valid) || resolveCapture(closed, valid),
      false,
    );
  }

  /** Cancels a payment before capture (INITIATED, AUTHORIZED, REQUIRES_ACTION); an authorization is voided. */
  async cancelPayment(paymentId: string, request: CancelRequest = {}): Promise<Payment> {
    const valid = parseOrThrow(cancelPaymentRequestSchema, request, 'cancel request');
    // A cancelled payment answers a repeated cancel with itself: the same operation, not an error.
    return this.updatePayment(
      paymentId,
      cancelUpdate,
      valid,
      (closed) => closed.state === 'CANCELLED' || assertCancellable(closed),
      false,
    );
  }

  /**
   * Refunds part (`amount` in major units) or all (`full: true`) of what was captured; `refundId` makes it
   * idempotent. Naming neither refunds everything, sent as `full: true`; an `amount` that is present but
   * `undefined`, `null` or `""` is refused, never read as "everything".
   */
  async refundPayment(paymentId: string, request: RefundRequest = {}): Promise<Payment> {
    const valid = parseOrThrow(
      refundPaymentRequestSchema,
      withFullRefundByDefault(request),
      'refund request',
    );
    // A payment whose workflow closed (or is gone) is refunded through the store, if there is one;
    // the update itself tells, so a running payment's refund costs no status call first.
    const store = await this.store();
    return this.updatePayment(
      paymentId,
      refundUpdate,
      valid,
      // Without a store, a repeated refundId on a closed payment returns it; anything else gets the error.
      (closed) => resolveRefund(closed, valid, 0).kind === 'existing',
      valid.refundId !== undefined,
      store ? () => this.lateRefund(store, paymentId, valid) : undefined,
    );
  }

  /** Reports the customer's answer to a 3-D Secure (or other) action; the payment then settles. */
  async completePaymentAction(paymentId: string, request: CompleteActionRequest): Promise<Payment> {
    const valid = parseOrThrow(completeActionRequestSchema, request, 'action result');
    return this.updatePayment(paymentId, completeActionUpdate, valid, () => false, false);
  }

  /**
   * Settles a payment in REQUIRES_REVIEW with an operator's decision: `done` when the open operation
   * happened at the gateway (a charge needs its `reference`), `not_done` when it did not. The decision and
   * `operator` are kept in the payment's events.
   */
  async resolveReview(paymentId: string, request: ResolveReviewRequest): Promise<Payment> {
    const valid = checkResolveReviewRequest(request);
    return this.updatePayment(paymentId, resolveReviewUpdate, valid, () => false, false);
  }

  /**
   * Continues a payment whose workflow was terminated (`temporal workflow terminate`, or a failed
   * run): a new run of the same payment starts from its last state and events; a charge that may have
   * been in flight goes to REQUIRES_REVIEW, where the gateway's lookup settles it. A running or
   * completed payment has nothing to recover and is returned as it is. Needs a worker (to read the
   * terminated run's last state).
   */
  async recoverPayment(paymentId: string): Promise<Payment> {
    const { client } = await this.connect();
    const handle = client.workflow.getHandle<typeof paymentWorkflow>(paymentId);
    try {
      const { status } = await handle.describe();
      if (status.name === 'RUNNING' || status.name === 'COMPLETED') return await this.getPayment(paymentId);
      const [last, events] = await Promise.all([handle.query(paymentQuery), handle.query(eventsQuery)]);
      await client.workflow.start(paymentWorkflow, {
        ...this.startOptions(newPaymentOf(last), { recovered: { payment: last, events } }),
        // A terminated run may be followed by a new one; nothing else may be.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
      return await client.workflow.getHandle(paymentId).query(paymentQuery);
    } catch (err) {
      throw toAegisPayError(err, { paymentId });
    }
  }

  /** The payment's current state; answers for closed payments from their final result, with no worker needed. */
  async getPayment(paymentId: string): Promise<Payment> {
    const { client, openOnly } = await this.connect();
    // While the workflow runs it answers (what a caller reads reflects the call it just made); once it
    // is gone (retention), the store does. A closed payment's store row is its final view.
    return this.orFromStore(
      paymentId,
      async () => {
        try {
          const running = await queryIfOpen(openOnly, paymentId, paymentQuery);
          if (running !== CLOSED) return running;
          // Closed: the store is the record (a late refund shows there, not in the workflow's result).
          const stored = await (await this.store())?.getPayment(paymentId);
          return stored ?? (await client.workflow.getHandle<typeof paymentWorkflow>(paymentId).result());
        } catch (err) {
          throw toAegisPayError(err, { paymentId });
        }
      },
      (store) => store.getPayment(paymentId),
    );
  }

  /** The payment created with this idempotency key. */
  async getPaymentByIdempotencyKey(idempotencyKey: string): Promise<Payment> {
    return this.getPayment(paymentWorkflowId(idempotencyKey, this.config.merchantScope));
  }

  /** The payment's domain events in order (its audit trail). */
  async getPaymentEvents(paymentId: string): Promise<DomainEvent[]> {
    const { client, openOnly } = await this.connect();
    return this.orFromStore(
      paymentId,
      async () => {
        try {
          const running = await queryIfOpen(openOnly, paymentId, eventsQuery);
          if (running !== CLOSED) return running;
          const stored = (await (await this.store())?.getEvents(paymentId)) ?? [];
          return stored.length > 0 ? stored : await client.workflow.getHandle(paymentId).query(eventsQuery);
        } catch (err) {
          throw toAegisPayError(err, { paymentId });
        }
      },
      async (store) => {
        const events = await store.getEvents(paymentId);
        return events.length > 0 ? events : undefined;
      },
    );
  }

  /** Payments from Temporal visibility, filtered by search attributes (eventually consistent). */
  async listPayments(request: ListPaymentsRequest = {}): Promise<PaymentListPage> {
    const filters = parseOrThrow(listPaymentsRequestSchema, request, 'list request');
    const store = await this.store();
    if (store) {
      const { pageToken, ...rest } = filters;
      const page = await store.listPayments({ ...rest, ...(pageToken ? { cursor: pageToken } : {}) });
      return {
        payments: page.payments.map((p) => storedPaymentSummary(p)),
        ...(page.nextCursor ? { nextPageToken: page.nextCursor } : {}),
      };
    }
    if ([filters.minAmount, filters.maxAmount, filters.from, filters.to].some((v) => v !== undefined)) {
      throw new ValidationError(
        [{ path: '', message: 'amount and date filters need a payment store (the `store` option)' }],
        'list request',
      );
    }
    const { connection, namespace } = await this.connect();
    const response = await connection.workflowService
      .listWorkflowExecutions({
        namespace,
        query: listPaymentsQuery(filters),
        pageSize: filters.limit,
        ...(filters.pageToken ? { nextPageToken: Buffer.from(filters.pageToken, 'base64url') } : {}),
      })
      .catch((err: unknown) => {
        throw toAegisPayError(err);
      });
    const token = response.nextPageToken?.length
      ? Buffer.from(response.nextPageToken).toString('base64url')
      : undefined;
    return {
      payments: response.executions.map(toPaymentSummary),
      ...(token ? { nextPageToken: token } : {}),
    };
  }

  /** The deployment guide's name (docs/migrating.md): a customer's most recent payments. */
  async getCustomerPayments(customerId: string, limit = 20): Promise<PaymentListPage> {
    return this.listPayments({ customerId, limit });
  }

  /** Every gateway's breaker state and statistics, summed over all live workers of this task queue. */
  async getHealthSummary(): Promise<HealthSummary> {
    const { client } = await this.connect();
    const handle = client.workflow.getHandle(gatewayHealthWorkflowId(this.config.taskQueue));
    let state: HealthState = { reports: {}, transitions: [] };
    try {
      state = await handle.query(healthQuery);
    } catch (err) {
      // No worker has reported yet: nothing is known, which the summary says (healthy: false).
      if (!(err instanceof WorkflowNotFoundError)) throw toAegisPayError(err);
    }
    return summarizeHealth(state, Date.now(), this.config.healthLiveWithinMs);
  }

  /** One gateway's figures (or all of them), from the health summary. */
  async getGatewayMetrics(type?: GatewayType): Promise<GatewayHealthSummary[]> {
    const { gateways } = await this.getHealthSummary();
    return type ? gateways.filter((g) => g.gateway === type) : gateways;
  }

  /** Payments by state (from visibility) and gateway figures (from the workers' reports). */
  async getMetrics(): Promise<{
    payments: Record<PaymentState, number> & { total: number };
    gateways: GatewayHealthSummary[];
  }> {
    const { client } = await this.connect();
    const states = Object.values(PaymentState);
    const counts = await Promise.all(
      states.map((state) =>
        client.workflow.count(listPaymentsQuery(listPaymentsRequestSchema.parse({ state }))),
      ),
    ).catch((err: unknown) => {
      throw toAegisPayError(err);
    });
    const payments = Object.fromEntries(states.map((state, i) => [state, counts[i]!.count])) as Record<
      PaymentState,
      number
    >;
    const total = counts.reduce((sum, c) => sum + c.count, 0);
    return { payments: { ...payments, total }, gateways: (await this.getHealthSummary()).gateways };
  }

  /** The system of record, opened on first use (undefined without one). */
  protected async store(): Promise<PaymentStore | undefined> {
    const config = storeConfigOf(this.config);
    if (!config) return undefined;
    const opening = (this.storeOpening ??= import('../store').then(({ openPaymentStore }) =>
      openPaymentStore({
        ...config,
        ...(this.config.encryption ? { encryption: this.config.encryption } : {}),
      }),
    ));
    // A failed open (the database was down) is tried again by the next call, not remembered.
    opening.catch(() => {
      if (this.storeOpening === opening) this.storeOpening = undefined;
    });
    return opening;
  }

  /** Reads from the system of record when Temporal no longer has the payment's workflow. */
  private async orFromStore<T>(
    paymentId: string,
    fromTemporal: () => Promise<T>,
    fromStore: (store: PaymentStore) => Promise<T | undefined>,
  ): Promise<T> {
    try {
      return await fromTemporal();
    } catch (err) {
      const store =
        (err as { code?: string }).code === ErrorCode.PAYMENT_NOT_FOUND ? await this.store() : undefined;
      const stored = store ? await fromStore(store) : undefined;
      if (stored === undefined) throw err;
      return stored;
    }
  }

  /** Whether Temporal no longer has the payment's workflow (retention deleted it, or it never started). */
  private async workflowGone(paymentId: string): Promise<boolean> {
    const { client } = await this.connect();
    try {
      await client.workflow.getHandle(paymentId).describe();
      return false;
    } catch (err) {
      const mapped = toAegisPayError(err, { paymentId });
      if ((mapped as { code?: string }).code === ErrorCode.PAYMENT_NOT_FOUND) return true;
      throw mapped;
    }
  }

  /**
   * A refund of a payment whose workflow has closed: a short workflow of its own, keyed by payment and
   * refund ID (so two callers get one refund), reserves it in the store under the never-over-refund row
   * lock, makes it at the gateway and records the outcome. Without a refundId, the request's amount keys
   * it: the same request twice is one refund.
   */
  private async lateRefund(store: PaymentStore, paymentId: string, request: RefundRequest): Promise<Payment> {
    const stored = await store.getPayment(paymentId);
    if (!stored) throw new AegisPayError(ErrorCode.PAYMENT_NOT_FOUND, `Payment ${paymentId} not found`);
    const existing = request.refundId ? stored.refunds.find((r) => r.id === request.refundId) : undefined;
    if (existing) return stored;
    const amount = request.full ? undefined : toMinorUnits(request.amount!, stored.amount.currency);
    const refundId = request.refundId ?? `late-${amount ?? 'full'}`;
    const { client } = await this.connect();
    const options = {
      workflowId: lateRefundWorkflowId(paymentId, refundId),
      taskQueue: this.config.taskQueue,
      args: [
        {
          paymentId,
          refundId,
          ...(amount === undefined ? { full: true } : { amount }),
          windowMs: this.config.lateRefundWindowMs,
          ...(request.reason ? { reason: request.reason } : {}),
          settings: paymentSettings(this.config),
        },
      ] as [LateRefundWorkflowInput],
      workflowIdConflictPolicy: 'USE_EXISTING' as const,
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    };
    try {
      const handle = await client.workflow.start(lateRefundWorkflow, options).catch((err: unknown) => {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        return client.workflow.getHandle<typeof lateRefundWorkflow>(options.workflowId);
      });
      return await handle.result();
    } catch (err) {
      throw toAegisPayError(err, { paymentId });
    }
  }

  /** Closes the store, the connection and the tracing provider. */
  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = undefined;
    const store = await this.storeOpening?.catch(() => undefined);
    this.storeOpening = undefined;
    await store?.close();
    if (!connecting) return;
    const connected = await connecting.catch(() => undefined);
    await connected?.connection.close();
    await connected?.tracing?.shutdown();
  }

  /**
   * Sends an update to the payment. A closed payment cannot take it; `onClosed` applies the same
   * domain rule to its final state, so the caller gets the error the open workflow would have given
   * (or, returning true, the closed payment itself: an idempotent repeat). `idempotent` says whether
   * sending the same update twice gives the same outcome (a refund with a refundId does).
   * `whenClosed`, when given, answers for a closed or deleted workflow instead (a late refund).
   */
  private async updatePayment<Arg>(
    paymentId: string,
    update: UpdateDefinition<Payment, [Arg]>,
    arg: Arg,
    onClosed: (closed: Payment) => unknown,
    idempotent: boolean,
    whenClosed?: () => Promise<Payment>,
  ): Promise<Payment> {
    const { client } = await this.connect();
    try {
      const handle = client.workflow.getHandle(paymentId);
      return await this.sendUpdate(paymentId, idempotent, () =>
        handle.executeUpdate(update, { args: [arg] }),
      );
    } catch (err) {
      if (!isClosedWorkflowError(err)) throw toAegisPayError(err, { paymentId });
      if (whenClosed) return whenClosed();
      const closed = await this.getPayment(paymentId);
      if (onClosed(closed) === true) return closed;
      throw new InvalidStateTransitionError(closed.state, update.name, `payment ${paymentId} is closed`);
    }
  }

  private async prepare(request: CreatePaymentRequest): Promise<NewPayment> {
    const validated = validateCreatePaymentRequest(request);
    // The caller's own rules see a request that already passed AegisPay's.
    const issues = this.config.validate?.(request) ?? [];
    if (issues.length > 0) throw new ValidationError(issues, 'payment request');
    return preparePayment(validated, this.config.tokenizer, this.config.merchantScope);
  }

  /** How a payment's workflow starts: its input, task queue, search attributes and Web UI summary. */
  private startOptions(payment: NewPayment, extra: Pick<PaymentWorkflowInput, 'recovered'> = {}) {
    const input: PaymentWorkflowInput = { payment, settings: paymentSettings(this.config), ...extra };
    const state = extra.recovered?.payment.state ?? 'INITIATED';
    const refunded = extra.recovered?.payment.amounts.refunded ?? 0;
    return {
      workflowId: payment.id,
      taskQueue: this.config.taskQueue,
      args: [input] as [PaymentWorkflowInput],
      typedSearchAttributes: [
        { key: PAYMENT_STATE, value: state satisfies PaymentState },
        { key: PAYMENT_AMOUNT, value: payment.amount.amount },
        { key: PAYMENT_CURRENCY, value: payment.amount.currency },
        { key: PAYMENT_CUSTOMER_ID, value: payment.customer.id },
        ...(payment.gatewayType ? [{ key: PAYMENT_GATEWAY, value: payment.gatewayType }] : []),
        ...(refunded > 0 ? [{ key: PAYMENT_REFUNDED, value: refunded }] : []),
      ],
      staticSummary: paymentSummary({ amount: payment.amount, paymentMethod: payment.paymentMethod }),
      staticDetails: paymentDetails(payment),
    };
  }

  private async updateWithStart<Arg>(
    payment: NewPayment,
    update: typeof createUpdate | typeof processUpdate,
    arg: Arg,
  ): Promise<Payment> {
    const { client } = await this.connect();
    // After retention deleted its workflow, the store still knows this key: the payment it made is the
    // answer (the same request) or a conflict, never a second payment under the same ID.
    const stored = await (await this.store())?.getPayment(payment.id);
    if (stored && (await this.workflowGone(payment.id))) {
      if (stored.fingerprint !== payment.fingerprint)
        throw new IdempotencyConflictError(payment.idempotencyKey);
      if (update === processUpdate) assertProcessedOrProcessable(stored);
      return stored;
    }
    const startOptions = {
      ...this.startOptions(payment),
      // Concurrent duplicates attach to the running payment; a closed one is never started again.
      workflowIdConflictPolicy: 'USE_EXISTING' as const,
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    };
    try {
      return await this.sendUpdate(payment.id, true, () =>
        client.workflow.executeUpdateWithStart(update as typeof processUpdate, {
          args: [arg as ProcessRequest],
          startWorkflowOperation: new WithStartWorkflowOperation(paymentWorkflow, startOptions),
        }),
      );
    } catch (err) {
      if (!isClosedWorkflowError(err)) {
        throw toAegisPayError(err, { paymentId: payment.id, idempotencyKey: payment.idempotencyKey });
      }
      // The payment for this key has closed: answer from its final state, if the request is the same.
      const closed = await this.getPayment(payment.id);
      if (closed.fingerprint !== payment.fingerprint)
        throw new IdempotencyConflictError(payment.idempotencyKey);
      if (update === processUpdate) assertProcessedOrProcessable(closed);
      return closed;
    }
  }

  /**
   * Sends an update, again when the workflow never answered it (see `isUnansweredUpdate`: no handler
   * ran, so this is safe for any update) and, for an idempotent update, when the client stopped
   * waiting for the answer (the update may have run; running it again gives the same outcome).
   */
  private async sendUpdate<T>(paymentId: string, idempotent: boolean, send: () => Promise<T>): Promise<T> {
    // Nothing reaches a payment unless this client and the queue's workers share encryption.
    await assertFleetEncryption((await this.connect()).client, this.config.taskQueue);
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        const retryable = isUnansweredUpdate(err) || (idempotent && isUpdateAnswerLost(err));
        if (!retryable || attempt >= UPDATE_ATTEMPTS) throw err;
        const delayMs = UPDATE_RETRY_BASE_MS * 2 ** (attempt - 1) * (0.5 + Math.random());
        this.logger.warn(
          { paymentId, attempt, delayMs: Math.round(delayMs), reason: (err as Error).message },
          'update got no answer from the workflow; sending it again',
        );
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  protected async connect(): Promise<Connected> {
    const connecting = (this.connecting ??= this.open());
    // A failed connect (Temporal was down) is tried again by the next call, not remembered.
    connecting.catch(() => {
      if (this.connecting === connecting) this.connecting = undefined;
    });
    const connected = await connecting;
    await this.runtime?.connected(connected);
    return connected;
  }

  private async open(): Promise<Connected> {
    installTemporalRuntime(this.logger, 'INFO', (await this.runtime?.coreOptions()) ?? {});
    const target = await this.resolveTarget();
    const connection = await connectClient(target, this.config.temporalTimeoutMs);
    const tracing = this.config.tracing ? createTracing(this.config.tracing) : undefined;
    const clientOptions = {
      connection,
      namespace: target.namespace,
      dataConverter: this.dataConverter,
      ...(tracing ? { interceptors: { workflow: tracingClientInterceptors(tracing) } } : {}),
    };
    return {
      client: new Client(clientOptions),
      // One query tells a running payment's state, or that the workflow closed: no describe first.
      openOnly: new Client({ ...clientOptions, workflow: { queryRejectCondition: 'NOT_OPEN' } }),
      connection,
      namespace: target.namespace,
      target,
      ...(tracing ? { tracing } : {}),
    };
  }

  private async resolveTarget(): Promise<ResolvedConnection> {
    if (this.temporal !== 'embedded') return resolveConnection(this.temporal, this.config.temporalEnv);
    if (!this.runtime) {
      throw new ConfigurationError(
        "temporal: 'embedded' needs AegisPay, which runs the server in this process",
      );
    }
    return this.runtime.embeddedTarget();
  }
}
