// Deterministic unit tests for the live machinery, next to the end-to-end tests in live-updates:
// - nextPollDelayMs: clamps, eta-guided interval, near-done minimum, backoff, jitter bounds;
// - TaskWatchHub and its per-task pollers: first state at once, shared poller, change detection,
//   interval rules, terminal / not-found / repeated-failure endings, last watcher leaving (timer
//   cleared, read under way aborted), per-owner caps, close();
// - TaskReader: single-flight, pending cache lifetime, `fresh`, abandonment by waiters' signals,
//   `isKnown`.
// The upstream is a scripted fake TaskSource; time is vitest's fake clock (no real sleeps).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiveConfig, TaskCacheConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { nextPollDelayMs } from '../src/live/poll-interval.js';
import { TaskReader, type TaskSource } from '../src/tasks/task-reader.js';
import { createTaskResultCache, InMemoryTaskResultCache, type TaskResultCache } from '../src/tasks/task-result-cache.js';
import { TaskWatchHub, type TaskUpdate } from '../src/live/task-watch-hub.js';
import type { TaskSnapshot } from '../src/upstream/task-snapshot.js';
import { task } from './support/snapshots.js';

const live: LiveConfig = {
  pollMinIntervalMs: 1000,
  pollMaxIntervalMs: 10_000,
  // No jitter unless a test asks for it: poll times are then exact.
  pollJitter: 0,
  maxConsecutiveFailures: 3,
  maxSubscriptionsPerConnection: 100,
  maxSubscriptionsPerTenant: 1000,
  maxPollersPerTenant: 500,
};
const cacheConfig: TaskCacheConfig = {
  pendingTtlMs: 1000,
  failedTtlMs: 600_000,
  urlExpiryMarginMs: 300_000,
  maxEntries: 100,
  maxBytes: 1024 * 1024,
  responseMaxBytes: 1024 * 1024,
  responseMaxEntryBytes: 64 * 1024,
  unknownIdReadsPerMinute: 120,
  unknownIdReadsBurst: 200,
};
const logger = createLogger({ logLevel: 'silent' });


const progress = (percent: number, overrides: Partial<TaskSnapshot> = {}) => task({ progressPercent: percent, ...overrides });
const succeeded = () =>
  task({
    status: 'SUCCEEDED',
    upstreamStatus: 'TASK_STATUS_SUCCEED',
    progressPercent: 100,
    videos: [{ url: 'https://cdn.example.com/t.mp4', format: 'MP4', expiresAt: new Date(Date.now() + 3_600_000) }],
  });

// ---------------------------------------------------------------------------------------------
// The fake upstream.

/** A call left pending until the test settles it (or its signal fires: then it rejects, as undici does). */
const HOLD = Symbol('hold');
type Scripted = TaskSnapshot | null | Error | typeof HOLD;

interface SourceCall {
  id: string;
  signal: AbortSignal | undefined;
  /** Fake-clock time of the call, in ms. */
  at: number;
  resolve(value: TaskSnapshot | null): void;
  reject(error: Error): void;
}

/** Answers each getTask with the next scripted answer; once the script runs out, the last one repeats. */
class FakeTaskSource implements TaskSource {
  readonly calls: SourceCall[] = [];
  readonly #script: Scripted[] = [];
  #last: Scripted = HOLD;

  answer(...answers: Scripted[]): this {
    this.#script.push(...answers);
    return this;
  }

  call(index: number): SourceCall {
    const call = this.calls[index];
    if (!call) throw new Error(`no source call #${index} (there were ${this.calls.length})`);
    return call;
  }

  /** Call times relative to `origin`. */
  callTimes(origin: number): number[] {
    return this.calls.map((call) => call.at - origin);
  }

  getTask(id: string, signal?: AbortSignal): Promise<TaskSnapshot | null> {
    const next = this.#script.length > 0 ? (this.#script.shift() as Scripted) : this.#last;
    this.#last = next;
    let resolve: (value: TaskSnapshot | null) => void = () => {};
    let reject: (error: unknown) => void = () => {};
    const promise = new Promise<TaskSnapshot | null>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Every answer is a new read: stamped with the (fake) time it was made.
    const stamp = (value: TaskSnapshot | null) => (value === null ? null : { ...value, fetchedAt: new Date() });
    this.calls.push({ id, signal, at: Date.now(), resolve: (value) => resolve(stamp(value)), reject });
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    if (next === HOLD) return promise;
    if (next instanceof Error) reject(next);
    else resolve(stamp(next));
    return promise;
  }
}

// ---------------------------------------------------------------------------------------------
// Watching a stream.

function label(update: TaskUpdate): string {
  if (update.kind === 'state') return `${update.task.status}@${update.task.progressPercent ?? '-'}`;
  const { extensions } = update.error as { extensions?: { code?: unknown } };
  return `error:${String(extensions?.code ?? update.error.message)}`;
}

/** Consumes a hub stream in the background (which starts it: Repeater runs its executor on the first next()). */
class Watch {
  readonly updates: TaskUpdate[] = [];
  done = false;
  readonly #stream: AsyncIterableIterator<TaskUpdate>;

  constructor(stream: AsyncIterableIterator<TaskUpdate>) {
    this.#stream = stream;
    void this.#consume();
  }

  async #consume(): Promise<void> {
    for await (const update of this.#stream) this.updates.push(update);
    this.done = true;
  }

  get seen(): string[] {
    return this.updates.map(label);
  }

  get lastError(): Error | undefined {
    const last = this.updates.at(-1);
    return last?.kind === 'error' ? last.error : undefined;
  }

  /** The client leaves. */
  async leave(): Promise<void> {
    await this.#stream.return?.();
    await settle();
  }
}

/** Lets promise chains run (reads answered at once, stream steps) without moving the clock. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

/** Moves the clock to the next timer (the poller's next look) and lets it run. */
async function runNextPoll(): Promise<void> {
  await vi.advanceTimersToNextTimerAsync();
  await settle();
}

// lru-cache took `performance` when it was loaded, so the fake one vitest would put on globalThis
// never reaches it: leave `performance` out of the faked set and drive its now() from the fake clock.
const cacheClock = performance;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: Date.parse('2026-11-25T10:00:00Z') });
  vi.spyOn(cacheClock, 'now').mockImplementation(() => Date.now());
});

const hubs: TaskWatchHub[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function setup(config: Partial<LiveConfig> = {}, cache: TaskResultCache = createTaskResultCache({ ...cacheConfig, maxEntries: 0 })) {
  const source = new FakeTaskSource();
  const reader = new TaskReader(source, cache);
  const hub = new TaskWatchHub(reader, { ...live, ...config }, logger);
  hubs.push(hub);
  const watch = (id = 't', owner = 'acme') => new Watch(hub.watch(id, owner));
  return { source, reader, hub, watch, start: Date.now() };
}

// ---------------------------------------------------------------------------------------------

describe('nextPollDelayMs', () => {
  const noJitter = () => 0.5;
  const jittered: LiveConfig = { ...live, pollJitter: 0.2 };

  it('clamps the interval to [pollMinIntervalMs, pollMaxIntervalMs]', () => {
    // eta/4 = 250 ms → the minimum; eta/4 = 150 s → the cap.
    expect(nextPollDelayMs(task({ etaSeconds: 1 }), 0, live, noJitter)).toBe(1000);
    expect(nextPollDelayMs(task({ etaSeconds: 600 }), 0, live, noJitter)).toBe(10_000);
    // A long backoff stays at the cap (no overflow to Infinity or NaN).
    expect(nextPollDelayMs(task({ etaSeconds: null }), 1_000_000, live, noJitter)).toBe(10_000);
    // No state yet: the minimum.
    expect(nextPollDelayMs(undefined, 0, live, noJitter)).toBe(1000);
  });

  it('looks four times within the remaining eta, whatever the unchanged-poll count', () => {
    expect(nextPollDelayMs(task({ etaSeconds: 20 }), 0, live, noJitter)).toBe(5000);
    expect(nextPollDelayMs(task({ etaSeconds: 8 }), 0, live, noJitter)).toBe(2000);
    expect(nextPollDelayMs(task({ etaSeconds: 20 }), 5, live, noJitter)).toBe(5000);
  });

  it('looks at the minimum interval from 90 % progress on, whatever the eta', () => {
    expect(nextPollDelayMs(task({ progressPercent: 90, etaSeconds: 40 }), 0, live, noJitter)).toBe(1000);
    expect(nextPollDelayMs(task({ progressPercent: 99, etaSeconds: 40 }), 7, live, noJitter)).toBe(1000);
    expect(nextPollDelayMs(task({ progressPercent: 89, etaSeconds: 40 }), 0, live, noJitter)).toBe(10_000);
  });

  it('backs off ×1.5 per unchanged poll without an eta, up to the cap', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7].map((unchanged) => nextPollDelayMs(task({ etaSeconds: null }), unchanged, live, noJitter));
    expect(delays).toEqual([1000, 1500, 2250, 3375, 5063, 7594, 10_000, 10_000]);
    // An eta of 0 means "no estimate": backoff too.
    expect(nextPollDelayMs(task({ etaSeconds: 0 }), 2, live, noJitter)).toBe(2250);
  });

  it('stretches or shrinks by at most ±pollJitter, never beyond the cap, and not at all with pollJitter 0', () => {
    const eta20 = task({ etaSeconds: 20 }); // 5000 ms before jitter
    expect(nextPollDelayMs(eta20, 0, jittered, () => 0)).toBe(4000);
    expect(nextPollDelayMs(eta20, 0, jittered, () => 0.5)).toBe(5000);
    expect(nextPollDelayMs(eta20, 0, jittered, () => 1)).toBe(6000);
    expect(nextPollDelayMs(task({ etaSeconds: 600 }), 0, jittered, () => 1)).toBe(10_000);
    // Nor below the minimum: at the floor the jitter can only stretch.
    expect(nextPollDelayMs(task({ etaSeconds: null }), 0, jittered, () => 0)).toBe(1000);
    expect(nextPollDelayMs(eta20, 0, live, () => 0)).toBe(5000);

    for (const [snapshot, unchanged, base] of [
      [task({ etaSeconds: 20 }), 0, 5000],
      [task({ etaSeconds: null }), 0, 1000],
      [task({ etaSeconds: null }), 2, 2250],
      [task({ etaSeconds: null }), 30, 10_000],
    ] as const) {
      for (let i = 0; i <= 20; i++) {
        const delay = nextPollDelayMs(snapshot, unchanged, jittered, () => i / 20);
        expect(delay).toBeGreaterThanOrEqual(Math.round(base * 0.8));
        expect(delay).toBeLessThanOrEqual(Math.min(10_000, Math.round(base * 1.2)));
      }
    }
  });
});

describe('TaskWatchHub and its pollers', () => {
  it('does nothing for a stream that is never started', async () => {
    const { source, hub } = setup();
    source.answer(progress(10));
    hub.watch('t', 'acme');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(source.calls).toHaveLength(0);
    expect(hub.activePollers).toBe(0);
  });

  it('gives the first watcher the current state at once, before any interval passes', async () => {
    const { source, hub, watch } = setup();
    source.answer(progress(10));
    const w = watch();
    await settle();
    expect(w.seen).toEqual(['PROCESSING@10']);
    expect(source.calls).toHaveLength(1);
    expect(source.call(0).id).toBe('t');
    expect(hub.activePollers).toBe(1);
    expect(hub.activeWatchers).toBe(1);
  });

  it('polls at the minimum interval, backs off ×1.5 while nothing changes, and is back at the minimum after a change', async () => {
    const { source, watch, start } = setup();
    source.answer(progress(10), progress(10), progress(10), progress(20), progress(20));
    const w = watch();
    await settle();
    await vi.advanceTimersByTimeAsync(999);
    expect(source.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(source.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5750 - 1000);
    // 0, +1000, +1500 (1 unchanged), +2250 (2 unchanged), then 20 % is new: +1000.
    expect(source.callTimes(start)).toEqual([0, 1000, 2500, 4750, 5750]);
    expect(w.seen).toEqual(['PROCESSING@10', 'PROCESSING@20']);
  });

  it('polls at eta/4 while the upstream gives an eta, jittered by Math.random', async () => {
    const { source, watch, start } = setup({ pollJitter: 0.2 });
    vi.spyOn(Math, 'random').mockReturnValue(0); // the shortest jitter: ×0.8
    source.answer(progress(10, { etaSeconds: 20 }), progress(30, { etaSeconds: 12 }), progress(50, { etaSeconds: 8 }));
    watch();
    await settle();
    await vi.advanceTimersByTimeAsync(10_000);
    // 5000 × 0.8, then 3000 × 0.8, then 2000 × 0.8 (the last answer repeats).
    expect(source.callTimes(start).slice(0, 4)).toEqual([0, 4000, 6400, 8000]);
  });

  it('pushes a change, and does not push an unchanged state again', async () => {
    const { source, watch } = setup();
    source.answer(progress(10), progress(10), progress(20));
    const w = watch();
    await settle();
    await runNextPoll();
    expect(source.calls).toHaveLength(2);
    expect(w.seen).toEqual(['PROCESSING@10']);
    await runNextPoll();
    expect(source.calls).toHaveLength(3);
    expect(w.seen).toEqual(['PROCESSING@10', 'PROCESSING@20']);
    // Fields other than progress count as changes too: here only the eta moves.
    source.answer(progress(20, { etaSeconds: 30 }));
    await runNextPoll();
    expect(w.seen).toEqual(['PROCESSING@10', 'PROCESSING@20', 'PROCESSING@20']);
    expect(w.updates.at(-1)).toMatchObject({ kind: 'state', task: { etaSeconds: 30 } });
    expect(w.done).toBe(false);
  });

  it('lets a second watcher of the same task share the poller: the current state at once, one source call per interval', async () => {
    const { source, hub, watch } = setup();
    source.answer(progress(10), progress(20));
    const a = watch();
    await settle();
    const b = watch('t', 'someone-else');
    await settle();
    expect(b.seen).toEqual(['PROCESSING@10']);
    expect(source.calls).toHaveLength(1);
    expect(hub.activePollers).toBe(1);
    expect(hub.activeWatchers).toBe(2);

    await vi.advanceTimersByTimeAsync(1000);
    expect(source.calls).toHaveLength(2);
    expect(a.seen).toEqual(['PROCESSING@10', 'PROCESSING@20']);
    expect(b.seen).toEqual(['PROCESSING@10', 'PROCESSING@20']);
  });

  it('keeps polling for the others when one of two watchers leaves', async () => {
    const { source, hub, watch } = setup();
    source.answer(progress(10), progress(20));
    const a = watch();
    const b = watch();
    await settle();
    await a.leave();
    expect(a.done).toBe(true);
    expect(hub.activePollers).toBe(1);
    expect(hub.activeWatchers).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(source.calls).toHaveLength(2);
    expect(a.seen).toEqual(['PROCESSING@10']);
    expect(b.seen).toEqual(['PROCESSING@10', 'PROCESSING@20']);
  });

  it('completes the stream after a terminal state and stops polling', async () => {
    const { source, hub, watch } = setup();
    source.answer(progress(10), succeeded());
    const w = watch();
    await settle();
    await runNextPoll();
    expect(w.seen).toEqual(['PROCESSING@10', 'SUCCEEDED@100']);
    expect(w.done).toBe(true);
    expect(hub.activePollers).toBe(0);
    expect(hub.activeWatchers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(source.calls).toHaveLength(2);
  });

  it('ends the stream with a TASK_NOT_FOUND error when the source answers null', async () => {
    const { source, hub, watch } = setup();
    source.answer(null);
    const w = watch();
    await settle();
    expect(w.seen).toEqual(['error:TASK_NOT_FOUND']);
    expect(w.lastError?.message).toBe('Task not found.');
    expect(w.done).toBe(true);
    expect(hub.activePollers).toBe(0);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(source.calls).toHaveLength(1);
  });

  it('ends the stream with the error after maxConsecutiveFailures failed polls in a row', async () => {
    const { source, hub, watch } = setup();
    source.answer(progress(10), new Error('boom 1'), new Error('boom 2'), new Error('boom 3'));
    const w = watch();
    await settle();
    await runNextPoll();
    await runNextPoll();
    expect(w.done).toBe(false);
    expect(w.seen).toEqual(['PROCESSING@10']);
    await runNextPoll();
    expect(w.seen).toEqual(['PROCESSING@10', 'error:boom 3']);
    expect(w.lastError?.message).toBe('boom 3');
    expect(w.done).toBe(true);
    expect(hub.activePollers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(source.calls).toHaveLength(4);
  });

  it('does not end on fewer failures in a row: a successful poll resets the count', async () => {
    const { source, watch } = setup();
    const boom = new Error('boom');
    source.answer(progress(10), boom, boom, progress(10), boom, boom, progress(20));
    const w = watch();
    await settle();
    for (let i = 0; i < 6; i++) await runNextPoll();
    expect(source.calls).toHaveLength(7);
    expect(w.seen).toEqual(['PROCESSING@10', 'PROCESSING@20']);
    expect(w.done).toBe(false);
    // Now three in a row.
    source.answer(boom, boom, boom);
    for (let i = 0; i < 3; i++) await runNextPoll();
    expect(w.seen).toEqual(['PROCESSING@10', 'PROCESSING@20', 'error:boom']);
    expect(w.done).toBe(true);
  });

  it('counts failures of the very first read too', async () => {
    const { source, watch } = setup({ maxConsecutiveFailures: 2 });
    source.answer(new Error('down'));
    const w = watch();
    await settle();
    expect(w.seen).toEqual([]);
    await runNextPoll();
    expect(w.seen).toEqual(['error:down']);
    expect(w.done).toBe(true);
  });

  it('stops the poller when the last watcher leaves between polls: no timer, no more source calls', async () => {
    const { source, hub, watch } = setup();
    source.answer(progress(10));
    const a = watch();
    const b = watch();
    await settle();
    await a.leave();
    await b.leave();
    expect(b.done).toBe(true);
    expect(hub.activePollers).toBe(0);
    expect(hub.activeWatchers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(source.calls).toHaveLength(1);
  });

  it('abandons the read under way when the last watcher leaves: its signal fires', async () => {
    const { source, reader, hub, watch } = setup();
    source.answer(progress(10), HOLD);
    const w = watch();
    await settle();
    await vi.advanceTimersByTimeAsync(1000);
    expect(source.calls).toHaveLength(2);
    const pending = source.call(1);
    expect(pending.signal?.aborted).toBe(false);
    expect(reader.inFlight).toBe(1);

    await w.leave();
    expect(pending.signal?.aborted).toBe(true);
    expect(reader.inFlight).toBe(0);
    expect(hub.activePollers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(source.calls).toHaveLength(2);
    expect(w.seen).toEqual(['PROCESSING@10']);
  });

  it('abandons the very first read when the only watcher leaves before any state came', async () => {
    const { source, reader, hub, watch } = setup();
    source.answer(HOLD);
    const w = watch();
    await settle();
    await w.leave();
    expect(source.call(0).signal?.aborted).toBe(true);
    expect(reader.inFlight).toBe(0);
    expect(hub.activePollers).toBe(0);
    expect(w.seen).toEqual([]);
  });

  it('refuses a watcher over maxSubscriptionsPerTenant (TOO_MANY_SUBSCRIPTIONS, scope tenant) and frees the slot when one leaves', async () => {
    const { source, hub, watch } = setup({ maxSubscriptionsPerTenant: 2 });
    source.answer(progress(10));
    const a = watch('t', 'acme');
    const b = watch('u', 'acme');
    await settle();
    const refused = watch('v', 'acme');
    await settle();
    expect(refused.seen).toEqual(['error:TOO_MANY_SUBSCRIPTIONS']);
    expect(refused.lastError).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'tenant', limit: 2 } });
    expect(refused.done).toBe(true);
    // A refused watcher holds nothing and reads nothing.
    expect(source.calls.map((call) => call.id)).toEqual(['t', 'u']);
    expect(hub.activeWatchers).toBe(2);
    // The cap is per owner.
    const other = watch('v', 'globex');
    await settle();
    expect(other.seen).toEqual(['PROCESSING@10']);

    await a.leave();
    const again = watch('v', 'acme');
    await settle();
    expect(again.seen).toEqual(['PROCESSING@10']);
    expect(b.done).toBe(false);
  });

  it('refuses a watcher on one task too many (maxPollersPerTenant, scope tasks), not one more on a task it already watches', async () => {
    const { source, watch } = setup({ maxPollersPerTenant: 2 });
    source.answer(progress(10));
    watch('t', 'acme');
    const onU = watch('u', 'acme');
    await settle();
    const refused = watch('v', 'acme');
    await settle();
    expect(refused.lastError).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', scope: 'tasks', limit: 2 } });
    expect(refused.done).toBe(true);

    const secondOnT = watch('t', 'acme');
    await settle();
    expect(secondOnT.seen).toEqual(['PROCESSING@10']);

    await onU.leave();
    const onV = watch('v', 'acme');
    await settle();
    expect(onV.seen).toEqual(['PROCESSING@10']);
    expect(source.calls.map((call) => call.id)).toEqual(['t', 'u', 'v']);
  });

  it('close() completes every open stream and stops every poller', async () => {
    const { source, hub, watch } = setup();
    source.answer(progress(10));
    const a = watch('t');
    const b = watch('u');
    await settle();
    hub.close();
    await settle();
    expect(a.done).toBe(true);
    expect(b.done).toBe(true);
    expect(hub.activePollers).toBe(0);
    expect(hub.activeWatchers).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(source.calls).toHaveLength(2);
  });

  it('after close(), a new stream ends at once and starts no poller', async () => {
    const { source, hub, watch } = setup();
    source.answer(progress(10));
    hub.close();
    const late = watch('t');
    await settle();
    expect(late.done).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(source.calls).toHaveLength(0);
    expect(hub.activePollers).toBe(0);
  });
});

describe('TaskReader', () => {
  function reader(cache: TaskResultCache = new InMemoryTaskResultCache(cacheConfig)) {
    const source = new FakeTaskSource();
    return { source, reader: new TaskReader(source, cache) };
  }

  it('lets concurrent reads of one id share one source call', async () => {
    const { source, reader: r } = reader();
    source.answer(HOLD);
    const first = r.read('t');
    const second = r.read('t', { signal: new AbortController().signal });
    const fresh = r.read('t', { fresh: true });
    expect(source.calls).toHaveLength(1);
    expect(r.inFlight).toBe(1);
    source.call(0).resolve(progress(40));
    const answers = await Promise.all([first, second, fresh]);
    expect(answers.map((answer) => answer?.progressPercent)).toEqual([40, 40, 40]);
    expect(r.inFlight).toBe(0);
    // Another id is another call.
    source.answer(progress(5, { id: 'other' }));
    await r.read('other');
    expect(source.calls.map((call) => call.id)).toEqual(['t', 'other']);
  });

  it('serves a pending result from the cache for pendingTtlMs, then reads again', async () => {
    const { source, reader: r } = reader();
    source.answer(progress(10), progress(20));
    expect((await r.read('t'))?.progressPercent).toBe(10);
    await vi.advanceTimersByTimeAsync(999);
    expect(r.cached('t')?.progressPercent).toBe(10);
    expect((await r.read('t'))?.progressPercent).toBe(10);
    expect(source.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(r.cached('t')).toBeUndefined();
    expect((await r.read('t'))?.progressPercent).toBe(20);
    expect(source.calls).toHaveLength(2);
  });

  it('with fresh: true skips the cache, yet shares a call already in flight', async () => {
    const { source, reader: r } = reader();
    source.answer(progress(10), HOLD);
    await r.read('t');
    const fresh = r.read('t', { fresh: true });
    expect(source.calls).toHaveLength(2);
    // Meanwhile a plain read is answered from the cache, a second fresh one joins the call.
    expect((await r.read('t'))?.progressPercent).toBe(10);
    const freshToo = r.read('t', { fresh: true });
    expect(source.calls).toHaveLength(2);
    source.call(1).resolve(progress(30));
    expect((await fresh)?.progressPercent).toBe(30);
    expect((await freshToo)?.progressPercent).toBe(30);
    expect(r.cached('t')?.progressPercent).toBe(30);
  });

  it('rejects only the waiter whose signal fired, with its reason; the others still get the value', async () => {
    const { source, reader: r } = reader();
    source.answer(HOLD);
    const leaving = new AbortController();
    const staying = new AbortController();
    const gone = r.read('t', { signal: leaving.signal });
    const kept = r.read('t', { signal: staying.signal });
    const reason = new Error('client left');
    leaving.abort(reason);
    await expect(gone).rejects.toBe(reason);
    expect(source.call(0).signal?.aborted).toBe(false);
    expect(r.inFlight).toBe(1);
    source.call(0).resolve(progress(50));
    expect((await kept)?.progressPercent).toBe(50);
  });

  it('abandons the source call once every waiter has left: its signal fires and it is forgotten', async () => {
    const { source, reader: r } = reader();
    source.answer(HOLD, progress(60));
    const a = new AbortController();
    const b = new AbortController();
    const first = r.read('t', { signal: a.signal });
    const second = r.read('t', { signal: b.signal, fresh: true });
    a.abort(new Error('a left'));
    await expect(first).rejects.toThrow('a left');
    expect(source.call(0).signal?.aborted).toBe(false);
    b.abort(new Error('b left'));
    // At once, not when the source gets round to rejecting: a read now starts a new call rather
    // than joining the abandoned one.
    expect(source.call(0).signal?.aborted).toBe(true);
    expect(r.inFlight).toBe(0);
    const next = r.read('t');
    expect(source.calls).toHaveLength(2);
    await expect(second).rejects.toThrow('b left');
    expect((await next)?.progressPercent).toBe(60);
  });

  it('keeps the call alive for a waiter without a signal', async () => {
    const { source, reader: r } = reader();
    source.answer(HOLD);
    const withSignal = new AbortController();
    const leaving = r.read('t', { signal: withSignal.signal });
    const patient = r.read('t');
    withSignal.abort(new Error('left'));
    await expect(leaving).rejects.toThrow('left');
    expect(source.call(0).signal?.aborted).toBe(false);
    expect(r.inFlight).toBe(1);
    source.call(0).resolve(progress(70));
    expect((await patient)?.progressPercent).toBe(70);
    expect(r.inFlight).toBe(0);
  });

  it('refuses at once a read whose signal has already fired, without a source call', async () => {
    const { source, reader: r } = reader();
    const reason = new Error('too late');
    await expect(r.read('t', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(source.calls).toHaveLength(0);
    expect(r.inFlight).toBe(0);
  });

  it('knows a task after a successful read, not after null (which is not cached either)', async () => {
    const { source, reader: r } = reader();
    source.answer(null, null, progress(10, { id: 'there' }));
    expect(r.isKnown('gone')).toBe(false);
    expect(await r.read('gone')).toBeNull();
    expect(r.isKnown('gone')).toBe(false);
    expect(await r.read('gone')).toBeNull();
    expect(source.calls).toHaveLength(2);

    expect(r.isKnown('there')).toBe(false);
    await r.read('there');
    expect(r.isKnown('there')).toBe(true);
  });

  it('does not learn a task from a failed read', async () => {
    const { source, reader: r } = reader();
    source.answer(new Error('upstream down'));
    await expect(r.read('t')).rejects.toThrow('upstream down');
    expect(r.isKnown('t')).toBe(false);
    expect(r.inFlight).toBe(0);
  });
});
