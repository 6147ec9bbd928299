// Credit budgets. One contract, run against the in-process ledger and against Redis, where two
// ledgers on their own connections stand in for two replicas and every concurrent test spreads
// its requests over both. Then what only Redis has (key names, lifetimes, an outage), and what a
// create costs.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { DomainError } from '../src/domain-error.js';
import { createLogger } from '../src/logger.js';
import { connectRedis, type SharedRedis } from '../src/redis-connection.js';
import {
  BudgetUnavailableError,
  InMemoryBudgetLedger,
  type BudgetLedger,
  type BudgetLimits,
  type SpendReceipt,
  type SpendResult,
} from '../src/create-video/budget-ledger.js';
import { RedisBudgetLedger } from '../src/create-video/redis-budget-ledger.js';
import { creditCost, DEFAULT_CREDIT_WEIGHTS, type CreditWeights } from '../src/create-video/credit-cost.js';
import { redisAvailableOrExplain, RedisProxy, TEST_REDIS_URL, testKeyPrefix } from './support/redis.js';

const redisRuns = await redisAvailableOrExplain('Budget ledger on Redis');

const silent = createLogger({ logLevel: 'silent' });
const TWO_DAYS_MS = 2 * 24 * 60 * 60 * 1000;
// Where a test does not care which day it is, it says which one it means anyway: a run across a
// real midnight must not split one test's spends over two days.
const A_DAY = new Date('2031-09-15T12:00:00.000Z');

/** A tenant no other test (or earlier run) has used. */
function freshTenant(): string {
  return `tenant-${randomUUID()}`;
}

function nextMidnightAfter(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

function receiptOf(result: SpendResult): SpendReceipt {
  if (!result.ok) throw new Error(`expected the spend to pass, got ${JSON.stringify(result)}`);
  return result.receipt;
}

// ---- Redis connections for the whole file, closed and their keys deleted at the end ----------

const runPrefix = testKeyPrefix();
const connections: SharedRedis[] = [];

async function redisLedger(url = TEST_REDIS_URL, logger = silent): Promise<RedisBudgetLedger> {
  const redis = connectRedis({ url, keyPrefix: runPrefix, commandTimeoutMs: 5000 }, logger);
  connections.push(redis);
  // No offline queue: a command sent before the connection is ready fails at once.
  await expect.poll(() => redis.isReady(), { timeout: 10_000 }).toBe(true);
  return new RedisBudgetLedger(redis, logger);
}

async function budgetKeys(admin: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${runPrefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

afterAll(async () => {
  await Promise.all(connections.splice(0).map((redis) => redis.close()));
  if (!redisRuns) return;
  const admin = new Redis(TEST_REDIS_URL);
  try {
    const keys = await budgetKeys(admin);
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    admin.disconnect();
  }
});

// ---- The contract ------------------------------------------------------------------------------

/**
 * Ledgers that share their counters: one in-process ledger, or several Redis ledgers (replicas).
 * Tests that spend from several places take turns over them.
 */
type OpenLedgers = () => Promise<[BudgetLedger, ...BudgetLedger[]]>;

function budgetLedgerContract(name: string, open: OpenLedgers, runs = true): void {
  describe.runIf(runs)(name, () => {
    it('spends within both limits and counts the units for the user and for the tenant', async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const limits: BudgetLimits = { tenantDaily: 100, userDaily: 30 };
      const now = A_DAY;

      const first = await ledger.spend({ tenant, user: 'alice', units: 10, limits, now });
      expect(first).toEqual({ ok: true, receipt: { tenant, user: 'alice', units: 10, day: '2031-09-15' } });
      // Exactly up to the limit is allowed.
      expect((await other.spend({ tenant, user: 'alice', units: 20, limits, now })).ok).toBe(true);
      // A caller with a client key only: the tenant's counter alone.
      expect(await other.spend({ tenant, user: undefined, units: 5, limits, now })).toEqual({
        ok: true,
        receipt: { tenant, user: undefined, units: 5, day: '2031-09-15' },
      });

      expect(await ledger.usage(tenant, 'alice', limits, now)).toEqual({ usedToday: 30, dailyLimit: 30, resetsAt: new Date('2031-09-16T00:00:00.000Z') });
      expect(await other.usage(tenant, undefined, limits, now)).toEqual({ usedToday: 35, dailyLimit: 100, resetsAt: new Date('2031-09-16T00:00:00.000Z') });
    });

    it("without `now`, the spend and the usage are today's (UTC), resetting at the next midnight UTC", async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const limits: BudgetLimits = { tenantDaily: 100, userDaily: 30 };
      const before = new Date();
      const receipt = receiptOf(await ledger.spend({ tenant, user: 'alice', units: 6, limits }));
      const usage = await other.usage(tenant, 'alice', limits);
      const after = new Date();

      // The test may straddle a midnight: the day is the one at either end.
      const days = [before, after].map((moment) => moment.toISOString().slice(0, 10));
      expect(days).toContain(receipt.day);
      expect([nextMidnightAfter(before).getTime(), nextMidnightAfter(after).getTime()]).toContain(usage.resetsAt.getTime());
      if (days[0] === days[1]) expect(usage).toEqual({ usedToday: 6, dailyLimit: 30, resetsAt: nextMidnightAfter(before) });
    });

    it("a spend over the user's limit is refused, names USER_DAILY, and counts nothing anywhere", async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const limits: BudgetLimits = { tenantDaily: 100, userDaily: 10 };
      const now = new Date('2031-03-14T15:09:26.535Z');
      receiptOf(await ledger.spend({ tenant, user: 'alice', units: 8, limits, now }));

      expect(await other.spend({ tenant, user: 'alice', units: 3, limits, now })).toEqual({
        ok: false,
        limit: 'USER_DAILY',
        dailyLimit: 10,
        usedToday: 8,
        resetsAt: new Date('2031-03-15T00:00:00.000Z'),
      });
      expect((await ledger.usage(tenant, 'alice', limits, now)).usedToday).toBe(8);
      expect((await ledger.usage(tenant, undefined, limits, now)).usedToday).toBe(8);
      // The limit is per user: another user of the tenant still spends.
      expect((await other.spend({ tenant, user: 'bob', units: 10, limits, now })).ok).toBe(true);
    });

    it("a spend over the tenant's limit is refused, names TENANT_DAILY, and counts nothing for the user", async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const limits: BudgetLimits = { tenantDaily: 20, userDaily: 100 };
      const now = new Date('2031-07-01T00:00:00.000Z');
      receiptOf(await ledger.spend({ tenant, user: 'alice', units: 15, limits, now }));

      const refusal = { ok: false, limit: 'TENANT_DAILY', dailyLimit: 20, usedToday: 15, resetsAt: new Date('2031-07-02T00:00:00.000Z') };
      expect(await other.spend({ tenant, user: 'bob', units: 6, limits, now })).toEqual(refusal);
      expect(await other.spend({ tenant, user: undefined, units: 6, limits, now })).toEqual(refusal);
      expect((await ledger.usage(tenant, 'bob', limits, now)).usedToday).toBe(0);
      expect((await ledger.usage(tenant, undefined, limits, now)).usedToday).toBe(15);
      expect((await other.spend({ tenant, user: 'bob', units: 5, limits, now })).ok).toBe(true);
    });

    it("when both limits would be exceeded, the user's is named", async () => {
      const [ledger] = await open();
      const tenant = freshTenant();
      const now = A_DAY;
      const limits: BudgetLimits = { tenantDaily: 10, userDaily: 10 };
      receiptOf(await ledger.spend({ tenant, user: 'alice', units: 9, limits, now }));
      expect(await ledger.spend({ tenant, user: 'alice', units: 2, limits, now })).toMatchObject({ ok: false, limit: 'USER_DAILY', usedToday: 9 });
    });

    it('undefined limits are unlimited, and usage says so', async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const now = A_DAY;
      const unlimited: BudgetLimits = { tenantDaily: undefined, userDaily: undefined };
      for (const ledgerInTurn of [ledger, other, ledger]) {
        expect((await ledgerInTurn.spend({ tenant, user: 'alice', units: 1_000_000, limits: unlimited, now })).ok).toBe(true);
      }
      expect(await other.usage(tenant, 'alice', unlimited, now)).toMatchObject({ usedToday: 3_000_000, dailyLimit: undefined });
      // Only the tenant has a limit: a user spends up to it, not beyond.
      const tenantOnly: BudgetLimits = { tenantDaily: 3_000_004, userDaily: undefined };
      expect((await ledger.spend({ tenant, user: 'bob', units: 4, limits: tenantOnly, now })).ok).toBe(true);
      expect(await ledger.spend({ tenant, user: 'bob', units: 1, limits: tenantOnly, now })).toMatchObject({ ok: false, limit: 'TENANT_DAILY' });
      expect(await ledger.usage(tenant, 'bob', tenantOnly, now)).toMatchObject({ usedToday: 4, dailyLimit: undefined });
    });

    it("twenty creates racing for the tenant's last 10 units: exactly 10 pass and the counter ends at the limit", async () => {
      const ledgers = await open();
      const tenant = freshTenant();
      const now = A_DAY;
      const limits: BudgetLimits = { tenantDaily: 50, userDaily: undefined };
      receiptOf(await ledgers[0]!.spend({ tenant, user: undefined, units: 40, limits, now }));

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          // Twenty users, so only the tenant's limit binds; every other one is a client-key caller.
          ledgers[i % ledgers.length]!.spend({ tenant, user: i % 2 === 0 ? `user-${i}` : undefined, units: 1, limits, now }),
        ),
      );

      expect(results.filter((result) => result.ok)).toHaveLength(10);
      const refusals = results.filter((result) => !result.ok);
      expect(refusals).toHaveLength(10);
      for (const refusal of refusals) expect(refusal).toMatchObject({ limit: 'TENANT_DAILY', dailyLimit: 50, usedToday: 50 });
      expect((await ledgers.at(-1)!.usage(tenant, undefined, limits, now)).usedToday).toBe(50);
    });

    it("twenty creates of one user racing for the user's last 10 units: exactly 10 pass, user and tenant counters agree", async () => {
      const ledgers = await open();
      const tenant = freshTenant();
      const now = A_DAY;
      const limits: BudgetLimits = { tenantDaily: 1000, userDaily: 15 };
      receiptOf(await ledgers[0]!.spend({ tenant, user: 'auth0|racer', units: 5, limits, now }));

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ledgers[i % ledgers.length]!.spend({ tenant, user: 'auth0|racer', units: 1, limits, now })),
      );

      expect(results.filter((result) => result.ok)).toHaveLength(10);
      for (const refusal of results.filter((result) => !result.ok)) {
        expect(refusal).toMatchObject({ limit: 'USER_DAILY', dailyLimit: 15, usedToday: 15 });
      }
      expect((await ledgers.at(-1)!.usage(tenant, 'auth0|racer', limits, now)).usedToday).toBe(15);
      // A refused spend added nothing to the tenant either.
      expect((await ledgers[0]!.usage(tenant, undefined, limits, now)).usedToday).toBe(15);
    });

    it('a refund gives the units back to the user and the tenant, so they can be spent again', async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const now = A_DAY;
      const limits: BudgetLimits = { tenantDaily: 12, userDaily: 10 };
      receiptOf(await ledger.spend({ tenant, user: undefined, units: 2, limits, now }));
      const receipt = receiptOf(await ledger.spend({ tenant, user: 'alice', units: 10, limits, now }));
      expect((await ledger.spend({ tenant, user: 'alice', units: 1, limits, now })).ok).toBe(false);

      // The upstream refused the create: another replica may be the one giving the units back.
      await other.refund(receipt);

      expect((await ledger.usage(tenant, 'alice', limits, now)).usedToday).toBe(0);
      expect((await ledger.usage(tenant, undefined, limits, now)).usedToday).toBe(2);
      expect((await ledger.spend({ tenant, user: 'alice', units: 10, limits, now })).ok).toBe(true);
    });

    it('a refund never takes a counter below zero, even when given twice', async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const now = A_DAY;
      const limits: BudgetLimits = { tenantDaily: 10, userDaily: 10 };
      const receipt = receiptOf(await ledger.spend({ tenant, user: 'alice', units: 4, limits, now }));
      receiptOf(await ledger.spend({ tenant, user: 'bob', units: 2, limits, now }));
      await ledger.refund(receipt);
      // A second refund of the same receipt is a caller's mistake; the counters stop at zero: the
      // user's at once, the tenant's (6 → 2 → 0) where plain subtraction would reach -2.
      await other.refund(receipt);

      expect((await ledger.usage(tenant, 'alice', limits, now)).usedToday).toBe(0);
      expect((await ledger.usage(tenant, undefined, limits, now)).usedToday).toBe(0);
      // Had the counters gone below zero, 11 units would fit under 10.
      expect(await ledger.spend({ tenant, user: 'alice', units: 11, limits, now })).toMatchObject({ ok: false, limit: 'USER_DAILY', usedToday: 0 });
      expect(await ledger.spend({ tenant, user: undefined, units: 11, limits, now })).toMatchObject({ ok: false, limit: 'TENANT_DAILY', usedToday: 0 });
      // A refund for a day nobody spent on changes nothing and does not fail.
      await ledger.refund({ tenant, user: 'nobody', units: 3, day: '2031-01-01' });
      expect((await ledger.usage(tenant, 'nobody', limits, new Date('2031-01-01T12:00:00Z'))).usedToday).toBe(0);
      expect((await ledger.usage(tenant, undefined, limits, new Date('2031-01-01T12:00:00Z'))).usedToday).toBe(0);
    });

    it("a refund goes to the receipt's day, not to today", async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const limits: BudgetLimits = { tenantDaily: 100, userDaily: 100 };
      const lateOnDayOne = new Date('2031-08-09T23:59:00.000Z');
      const earlyOnDayTwo = new Date('2031-08-10T00:01:00.000Z');
      const receipt = receiptOf(await ledger.spend({ tenant, user: 'alice', units: 5, limits, now: lateOnDayOne }));
      expect(receipt.day).toBe('2031-08-09');
      receiptOf(await ledger.spend({ tenant, user: 'alice', units: 7, limits, now: earlyOnDayTwo }));

      await other.refund(receipt);

      expect((await ledger.usage(tenant, 'alice', limits, lateOnDayOne)).usedToday).toBe(0);
      expect((await ledger.usage(tenant, undefined, limits, lateOnDayOne)).usedToday).toBe(0);
      expect((await ledger.usage(tenant, 'alice', limits, earlyOnDayTwo)).usedToday).toBe(7);
      expect((await ledger.usage(tenant, undefined, limits, earlyOnDayTwo)).usedToday).toBe(7);
    });

    it('a new UTC day starts from zero, at midnight UTC exactly', async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const limits: BudgetLimits = { tenantDaily: 10, userDaily: 10 };
      const lastMoment = new Date('2031-05-31T23:59:59.999Z');
      const midnight = new Date('2031-06-01T00:00:00.000Z');
      receiptOf(await ledger.spend({ tenant, user: 'alice', units: 10, limits, now: lastMoment }));
      expect(await other.spend({ tenant, user: 'alice', units: 1, limits, now: lastMoment })).toEqual({
        ok: false,
        limit: 'USER_DAILY',
        dailyLimit: 10,
        usedToday: 10,
        resetsAt: midnight,
      });

      expect(await other.spend({ tenant, user: 'alice', units: 10, limits, now: midnight })).toEqual({
        ok: true,
        receipt: { tenant, user: 'alice', units: 10, day: '2031-06-01' },
      });
      expect(await ledger.usage(tenant, 'alice', limits, midnight)).toEqual({ usedToday: 10, dailyLimit: 10, resetsAt: new Date('2031-06-02T00:00:00.000Z') });
      expect(await ledger.usage(tenant, 'alice', limits, lastMoment)).toEqual({ usedToday: 10, dailyLimit: 10, resetsAt: midnight });
    });

    it("usage is the user's when a user is given, the tenant's otherwise, and tenants never share counters", async () => {
      const [ledger, other = ledger] = await open();
      const tenant = freshTenant();
      const neighbour = freshTenant();
      const limits: BudgetLimits = { tenantDaily: 500, userDaily: 50 };
      const now = new Date('2031-11-05T08:00:00.000Z');
      receiptOf(await ledger.spend({ tenant, user: 'alice', units: 3, limits, now }));
      receiptOf(await other.spend({ tenant, user: 'bob', units: 4, limits, now }));
      receiptOf(await ledger.spend({ tenant, user: undefined, units: 5, limits, now }));
      // The same user id in another tenant is another user.
      receiptOf(await other.spend({ tenant: neighbour, user: 'alice', units: 20, limits, now }));

      const resetsAt = new Date('2031-11-06T00:00:00.000Z');
      expect(await other.usage(tenant, 'alice', limits, now)).toEqual({ usedToday: 3, dailyLimit: 50, resetsAt });
      expect(await ledger.usage(tenant, 'bob', limits, now)).toEqual({ usedToday: 4, dailyLimit: 50, resetsAt });
      expect(await ledger.usage(tenant, 'carol', limits, now)).toEqual({ usedToday: 0, dailyLimit: 50, resetsAt });
      expect(await other.usage(tenant, undefined, limits, now)).toEqual({ usedToday: 12, dailyLimit: 500, resetsAt });
      expect(await ledger.usage(neighbour, 'alice', limits, now)).toEqual({ usedToday: 20, dailyLimit: 50, resetsAt });
      expect(await ledger.usage(neighbour, undefined, limits, now)).toEqual({ usedToday: 20, dailyLimit: 500, resetsAt });
    });

    it('units and limits that are not whole numbers ≥ 0 are a programming error, and count nothing', async () => {
      const [ledger] = await open();
      const tenant = freshTenant();
      const now = A_DAY;
      const limits: BudgetLimits = { tenantDaily: 100, userDaily: 100 };
      for (const units of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(ledger.spend({ tenant, user: 'alice', units, limits, now })).rejects.toBeInstanceOf(RangeError);
      }
      await expect(ledger.spend({ tenant, user: 'alice', units: 1, limits: { tenantDaily: 2.5, userDaily: undefined } })).rejects.toBeInstanceOf(RangeError);
      await expect(ledger.spend({ tenant, user: 'alice', units: 1, limits: { tenantDaily: undefined, userDaily: -3 } })).rejects.toBeInstanceOf(RangeError);
      expect((await ledger.usage(tenant, undefined, limits, now)).usedToday).toBe(0);
    });
  });
}

budgetLedgerContract('InMemoryBudgetLedger', async () => [new InMemoryBudgetLedger()]);

budgetLedgerContract('RedisBudgetLedger, two replicas on one Redis', async () => Promise.all([redisLedger(), redisLedger()]), redisRuns);

// ---- Only in memory ----------------------------------------------------------------------------

describe('InMemoryBudgetLedger bounds', () => {
  it('keeps at most maxCounters counters (the least recently used one goes)', async () => {
    const ledger = new InMemoryBudgetLedger({ maxCounters: 2 });
    const now = A_DAY;
    const limits: BudgetLimits = { tenantDaily: 100, userDaily: undefined };
    receiptOf(await ledger.spend({ tenant: 'a', user: undefined, units: 1, limits, now }));
    receiptOf(await ledger.spend({ tenant: 'b', user: undefined, units: 2, limits, now }));
    receiptOf(await ledger.spend({ tenant: 'c', user: undefined, units: 3, limits, now }));
    expect((await ledger.usage('a', undefined, limits, now)).usedToday).toBe(0);
    expect((await ledger.usage('b', undefined, limits, now)).usedToday).toBe(2);
    expect((await ledger.usage('c', undefined, limits, now)).usedToday).toBe(3);
  });
});

// ---- Only on Redis -----------------------------------------------------------------------------

describe.runIf(redisRuns)('RedisBudgetLedger in Redis', () => {
  it('names keys by day and by hashes of tenant and user, and lets them expire within two days', async () => {
    const ledger = await redisLedger();
    const tenant = `odd tenant:${randomUUID()}`;
    const user = `auth0|abc:${'x'.repeat(2000)}`;
    receiptOf(await ledger.spend({ tenant, user, units: 3, limits: { tenantDaily: 10, userDaily: 10 }, now: new Date('2032-02-29T10:00:00Z') }));

    const admin = new Redis(TEST_REDIS_URL);
    try {
      const keys = (await budgetKeys(admin)).filter((key) => key.startsWith(`${runPrefix}budget:2032-02-29:`));
      const hash = '[A-Za-z0-9_-]{43}';
      expect(keys.sort()).toEqual([
        expect.stringMatching(new RegExp(`^${runPrefix}budget:2032-02-29:t:${hash}$`)),
        expect.stringMatching(new RegExp(`^${runPrefix}budget:2032-02-29:u:${hash}:${hash}$`)),
      ]);
      const [tenantKey, userKey] = keys;
      // The user's key carries the tenant's hash: the same user id in two tenants is two users.
      expect(userKey!.split(':u:')[1]!.split(':')[0]).toBe(tenantKey!.split(':t:')[1]);
      for (const key of keys) {
        expect(key).not.toContain('auth0');
        expect(key).not.toContain('odd tenant');
        expect(await admin.get(key)).toBe('3');
        const ttl = await admin.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(TWO_DAYS_MS);
      }
    } finally {
      admin.disconnect();
    }
  });

  it('while Redis is away: spend and usage fail closed with BudgetUnavailableError, a refund is logged; afterwards counters are intact', async () => {
    const proxy = new RedisProxy();
    await proxy.start();
    const lines: string[] = [];
    const logger = createLogger({ logLevel: 'info' }, { write: (line: string) => void lines.push(line) });
    try {
      const ledger = await redisLedger(proxy.url, logger);
      const tenant = freshTenant();
      const now = A_DAY;
      const limits: BudgetLimits = { tenantDaily: 10, userDaily: 10 };
      const receipt = receiptOf(await ledger.spend({ tenant, user: 'alice', units: 4, limits, now }));

      await proxy.cut();

      const refused = await ledger.spend({ tenant, user: 'alice', units: 1, limits, now }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(BudgetUnavailableError);
      // A DomainError: the GraphQL edge shows it with its code, whether or not the caller maps it.
      expect(refused).toBeInstanceOf(DomainError);
      expect((refused as BudgetUnavailableError).code).toBe('BUDGET_UNAVAILABLE');
      await expect(ledger.usage(tenant, 'alice', limits, now)).rejects.toBeInstanceOf(BudgetUnavailableError);
      // The caller is answering an upstream refusal: the refund must not throw over it.
      await expect(ledger.refund(receipt)).resolves.toBeUndefined();
      expect(lines.some((line) => line.includes('could not give back the credit units'))).toBe(true);

      await proxy.start();
      await expect.poll(async () => ledger.usage(tenant, 'alice', limits, now).then((usage) => usage.usedToday, () => 'unavailable'), { timeout: 15_000 }).toBe(4);
      expect(await ledger.spend({ tenant, user: 'alice', units: 7, limits, now })).toMatchObject({ ok: false, limit: 'USER_DAILY', usedToday: 4 });
    } finally {
      await proxy.stop();
    }
  });
});

// ---- What a create costs -----------------------------------------------------------------------

describe('creditCost', () => {
  const custom: CreditWeights = { '540p': 3, '720p': 5, '1080p': 11 };

  it.each([
    { input: {}, weights: DEFAULT_CREDIT_WEIGHTS, cost: 10, why: 'defaults: 5 s at 720p' },
    { input: { durationSeconds: null, resolution: null }, weights: DEFAULT_CREDIT_WEIGHTS, cost: 10, why: 'explicit nulls are the defaults' },
    { input: { durationSeconds: 1, resolution: '540p' }, weights: DEFAULT_CREDIT_WEIGHTS, cost: 1, why: 'cheapest' },
    { input: { durationSeconds: 10, resolution: '540p' }, weights: DEFAULT_CREDIT_WEIGHTS, cost: 10, why: '540p weighs 1' },
    { input: { durationSeconds: 7, resolution: '720p' }, weights: DEFAULT_CREDIT_WEIGHTS, cost: 14, why: '720p weighs 2' },
    { input: { durationSeconds: 3, resolution: '1080p' }, weights: DEFAULT_CREDIT_WEIGHTS, cost: 12, why: '1080p weighs 4' },
    { input: { durationSeconds: 10, resolution: '1080p' }, weights: DEFAULT_CREDIT_WEIGHTS, cost: 40, why: 'dearest' },
    { input: { resolution: '1080p' }, weights: DEFAULT_CREDIT_WEIGHTS, cost: 20, why: 'default duration' },
    { input: { durationSeconds: 2 }, weights: DEFAULT_CREDIT_WEIGHTS, cost: 4, why: 'default resolution' },
    { input: {}, weights: custom, cost: 25, why: 'configured weights, defaults' },
    { input: { durationSeconds: 2, resolution: '1080p' }, weights: custom, cost: 22, why: 'configured weights' },
    { input: { durationSeconds: 4, resolution: '540p' }, weights: custom, cost: 12, why: 'configured weights' },
  ])('$why: $input → $cost', ({ input, weights, cost }) => {
    expect(creditCost(input, weights)).toBe(cost);
  });

  it('the default weights are 1 / 2 / 4', () => {
    expect(DEFAULT_CREDIT_WEIGHTS).toEqual({ '540p': 1, '720p': 2, '1080p': 4 });
  });

  it('a resolution without a weight is an error, not a guess (inherited object keys included)', () => {
    for (const resolution of ['4k', '720P', 'toString', '__proto__']) {
      expect(() => creditCost({ durationSeconds: 5, resolution }, DEFAULT_CREDIT_WEIGHTS)).toThrow(RangeError);
    }
  });

  it("every VideoResolution of the schema has a weight, keyed by the enum's internal value", async () => {
    // Imported here, so a schema file being edited elsewhere cannot break the other tests.
    const { schema } = await import('../src/schema/index.js');
    const resolution = schema.getType('VideoResolution');
    if (!resolution || !('getValues' in resolution)) throw new Error('VideoResolution is not an enum in the schema');
    const values = resolution.getValues().map((value) => value.value as string);
    expect(values.sort()).toEqual(Object.keys(DEFAULT_CREDIT_WEIGHTS).sort());
  });
});
