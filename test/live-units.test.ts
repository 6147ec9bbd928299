import { describe, expect, it } from 'vitest';
import type { LiveConfig, TaskCacheConfig } from '../src/config.js';
import { nextPollDelayMs } from '../src/live/poll-interval.js';
import { cacheLifetimeMs, InMemoryTaskResultCache, snapshotSizeEstimate } from '../src/tasks/task-result-cache.js';
import { task } from './support/snapshots.js';

const live: LiveConfig = { pollMinIntervalMs: 1000, pollMaxIntervalMs: 10_000, pollJitter: 0.2, maxConsecutiveFailures: 3, maxSubscriptionsPerConnection: 100, maxSubscriptionsPerTenant: 1000, maxPollersPerTenant: 500 };
const cacheConfig: TaskCacheConfig = { pendingTtlMs: 1000, failedTtlMs: 600_000, urlExpiryMarginMs: 300_000, maxEntries: 2,
  maxBytes: 1024 * 1024, responseMaxBytes: 1024 * 1024, responseMaxEntryBytes: 64 * 1024, unknownIdReadsPerMinute: 120, unknownIdReadsBurst: 200,
};


describe('nextPollDelayMs', () => {
  const noJitter = () => 0.5;
  it('looks several times within the eta, between the minimum and the cap', () => {
    expect(nextPollDelayMs(task({ etaSeconds: 20 }), 0, live, noJitter)).toBe(5000);
    expect(nextPollDelayMs(task({ etaSeconds: 2 }), 0, live, noJitter)).toBe(1000);
    expect(nextPollDelayMs(task({ etaSeconds: 600 }), 0, live, noJitter)).toBe(10_000);
  });

  it('looks at the shortest interval near the end, and backs off while nothing changes without an eta', () => {
    expect(nextPollDelayMs(task({ etaSeconds: 40, progressPercent: 95 }), 0, live, noJitter)).toBe(1000);
    const backoff = [0, 1, 2, 3, 10].map((n) => nextPollDelayMs(task(), n, live, noJitter));
    expect(backoff).toEqual([1000, 1500, 2250, 3375, 10_000]);
  });

  it('spreads intervals by up to ±jitter and never beyond the cap', () => {
    expect(nextPollDelayMs(task({ etaSeconds: 20 }), 0, live, () => 0)).toBe(4000);
    expect(nextPollDelayMs(task({ etaSeconds: 20 }), 0, live, () => 1)).toBe(6000);
    expect(nextPollDelayMs(task({ etaSeconds: 600 }), 0, live, () => 1)).toBe(10_000);
  });
});

describe('task result cache', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  const video = (expiresInMs: number) => ({ url: `https://v/${expiresInMs}`, format: 'MP4' as const, expiresAt: new Date(now + expiresInMs) });

  it('keeps successes until the margin before the earliest URL expiry, failures and pending for their bounds', () => {
    expect(cacheLifetimeMs(task({ status: 'SUCCEEDED', videos: [video(3_600_000), video(1_200_000)] }), cacheConfig, now)).toBe(900_000);
    expect(cacheLifetimeMs(task({ status: 'SUCCEEDED', videos: [video(60_000)] }), cacheConfig, now)).toBe(0);
    expect(cacheLifetimeMs(task({ status: 'FAILED' }), cacheConfig, now)).toBe(600_000);
    expect(cacheLifetimeMs(task({ status: 'QUEUED' }), cacheConfig, now)).toBe(1000);
    expect(cacheLifetimeMs(task({ status: 'UNKNOWN' }), cacheConfig, now)).toBe(1000);
  });

  it('is bounded (LRU) and never lets an older read replace a newer one', () => {
    const cache = new InMemoryTaskResultCache(cacheConfig);
    const newer = task({ id: 'a', progressPercent: 50, fetchedAt: new Date(Date.now()) });
    const older = task({ id: 'a', progressPercent: 40, fetchedAt: new Date(Date.now() - 500) });
    cache.set(newer);
    cache.set(older);
    expect(cache.get('a')?.progressPercent).toBe(50);
    cache.set(task({ id: 'b' }));
    cache.set(task({ id: 'c' }));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
  });
});

describe('task result cache size bound', () => {
  const succeeded = (id: string, url = `https://cdn.example.com/${id}.mp4?sig=${'s'.repeat(100)}`) =>
    task({ id, status: 'SUCCEEDED', upstreamStatus: 'TASK_STATUS_SUCCEED', videos: [{ url, format: 'MP4', expiresAt: new Date(Date.now() + 3_600_000) }] });

  it('estimates a snapshot from its strings plus a fixed overhead, without serialising it', () => {
    const plain = snapshotSizeEstimate(task({ id: 'a' }));
    // The object, its Dates and the cache entry cost a few hundred bytes whatever the strings.
    expect(plain).toBeGreaterThan(300);
    expect(plain).toBeLessThan(2000);
    const withVideo = succeeded('a', 'u'.repeat(1000));
    expect(snapshotSizeEstimate(withVideo)).toBeGreaterThan(snapshotSizeEstimate(task({ id: 'a', status: 'SUCCEEDED', upstreamStatus: 'TASK_STATUS_SUCCEED' })) + 1000);
    // A long failure reason (the upstream may send up to UPSTREAM_MAX_RESPONSE_BYTES) counts in full.
    const failed = task({ id: 'a', status: 'FAILED', failureReason: 'r'.repeat(1_000_000) });
    expect(snapshotSizeEstimate(failed)).toBeGreaterThanOrEqual(1_000_000);
    expect(snapshotSizeEstimate(failed)).toBeLessThan(1_000_000 + 2000);
  });

  it('evicts the least recently used snapshots once the byte bound is reached, whatever the entry bound', () => {
    const perEntry = snapshotSizeEstimate(succeeded('task-00'));
    const cache = new InMemoryTaskResultCache({ ...cacheConfig, maxEntries: 10_000, maxBytes: perEntry * 5 });
    for (let i = 0; i < 20; i++) cache.set(succeeded(`task-${String(i).padStart(2, '0')}`));
    expect(cache.bytes).toBeLessThanOrEqual(perEntry * 5);
    expect(cache.size).toBe(5);
    expect(cache.get('task-00')).toBeUndefined();
    expect(cache.get('task-14')).toBeUndefined();
    expect(cache.get('task-19')?.status).toBe('SUCCEEDED');
  });

  it('does not keep a snapshot larger than the whole bound, and keeps the others', () => {
    const cache = new InMemoryTaskResultCache({ ...cacheConfig, maxEntries: 10_000, maxBytes: 64 * 1024 });
    cache.set(succeeded('small'));
    cache.set(task({ id: 'huge', status: 'FAILED', failureReason: 'r'.repeat(100 * 1024) }));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('small')).toBeDefined();
    expect(cache.bytes).toBe(snapshotSizeEstimate(succeeded('small')));
  });
});
