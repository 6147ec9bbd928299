// Watch links (Task.watchUrl), over real HTTP on loopback: a client key reads a task's watchUrl, and
// an EventSource with no header at all streams that task's taskUpdates to SUCCEEDED under the id the
// key holder sees; altered links are not found, a genuine expired one is gone (signed here with the
// gateway's own secret, read from its SQLite history), other methods are refused; and twenty
// browsers on one link cost the upstream what one does: one poller, one read per interval.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { WatchLinks } from '../src/live/watch-links.js';
import { dataDirForThisTest } from './support/data-dir.js';
import { flipCharAt, withSearchParam } from './support/link-tampering.js';
import { bearer, callGraphQL, type GraphQLAnswer } from './support/graphql-call.js';
import { stackPerTest, type Stack } from './support/stack.js';

const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }';
const READ_WATCH_URL = 'query($id: ID!) { task(id: $id) { id watchUrl } }';
const SHOP_KEY = 'k-shop-0123456789abcdef';
const STUDIO_KEY = 'k-studio-0123456789abcdef';
const KEYED = { GATEWAY_API_KEYS: `shop:${SHOP_KEY},studio:${STUDIO_KEY}`, GATEWAY_ID_SECRET: 'test-id-secret-0123456789abcdef0123456789' };
/** Quick, fixed polls: a stream sees several states within the task's short life. */
const FAST_POLLS = { LIVE_POLL_MIN_INTERVAL_MS: '100', LIVE_POLL_MAX_INTERVAL_MS: '200', LIVE_POLL_JITTER_PERCENT: '0', TASK_CACHE_PENDING_TTL_MS: '100' };
const input = { prompt: '@1 dances', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };
const HOUR_MS = 3600_000;

const stack = stackPerTest();

/** Where a GraphQL call goes, and with which client key (none on an open gateway). */
type Caller = { gateway: { url: string }; key?: string };

function call(caller: Caller, query: string, variables: Record<string, unknown>): Promise<GraphQLAnswer> {
  return callGraphQL(caller, query, variables, caller.key ? bearer(caller.key) : {});
}

/** Creates a task and reads its watchUrl, both as this caller; returns the id the caller sees too. */
async function createWatchedTask(caller: Caller): Promise<{ id: string; watchUrl: string }> {
  const created = await call(caller, CREATE, { input });
  expect(created.errors).toBeUndefined();
  const id = created.data.createReferenceVideo.taskId as string;
  const read = await call(caller, READ_WATCH_URL, { id });
  expect(read.errors).toBeUndefined();
  expect(read.data.task.id).toBe(id);
  return { id, watchUrl: read.data.task.watchUrl as string };
}

interface TaskEvent {
  id: string;
  status: string;
  isTerminal: boolean;
  progressPercent: number | null;
  videos: { url: string; format: string; expiresAt: string; stored: boolean }[];
}

interface OpenedWatch {
  /** Resolves at the first `next` event. */
  first: Promise<void>;
  /** Every `next` event's data.taskUpdates, once `complete` has arrived; rejects on an error. */
  done: Promise<TaskEvent[]>;
  close(): void;
}

/**
 * Opens a watch link as a browser would: an EventSource, which sends no Authorization header (nor
 * can be told to). It is closed at `complete` (else it would reconnect when the stream ends).
 */
function openWatch(url: string): OpenedWatch {
  const source = new EventSource(url);
  const events: TaskEvent[] = [];
  let firstArrived: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (firstArrived = resolve));
  const done = new Promise<TaskEvent[]>((resolve, reject) => {
    source.addEventListener('next', (event) => {
      const result = JSON.parse(event.data) as { data?: { taskUpdates: TaskEvent }; errors?: unknown[] };
      if (!result.data) {
        source.close();
        reject(new Error(`an error event: ${event.data}`));
        return;
      }
      events.push(result.data.taskUpdates);
      firstArrived();
    });
    source.addEventListener('complete', () => {
      source.close();
      resolve(events);
    });
    source.addEventListener('error', (event) => {
      source.close();
      reject(new Error(`EventSource error (${event.code ?? 'no status'}: ${event.message ?? ''}) after ${JSON.stringify(events.map((e) => e.status))}`));
    });
  });
  return { first, done, close: () => source.close() };
}

async function errorCodeOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
}

/** The upstream ids of the tasks this gateway's SQLite history holds, and its watch-link secret. */
function readHistory(dataDir: string): { upstreamIds: string[]; watchSecret: Buffer } {
  const db = new Database(join(dataDir, 'gateway.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('select task_id from task_history').all() as { task_id: string }[];
    const secret = db.prepare("select value from gateway_secrets where name = 'watch-links'").get() as { value: string };
    return { upstreamIds: rows.map((row) => row.task_id), watchSecret: Buffer.from(secret.value, 'base64url') };
  } finally {
    db.close();
  }
}

describe('a watch link opened with no credential', () => {
  it('streams the task to SUCCEEDED under the id the key holder sees, ending with its videos and complete', async () => {
    // Long enough that the stream, opened after a create and a read, sees the task before it ends (on a busy machine too).
    const s = await stack({ ...KEYED, ...FAST_POLLS }, { taskDurationMs: 5000 });
    const shop = { gateway: s.gateway, key: SHOP_KEY };
    const { id, watchUrl } = await createWatchedTask(shop);
    expect(watchUrl.startsWith(`${s.gateway.publicUrl}/watch/`)).toBe(true);
    const expires = Number(new URL(watchUrl).searchParams.get('expires'));
    // At least an hour from now (the default TTL), at most two.
    expect(expires * 1000).toBeGreaterThan(Date.now() + HOUR_MS - 5_000);
    expect(expires * 1000).toBeLessThanOrEqual(Date.now() + 2 * HOUR_MS);
    // The other tenant cannot read the task, so never gets its link from the gateway.
    expect((await call({ gateway: s.gateway, key: STUDIO_KEY }, READ_WATCH_URL, { id })).data?.task ?? null).toBeNull();

    const events = await openWatch(watchUrl).done;
    const statuses = events.map((event) => event.status);
    expect(statuses.length).toBeGreaterThanOrEqual(2);
    expect(statuses[0]).toMatch(/^(QUEUED|PROCESSING)$/);
    expect(statuses.at(-1)).toBe('SUCCEEDED');
    expect(events.slice(0, -1).every((event) => !event.isTerminal)).toBe(true);
    // Every event names the task by the signed id its tenant's key sees, never the upstream id.
    expect(new Set(events.map((event) => event.id))).toEqual(new Set([id]));
    const last = events.at(-1)!;
    expect(last.isTerminal).toBe(true);
    expect(last.progressPercent).toBe(100);
    expect(last.videos.length).toBeGreaterThanOrEqual(1);
    expect(last.videos[0]).toMatchObject({ url: expect.stringMatching(/^http:\/\//), format: 'MP4' });
    // Nothing polls the task any more once the stream has ended.
    await expect.poll(() => s.gateway.live.activePollers, { timeout: 5_000 }).toBe(0);
  });

  it('answers as an event stream any origin may read, with no Authorization header', async () => {
    // Polls ten seconds apart: a watcher that left only at the task's next change would stay that long.
    const s = await stack({ ...KEYED, LIVE_POLL_MIN_INTERVAL_MS: '10000', LIVE_POLL_MAX_INTERVAL_MS: '10000' }, { taskDurationMs: 60_000 });
    const { watchUrl } = await createWatchedTask({ gateway: s.gateway, key: SHOP_KEY });
    const leaving = new AbortController();
    const response = await fetch(watchUrl, { headers: { origin: 'http://elsewhere.example' }, signal: leaving.signal });
    try {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('cache-control')).toBe('no-store');
      await expect.poll(() => s.gateway.live.activeWatchers, { timeout: 5_000 }).toBe(1);
    } finally {
      leaving.abort();
    }
    // The reader left: its watcher, and the task's poller, go at once, not at the next poll.
    await expect.poll(() => s.gateway.live.activePollers, { timeout: 5_000 }).toBe(0);
    expect(s.gateway.live.activeWatchers).toBe(0);
  });
});

describe('links that are not genuine, or no longer valid', () => {
  it('an altered signature, expiry or token is not found (404 NOT_FOUND), and POST is refused (405)', async () => {
    const dataDir = dataDirForThisTest();
    const s = await stack({ ...KEYED, DATA_DIR: dataDir }, { taskDurationMs: 60_000 });
    const { watchUrl } = await createWatchedTask({ gateway: s.gateway, key: SHOP_KEY });
    const url = new URL(watchUrl);
    const token = url.pathname.slice('/watch/'.length);
    const signature = url.searchParams.get('signature')!;
    const flip = flipCharAt;
    const withParam = (name: string, value: string | null) => withSearchParam(url, name, value);
    const withToken = (replacement: string) => {
      const copy = new URL(url);
      copy.pathname = `/watch/${replacement}`;
      return copy.toString();
    };
    // The token is [tenant, user, upstream task id], sealed: the URL names none of them in clear.
    const [taskId] = readHistory(dataDir).upstreamIds;
    expect(watchUrl).not.toMatch(/shop/);
    expect(watchUrl).not.toContain(taskId!);
    expect(Buffer.from(token, 'base64url').toString('latin1')).not.toContain(taskId!);
    // The same task claimed for the other tenant, or another task, sealed with a secret not the
    // gateway's; and the contents in clear, as an unsealed token would carry them.
    const stranger = new WatchLinks(randomBytes(32), () => s.gateway.publicUrl, 3600);
    const sealedElsewhere = (tenant: string, task: string) => new URL(stranger.linkFor({ tenant, user: null }, task).url).pathname.slice('/watch/'.length);
    const otherTenant = sealedElsewhere('studio', taskId!);
    const otherTask = sealedElsewhere('shop', 'demo-succeeded');
    const inClear = Buffer.from(JSON.stringify(['shop', null, taskId]), 'utf8').toString('base64url');

    const altered = [
      withParam('signature', flip(signature, 5)),
      withParam('signature', flip(signature, signature.length - 1)),
      withParam('signature', null),
      withParam('expires', String(Number(url.searchParams.get('expires')) + 3600)),
      withParam('expires', String(Number(url.searchParams.get('expires')) - 1)),
      withParam('expires', null),
      withToken(otherTenant),
      withToken(otherTask),
      withToken(inClear),
      withToken(flip(token, 3)),
      withToken(`${token}.x`),
    ];
    for (const link of altered) {
      const response = await fetch(link);
      expect(response.status, link).toBe(404);
      expect(response.headers.get('access-control-allow-origin'), link).toBe('*');
      expect(await errorCodeOf(response), link).toBe('NOT_FOUND');
    }
    // None of them started a watcher (the task's poller would be running).
    expect(s.gateway.live.activePollers).toBe(0);

    const posted = await fetch(watchUrl, { method: 'POST' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET');
    expect(await errorCodeOf(posted)).toBe('METHOD_NOT_ALLOWED');
  });

  it('a genuine link past its expiry is gone (410 WATCH_LINK_EXPIRED); one signed now with the same secret streams', async () => {
    const dataDir = dataDirForThisTest();
    const s = await stack({ ...KEYED, ...FAST_POLLS, DATA_DIR: dataDir }, { taskDurationMs: 800 });
    const { id, watchUrl } = await createWatchedTask({ gateway: s.gateway, key: SHOP_KEY });
    const { upstreamIds, watchSecret } = readHistory(dataDir);
    expect(upstreamIds).toHaveLength(1);
    const upstreamId = upstreamIds[0]!;
    // Signed ids carry a MAC, so the upstream id is not the id the tenant sees.
    expect(upstreamId).not.toBe(id);
    const links = new WatchLinks(watchSecret, () => s.gateway.publicUrl, 3600);
    const scope = { tenant: 'shop', user: null };

    // The test's signer is the gateway's: at the gateway's own moment in the grid, it makes the very same URL.
    const expires = Number(new URL(watchUrl).searchParams.get('expires'));
    expect(links.linkFor(scope, upstreamId, (expires - 2 * 3600) * 1000).url).toBe(watchUrl);

    // Signed three hours ago: genuine, and expired.
    const old = links.linkFor(scope, upstreamId, Date.now() - 3 * HOUR_MS);
    expect(old.expiresAt.getTime()).toBeLessThan(Date.now());
    const expired = await fetch(old.url);
    expect(expired.status).toBe(410);
    expect(expired.headers.get('access-control-allow-origin')).toBe('*');
    expect(await errorCodeOf(expired)).toBe('WATCH_LINK_EXPIRED');
    expect(s.gateway.live.activePollers).toBe(0);

    // Signed now: it streams, as the tenant's view (the id the key holder sees).
    const events = await openWatch(links.linkFor(scope, upstreamId).url).done;
    expect(events.at(-1)).toMatchObject({ id, status: 'SUCCEEDED' });
  });
});

describe('many browsers on one link', () => {
  const POLL_MS = 500;
  // Long enough that all twenty streams are open well before the task ends.
  const DURATION_MS = 5000;
  const WATCHERS = 20;
  const FIXED_POLLS = {
    LIVE_POLL_MIN_INTERVAL_MS: String(POLL_MS),
    LIVE_POLL_MAX_INTERVAL_MS: String(POLL_MS),
    LIVE_POLL_JITTER_PERCENT: '0',
    TASK_CACHE_PENDING_TTL_MS: '100',
  };

  /** Opens the task's link `count` times at once, and counts the upstream reads until every stream has completed. */
  async function watchWith(s: Stack, count: number): Promise<{ reads: number; eventLists: TaskEvent[][] }> {
    const { watchUrl } = await createWatchedTask({ gateway: s.gateway });
    // From here on, only the watchers' poller reads the task (server-side following is off in test stacks).
    s.simulator.resetStats();
    const watches = Array.from({ length: count }, () => openWatch(watchUrl));
    try {
      await Promise.all(watches.map((watch) => watch.first));
      // All of them open at once, on one poller.
      expect(s.gateway.live.activeWatchers).toBe(count);
      expect(s.gateway.live.activePollers).toBe(1);
      const eventLists = await Promise.all(watches.map((watch) => watch.done));
      await expect.poll(() => s.gateway.live.activePollers, { timeout: 5_000 }).toBe(0);
      return { reads: s.simulator.stats().resultRequests, eventLists };
    } finally {
      for (const watch of watches) watch.close();
    }
  }

  it(`${WATCHERS} EventSources on the same watchUrl share one poller: about one upstream read per interval, as for one`, async () => {
    const s = await stack(FIXED_POLLS, { taskDurationMs: DURATION_MS });
    const single = await watchWith(s, 1);
    const many = await watchWith(s, WATCHERS);
    console.info(`upstream reads over a ${DURATION_MS} ms task polled every ${POLL_MS} ms: 1 watcher ${single.reads}, ${WATCHERS} watchers ${many.reads}`);

    expect(many.eventLists).toHaveLength(WATCHERS);
    for (const events of many.eventLists) expect(events.at(-1)?.status).toBe('SUCCEEDED');
    // One poller at a fixed interval: about duration / interval reads (twenty would make twenty times that).
    expect(many.reads).toBeGreaterThanOrEqual(1);
    expect(many.reads).toBeLessThanOrEqual(DURATION_MS / POLL_MS + 4);
    expect(single.reads).toBeLessThanOrEqual(DURATION_MS / POLL_MS + 4);
    expect(many.reads).toBeLessThanOrEqual(single.reads + 2);
  });
});

describe('one link, bounded', () => {
  it('holds at most WATCH_LINK_MAX_STREAMS streams at once (429 TOO_MANY_STREAMS beyond); a closed one frees its place', async () => {
    const s = await stack({ ...KEYED, ...FAST_POLLS, WATCH_LINK_MAX_STREAMS: '2' }, { taskDurationMs: 60_000 });
    const { watchUrl } = await createWatchedTask({ gateway: s.gateway, key: SHOP_KEY });
    const first = openWatch(watchUrl);
    const second = openWatch(watchUrl);
    await Promise.all([first.first, second.first]);
    const third = await fetch(watchUrl);
    expect(third.status).toBe(429);
    expect(third.headers.get('access-control-allow-origin')).toBe('*');
    expect(await errorCodeOf(third)).toBe('TOO_MANY_STREAMS');
    // Another task's link is not affected by this one's streams.
    const other = await createWatchedTask({ gateway: s.gateway, key: SHOP_KEY });
    const otherWatch = openWatch(other.watchUrl);
    await otherWatch.first;
    otherWatch.close();
    first.close();
    // The server sees the close a moment later; then the place is free again.
    await expect.poll(async () => {
      const controller = new AbortController();
      const response = await fetch(watchUrl, { signal: controller.signal });
      const status = response.status;
      controller.abort();
      return status;
    }, { timeout: 10_000, interval: 200 }).toBe(200);
    second.close();
  });
});
