// Credit budgets: how many credit units a tenant, and each signed-in user of a tenant, may spend
// per UTC day. A create spends its units before the upstream is called and only if both limits
// allow; a create the upstream refused gives them back. Counters are per UTC day, so a day's
// budget resets at midnight UTC without any sweeping. This file holds the contract and the
// in-process ledger; redis-budget-ledger.ts shares counters between replicas.
import { LRUCache } from 'lru-cache';
import { DomainError } from '../domain-error.js';

export interface BudgetLimits {
  /** Units the tenant may spend per UTC day; undefined = unlimited. */
  tenantDaily: number | undefined;
  /** Units each user of the tenant may spend per UTC day; undefined = unlimited. */
  userDaily: number | undefined;
}

export interface SpendRequest {
  tenant: string;
  /** The signed-in user; undefined for a caller with a client key only (then only the tenant limit applies). */
  user: string | undefined;
  /** Whole units, ≥ 0 (see creditCost). */
  units: number;
  limits: BudgetLimits;
  /** The moment whose UTC day is charged; defaults to now. */
  now?: Date;
}

export type SpendResult =
  | { ok: true; receipt: SpendReceipt }
  /** Nothing was spent. `usedToday` and `dailyLimit` are those of the limit named. */
  | { ok: false; limit: 'USER_DAILY' | 'TENANT_DAILY'; dailyLimit: number; usedToday: number; resetsAt: Date };

/** What a refund needs: who spent how much on which day. */
export interface SpendReceipt {
  tenant: string;
  user: string | undefined;
  units: number;
  /** YYYY-MM-DD, UTC. */
  day: string;
}

export interface Usage {
  usedToday: number;
  dailyLimit: number | undefined;
  /** The next midnight UTC. */
  resetsAt: Date;
}

export interface BudgetLedger {
  /**
   * Atomically checks BOTH limits and, only if both allow, adds `units` to the user's and the
   * tenant's counters for today (UTC). When both would be exceeded, the user's limit is named.
   * Rejects with BudgetUnavailableError when the counters cannot be reached (fail closed).
   */
  spend(request: SpendRequest): Promise<SpendResult>;
  /** Gives units back (upstream refused the create). Same UTC day as the receipt; never below zero. Never rejects. */
  refund(receipt: SpendReceipt): Promise<void>;
  /** Today's use for a user (when given) or the tenant. Rejects with BudgetUnavailableError when the counters cannot be reached. */
  usage(tenant: string, user: string | undefined, limits: BudgetLimits, now?: Date): Promise<Usage>;
}

/**
 * The shared counters cannot be reached, so no create may start: a budget that cannot be checked
 * is not bypassed. Units of a spend that failed this way may still have been counted (a command
 * that timed out may have run); the error never means they were.
 */
export class BudgetUnavailableError extends DomainError {
  constructor(cause: unknown) {
    super('BUDGET_UNAVAILABLE', 'Credit budgets cannot be checked right now, so nothing was started. Retry shortly.');
    this.cause = cause;
  }
}

/** The UTC day of a moment, as YYYY-MM-DD. */
export function utcDayOf(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** The first midnight UTC after `now`: when the budgets of `now`'s day reset. */
export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/** Throws on units or limits that are not whole and ≥ 0: counters stay integers (Redis INCRBY needs them). */
export function checkWholeUnits(request: Pick<SpendRequest, 'units' | 'limits'>): void {
  const values: [string, number | undefined][] = [
    ['units', request.units],
    ['tenantDaily', request.limits.tenantDaily],
    ['userDaily', request.limits.userDaily],
  ];
  for (const [name, value] of values) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) throw new RangeError(`${name} must be a whole number ≥ 0, got ${value}.`);
  }
}

// The user's limit is checked first (the Redis script does the same): it is the more specific of the
// two, and both reset at the same midnight.
function refusalFor(counters: { user: number | undefined; tenant: number }, request: SpendRequest, now: Date): Extract<SpendResult, { ok: false }> | undefined {
  const { units, limits } = request;
  const { userDaily, tenantDaily } = limits;
  if (counters.user !== undefined && userDaily !== undefined && counters.user + units > userDaily) {
    return { ok: false, limit: 'USER_DAILY', dailyLimit: userDaily, usedToday: counters.user, resetsAt: nextUtcMidnight(now) };
  }
  if (tenantDaily !== undefined && counters.tenant + units > tenantDaily) {
    return { ok: false, limit: 'TENANT_DAILY', dailyLimit: tenantDaily, usedToday: counters.tenant, resetsAt: nextUtcMidnight(now) };
  }
  return undefined;
}

/** Enough for every user active on one day on a single-replica gateway: about 25 MB when full (~230 bytes a counter, measured). */
export const DEFAULT_MAX_BUDGET_COUNTERS = 100_000;

/** A counter is needed for its day, and for late refunds just after it: after two days it is dead weight. */
export const BUDGET_COUNTER_TTL_MS = 2 * 24 * 60 * 60 * 1000;

/**
 * Counters in this process (one replica). Spending is atomic because the check and the additions
 * run without an await between them. Memory is bounded by an LRU of `maxCounters` counters; an
 * evicted counter starts again at zero, so the bound must exceed the (tenant, user) pairs active
 * in one day. Several replicas need RedisBudgetLedger.
 */
export class InMemoryBudgetLedger implements BudgetLedger {
  readonly #counters: LRUCache<string, number>;

  constructor(options: { maxCounters?: number } = {}) {
    this.#counters = new LRUCache({ max: options.maxCounters ?? DEFAULT_MAX_BUDGET_COUNTERS, ttl: BUDGET_COUNTER_TTL_MS });
  }

  async spend(request: SpendRequest): Promise<SpendResult> {
    checkWholeUnits(request);
    const now = request.now ?? new Date();
    const day = utcDayOf(now);
    const tenantKey = tenantCounterKey(day, request.tenant);
    const userKey = request.user === undefined ? undefined : userCounterKey(day, request.tenant, request.user);
    const counters = { tenant: this.#counters.get(tenantKey) ?? 0, user: userKey === undefined ? undefined : (this.#counters.get(userKey) ?? 0) };
    const refusal = refusalFor(counters, request, now);
    if (refusal) return refusal;
    this.#counters.set(tenantKey, counters.tenant + request.units);
    if (userKey !== undefined) this.#counters.set(userKey, (counters.user ?? 0) + request.units);
    return { ok: true, receipt: { tenant: request.tenant, user: request.user, units: request.units, day } };
  }

  async refund(receipt: SpendReceipt): Promise<void> {
    const keys = [tenantCounterKey(receipt.day, receipt.tenant)];
    if (receipt.user !== undefined) keys.push(userCounterKey(receipt.day, receipt.tenant, receipt.user));
    for (const key of keys) {
      const current = this.#counters.get(key);
      // A counter that is gone (expired, evicted) already counts zero.
      if (current !== undefined) this.#counters.set(key, Math.max(0, current - receipt.units));
    }
  }

  async usage(tenant: string, user: string | undefined, limits: BudgetLimits, now: Date = new Date()): Promise<Usage> {
    const day = utcDayOf(now);
    const key = user === undefined ? tenantCounterKey(day, tenant) : userCounterKey(day, tenant, user);
    return { usedToday: this.#counters.get(key) ?? 0, dailyLimit: user === undefined ? limits.tenantDaily : limits.userDaily, resetsAt: nextUtcMidnight(now) };
  }
}

// JSON arrays: unambiguous whatever characters a tenant or user id holds.
function tenantCounterKey(day: string, tenant: string): string {
  return JSON.stringify([day, 't', tenant]);
}

function userCounterKey(day: string, tenant: string, user: string): string {
  return JSON.stringify([day, 'u', tenant, user]);
}
