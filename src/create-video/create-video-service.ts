// The create flow, built once: validate, build the upstream body (serialised once: its size check,
// its Idempotency-Key fingerprint and the upstream request all use the same bytes), honour an
// Idempotency-Key, admit it under the tenant's limits, start the billed task, and write it into the
// task history before answering. Everything that is the caller's fault comes back as userErrors;
// nothing is sent upstream unless all is well. Other refusals are DomainErrors with stable codes.
import { createHash } from 'node:crypto';
import { scopeKeyOf } from '../auth/caller-owner.js';
import { DomainError } from '../domain-error.js';
import { historyOwnerOf } from '../history/caller-history.js';
import type { TaskHistory } from '../history/task-history.js';
import type { Logger } from '../logger.js';
import { UpstreamError, UpstreamInputRejectedError } from '../upstream/errors.js';
import type { CreatedTask } from '../upstream/client.js';
import type { BudgetConfig } from '../config.js';
import { BudgetUnavailableError, type BudgetLedger, type BudgetLimits, type SpendReceipt } from './budget-ledger.js';
import type { CreateAdmission } from './create-admission.js';
import { creditCost } from './credit-cost.js';
import type { CreateOutcome, IdempotencyStore, ReplayedError } from './idempotency.js';
import type { CreatePayloadValue, CreateVideoInputValue, UserErrorValue } from './input.js';
import { inlineUploads } from './inline-uploads.js';
import { toUpstreamBody } from './to-upstream-body.js';
import { validateCreateInput, type ValidationLimits } from './validate-input.js';

/** What the service needs of the upstream client. */
export interface TaskCreator {
  /** `body`: the create request's JSON, already encoded. */
  createTask(body: Buffer, signal?: AbortSignal): Promise<CreatedTask>;
}

export interface CreateVideoServiceDependencies {
  upstream: TaskCreator;
  admission: CreateAdmission;
  idempotency: IdempotencyStore;
  limits: ValidationLimits & { createMaxBodyBytes: number };
  /** Every task started is recorded here before its id is handed out. */
  history: Pick<TaskHistory, 'record'>;
  /** Where a task that could not be recorded is logged (with its upstream id, for reconciling). */
  logger: Logger;
  /** Told about every task started, so reading it back is not a guess (see unknownReadGate). */
  onCreated?: (taskId: string) => void;
  /** Told about every task once its history record is durable (again on a replay), e.g. to follow it to its end. */
  onRecorded?: (taskId: string) => void;
  /** Daily credit budgets: every create spends its cost before the upstream is called. */
  budgets: { ledger: BudgetLedger; config: BudgetConfig };
}

/** The daily limits that apply to a tenant (the open gateway's one shared budget is tenant ''). */
export function budgetLimitsFor(config: BudgetConfig, tenant: string | null): BudgetLimits {
  return (tenant === null ? undefined : config.perTenant[tenant]) ?? config.defaults;
}

/** Who asks, and how: per request. */
export interface CreateRequest {
  tenant: string | null;
  /** The signed-in user of the tenant; null for a client key (or an open gateway). */
  user: string | null;
  /** Where the user's own create rate counts (see userLimitOwnerOf); undefined when not a signed-in user. */
  userOwner: string | undefined;
  /** The request's Idempotency-Key header, when it has one. */
  idempotencyKey: string | undefined;
  /** Fires when the client leaves or the operation's deadline passes. */
  signal: AbortSignal;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function rejected(userErrors: UserErrorValue[]): CreatePayloadValue {
  return { taskId: null, providerRequestId: null, userErrors };
}

/** Where in the input an upstream refusal points, as far as its reason tells. */
function fieldForUpstreamReason(reason: string | undefined): string[] | null {
  switch (reason) {
    case 'ILLEGAL_PROMPT':
      return ['input', 'prompt'];
    case 'ILLEGAL_IMAGE_CONTENT':
    case 'INVALID_IMAGE_FORMAT':
    case 'IMAGE_FILE_EXCEEDS_MAX_SIZE':
    case 'INVALID_IMAGE_SIZE':
      return ['input', 'subjects'];
    case 'INVALID_REQUEST_BODY':
      return ['input'];
    default:
      return null;
  }
}

/**
 * Whether the upstream may have started (and billed) the job although we saw no success: the
 * request was sent and no error answer came back (timeout, connection lost, an unreadable 2xx, the
 * caller leaving). Such a key stays taken, so a retry cannot create a second video.
 */
function outcomeUnknown(error: unknown): boolean {
  if (error instanceof DomainError) return false; // refused by us before the upstream was called
  if (!(error instanceof UpstreamError)) return true;
  if (error.neverSent) return false;
  return error.status === undefined || (error.status >= 200 && error.status < 300);
}

/** The error a replay repeats: the upstream failure's own code, or plainly "unknown outcome". */
function replayedError(error: unknown): ReplayedError {
  if (error instanceof UpstreamError) return { code: error.code, message: error.message };
  return {
    code: 'CREATE_OUTCOME_UNKNOWN',
    message: 'The first request with this Idempotency-Key ended before the video service answered; whether a video was started is unknown.',
  };
}

/**
 * The upstream body, encoded once: its length is the size check, its hash the Idempotency-Key
 * fingerprint, and the same bytes go upstream (a 19 MB body is otherwise copied three more times).
 */
function serialise(input: CreateVideoInputValue): Buffer {
  return Buffer.from(JSON.stringify(toUpstreamBody(input)));
}

/** Same input, same fingerprint: what an Idempotency-Key record remembers. */
function fingerprintOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64url');
}

export class CreateVideoService {
  readonly #deps: CreateVideoServiceDependencies;

  constructor(deps: CreateVideoServiceDependencies) {
    this.#deps = deps;
  }

  async create(input: CreateVideoInputValue, request: CreateRequest): Promise<CreatePayloadValue> {
    const { limits, idempotency } = this.#deps;
    const key = request.idempotencyKey;
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new DomainError('BAD_USER_INPUT', 'The Idempotency-Key header must be 1 to 255 visible ASCII characters.', { argument: 'Idempotency-Key' });
    }
    const userErrors = validateCreateInput(input, limits);
    if (userErrors.length > 0) return rejected(userErrors);
    const inlined = await inlineUploads(input, limits.imageMaxDecodedBytes);
    if (inlined.problems.length > 0) return rejected(inlined.problems);

    const body = serialise(inlined.input);
    if (body.length > limits.createMaxBodyBytes) {
      return rejected([
        {
          field: ['input', 'subjects'],
          code: 'PAYLOAD_TOO_LARGE',
          message: `The request would be ${body.length} bytes; the video service accepts at most ${limits.createMaxBodyBytes}. Use image URLs instead of base64 data.`,
        },
      ]);
    }
    // When the gateway accepted the create: the history record's createdAt.
    const acceptedAt = new Date();
    const units = creditCost(input, this.#deps.budgets.config.weights);
    if (key === undefined) {
      const spent = await this.#spend(request, units);
      if (!spent.ok) return spent.refusal;
      const payload = await this.#startPaid(body, request, spent.receipt);
      if (payload.taskId !== null) await this.#record(request, payload.taskId, input.prompt, acceptedAt);
      return payload;
    }

    // A user's keys are the user's own: another user of the tenant replaying one gets nothing of it.
    const claim = await idempotency.claim(scopeKeyOf(request), key, fingerprintOf(body));
    if (claim.kind === 'mismatch') {
      return rejected([
        { field: null, code: 'IDEMPOTENCY_KEY_REUSED', message: 'This Idempotency-Key was already used with different input; use a new key.' },
      ]);
    }
    if (claim.kind === 'replay') return this.#replay(claim.outcome, request, input.prompt);
    if (claim.kind === 'in-progress') {
      throw new DomainError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still in progress; retry shortly.', {
        retryAfterSeconds: claim.retryAfterSeconds,
      });
    }
    if (claim.kind === 'unavailable') {
      throw new DomainError('IDEMPOTENCY_UNAVAILABLE', 'Idempotency-Key records cannot be reached right now; the create was not sent. Retry shortly.');
    }
    let payload: CreatePayloadValue;
    try {
      // Only a create that is really sent costs: a replay above returned before this.
      const spent = await this.#spend(request, units);
      if (!spent.ok) {
        await claim.free();
        return spent.refusal;
      }
      payload = await this.#startPaid(body, request, spent.receipt);
    } catch (error) {
      if (outcomeUnknown(error)) await claim.settle({ kind: 'unknown', error: replayedError(error) });
      else await claim.free();
      throw error;
    }
    // A refusal with an error body (userErrors) frees the key: fixing the input and retrying is fine.
    if (payload.taskId === null) {
      await claim.free();
      return payload;
    }
    try {
      await this.#record(request, payload.taskId, input.prompt, acceptedAt);
    } finally {
      // Settled as created even when the record failed: a replay writes the record again and only
      // then hands out the id, and never starts a second video.
      await claim.settle({ kind: 'created', payload, acceptedAtMs: acceptedAt.getTime() });
    }
    return payload;
  }

  async #replay(outcome: CreateOutcome, request: CreateRequest, prompt: string): Promise<CreatePayloadValue> {
    if (outcome.kind === 'created') {
      // The first request may have failed to record it (HISTORY_UNAVAILABLE): the id goes out only
      // once the history holds it. Recording an existing task is a no-op.
      if (outcome.payload.taskId !== null) {
        await this.#record(request, outcome.payload.taskId, prompt, new Date(outcome.acceptedAtMs ?? Date.now()));
      }
      return outcome.payload;
    }
    // Same answer as the first time: a retry must not risk a second billed video.
    throw new DomainError(outcome.error.code, outcome.error.message);
  }

  /**
   * Writes the task into the caller's history; resolves once it is durable. A task id is handed out
   * only after this, so no client ever holds an id its history lacks.
   */
  async #record(request: CreateRequest, taskId: string, prompt: string, createdAt: Date): Promise<void> {
    try {
      await this.#deps.history.record({ owner: historyOwnerOf(request.tenant), taskId, prompt, createdAt, createdBy: request.user });
    } catch (error) {
      this.#deps.logger.error(
        { err: error, upstreamTaskId: taskId, idempotencyKey: request.idempotencyKey !== undefined },
        'a started task could not be written to the task history; the create answers HISTORY_UNAVAILABLE',
      );
      throw new DomainError(
        'HISTORY_UNAVAILABLE',
        request.idempotencyKey === undefined
          ? 'The video was started but could not be written to your task history, so its id is not returned. Send creates with an Idempotency-Key to recover the task by retrying.'
          : 'The video was started but could not be written to your task history yet. Retry with the same Idempotency-Key: the retry returns the task once the history is back, without starting another video.',
      );
    }
    this.#deps.onRecorded?.(taskId);
  }

  /**
   * Spends the create's units under the caller's daily limits (the user's and the tenant's), or
   * says which limit refuses it. Counters that cannot be reached refuse the create when a limit
   * applies (BUDGET_UNAVAILABLE); when none does, the create goes on uncounted.
   */
  async #spend(request: CreateRequest, units: number): Promise<{ ok: true; receipt: SpendReceipt | undefined } | { ok: false; refusal: CreatePayloadValue }> {
    const limits = budgetLimitsFor(this.#deps.budgets.config, request.tenant);
    let result;
    try {
      result = await this.#deps.budgets.ledger.spend({ tenant: request.tenant ?? '', user: request.user ?? undefined, units, limits });
    } catch (error) {
      if (error instanceof BudgetUnavailableError && limits.tenantDaily === undefined && (limits.userDaily === undefined || request.user === null)) {
        return { ok: true, receipt: undefined };
      }
      throw error;
    }
    if (result.ok) return { ok: true, receipt: result.receipt };
    const whose = result.limit === 'USER_DAILY' ? 'your own daily limit (USER_DAILY)' : "your team's daily limit (TENANT_DAILY)";
    return {
      ok: false,
      refusal: rejected([
        {
          field: null,
          code: 'BUDGET_EXCEEDED',
          message: `This video costs ${units} credit units, and ${whose} of ${result.dailyLimit} has ${Math.max(0, result.dailyLimit - result.usedToday)} left (${result.usedToday} used). It resets at ${result.resetsAt.toISOString()}.`,
        },
      ]),
    };
  }

  /** Starts the create; when it surely started nothing (refused, or never sent), its units go back. */
  async #startPaid(body: Buffer, request: CreateRequest, receipt: SpendReceipt | undefined): Promise<CreatePayloadValue> {
    let payload: CreatePayloadValue;
    try {
      payload = await this.#start(body, request);
    } catch (error) {
      if (receipt && !outcomeUnknown(error)) await this.#deps.budgets.ledger.refund(receipt);
      throw error;
    }
    if (receipt && payload.taskId === null) await this.#deps.budgets.ledger.refund(receipt);
    return payload;
  }

  async #start(body: Buffer, request: CreateRequest): Promise<CreatePayloadValue> {
    const admission = await this.#deps.admission.tryAdmit(request.tenant, request.userOwner);
    if (!admission.admitted) {
      throw new DomainError('RATE_LIMITED', admission.reason, { retryAfterSeconds: admission.retryAfterSeconds });
    }
    try {
      const created = await this.#deps.upstream.createTask(body, request.signal);
      this.#deps.onCreated?.(created.taskId);
      return { taskId: created.taskId, providerRequestId: created.providerRequestId, userErrors: [] };
    } catch (error) {
      if (error instanceof UpstreamInputRejectedError) {
        return rejected([{ field: fieldForUpstreamReason(error.reason), code: error.code, message: error.message }]);
      }
      throw error;
    } finally {
      admission.release();
    }
  }
}
