// Credit budget counters in Redis, so every replica spends from the same budget. One script checks
// both limits and adds to both counters, atomically: creates racing on any number of replicas
// never overspend. Without Redis, spending fails closed (BudgetUnavailableError): a local fallback
// would start each replica's count at zero, so an outage would multiply every budget by the
// number of replicas, on a paid API. Tenant and user ids are hashed in key names: any string a
// sign-in provider hands out ("auth0|abc") makes a key of bounded length and a safe alphabet.
// The day is taken from this replica's clock (or the request's `now`), not Redis's: replicas whose
// clocks differ by a few seconds disagree only about creates within those seconds of midnight.
import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { SharedRedis } from '../redis-connection.js';
import {
  BUDGET_COUNTER_TTL_MS,
  BudgetUnavailableError,
  checkWholeUnits,
  nextUtcMidnight,
  utcDayOf,
  type BudgetLedger,
  type BudgetLimits,
  type SpendReceipt,
  type SpendRequest,
  type SpendResult,
  type Usage,
} from './budget-ledger.js';

// KEYS[1]: the tenant's counter; KEYS[2], when the caller is a user: the user's.
// ARGV: units, tenant limit, user limit ('' = unlimited: tonumber('') is nil), key lifetime in ms.
// Returns { 0 } when spent, { 1, used, limit } when the user's limit refuses, { 2, used, limit } for
// the tenant's. The user's limit is checked first, as InMemoryBudgetLedger does.
const SPEND = `
local units = tonumber(ARGV[1])
local tenantLimit = tonumber(ARGV[2])
local userLimit = tonumber(ARGV[3])
if KEYS[2] then
  local userUsed = tonumber(redis.call('GET', KEYS[2])) or 0
  if userLimit and userUsed + units > userLimit then return { 1, userUsed, userLimit } end
end
local tenantUsed = tonumber(redis.call('GET', KEYS[1])) or 0
if tenantLimit and tenantUsed + units > tenantLimit then return { 2, tenantUsed, tenantLimit } end
for _, key in ipairs(KEYS) do
  redis.call('INCRBY', key, units)
  redis.call('PEXPIRE', key, ARGV[4])
end
return { 0 }`;

// KEYS: the receipt's counters. ARGV[1]: units. Never below zero; a counter that is gone stays gone
// (it counts zero already). DECRBY keeps the key's lifetime.
const REFUND = `
local units = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key))
  if used and used > 0 then redis.call('DECRBY', key, math.min(used, units)) end
end
return 0`;

const SPENT = 0;
const USER_REFUSED = 1;

function hashed(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

export class RedisBudgetLedger implements BudgetLedger {
  readonly #redis: SharedRedis;
  readonly #logger: Logger;

  constructor(redis: SharedRedis, logger: Logger) {
    this.#redis = redis;
    this.#logger = logger.child({ component: 'budget-ledger' });
  }

  async spend(request: SpendRequest): Promise<SpendResult> {
    checkWholeUnits(request);
    const now = request.now ?? new Date();
    const day = utcDayOf(now);
    const keys = this.#countersOf(day, request.tenant, request.user);
    const { tenantDaily, userDaily } = request.limits;
    let answer: [number, number?, number?];
    try {
      answer = (await this.#redis.client.eval(
        SPEND,
        keys.length,
        ...keys,
        String(request.units),
        tenantDaily === undefined ? '' : String(tenantDaily),
        userDaily === undefined ? '' : String(userDaily),
        String(BUDGET_COUNTER_TTL_MS),
      )) as [number, number?, number?];
    } catch (error) {
      this.#logger.warn({ err: { message: (error as Error).message } }, 'credit budgets unavailable: refusing the create');
      throw new BudgetUnavailableError(error);
    }
    const [status, usedToday = 0, dailyLimit = 0] = answer;
    if (status === SPENT) return { ok: true, receipt: { tenant: request.tenant, user: request.user, units: request.units, day } };
    return { ok: false, limit: status === USER_REFUSED ? 'USER_DAILY' : 'TENANT_DAILY', dailyLimit, usedToday, resetsAt: nextUtcMidnight(now) };
  }

  async refund(receipt: SpendReceipt): Promise<void> {
    const keys = this.#countersOf(receipt.day, receipt.tenant, receipt.user);
    try {
      await this.#redis.client.eval(REFUND, keys.length, ...keys, String(receipt.units));
    } catch (error) {
      // The refund's caller is answering an upstream refusal: that answer must not change. The
      // units stay spent (the budget errs on the safe side); operators can correct the counter.
      this.#logger.error(
        { err: { message: (error as Error).message }, tenant: receipt.tenant, day: receipt.day, units: receipt.units, counters: keys },
        'could not give back the credit units of a refused create',
      );
    }
  }

  async usage(tenant: string, user: string | undefined, limits: BudgetLimits, now: Date = new Date()): Promise<Usage> {
    const keys = this.#countersOf(utcDayOf(now), tenant, user);
    let used: string | null;
    try {
      // The user's counter when there is one, else the tenant's.
      used = await this.#redis.client.get(keys.at(-1)!);
    } catch (error) {
      this.#logger.warn({ err: { message: (error as Error).message } }, 'credit budgets unavailable: cannot read usage');
      throw new BudgetUnavailableError(error);
    }
    return { usedToday: used === null ? 0 : Number(used), dailyLimit: user === undefined ? limits.tenantDaily : limits.userDaily, resetsAt: nextUtcMidnight(now) };
  }

  /** [the tenant's counter, the user's counter when there is a user]. */
  #countersOf(day: string, tenant: string, user: string | undefined): string[] {
    const base = `${this.#redis.prefix}budget:${day}:`;
    const tenantHash = hashed(tenant);
    return user === undefined ? [`${base}t:${tenantHash}`] : [`${base}t:${tenantHash}`, `${base}u:${tenantHash}:${hashed(user)}`];
  }
}
