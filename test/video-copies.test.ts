// Videos outlive the upstream's signed URL: each succeeded task's video is copied into the gateway's
// video store (a folder under DATA_DIR here; S3, kill -9 and restarts in video-copies-durability.test.ts), and `Video.url` switches
// to a signed gateway link served with byte ranges. Over real HTTP, against the simulator: the copy,
// the link (capability, forged, altered, expired), tenants, deleteTask, a copy that fails and is
// retried, the refusal to download from a loopback address the configuration does not trust, and
// the retention sweep.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openTaskHistory } from '../src/history/open-task-history.js';
import { SHARED_HISTORY } from '../src/history/task-history.js';
import { createLogger } from '../src/logger.js';
import { copyKeyOf } from '../src/videos/copy-keys.js';
import { openFolderVideoStore } from '../src/videos/folder-video-store.js';
import { RetentionSweep } from '../src/videos/retention-sweep.js';
import { VideoLinks } from '../src/videos/video-links.js';
import { dataDirForThisTest } from './support/data-dir.js';
import { flipCharAt, withSearchParam } from './support/link-tampering.js';
import { bearer, callGraphQL, type GraphQLAnswer } from './support/graphql-call.js';
import { stackPerTest, VIDEO_COPYING_ENV, type Stack } from './support/stack.js';

const silent = createLogger({ logLevel: 'silent' });
const DAY_MS = 86_400_000;
const SAMPLE = readFileSync(new URL('../src/simulator/assets/sample.mp4', import.meta.url));
const COPYING = VIDEO_COPYING_ENV;
const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }';
const READ = 'query($id: ID!) { task(id: $id) { status videos { url format expiresAt stored } } }';
const SHOP_KEY = 'k-shop-0123456789abcdef';
const STUDIO_KEY = 'k-studio-0123456789abcdef';
const KEYED = { GATEWAY_API_KEYS: `shop:${SHOP_KEY},studio:${STUDIO_KEY}`, GATEWAY_ID_SECRET: 'test-id-secret-0123456789abcdef0123456789' };
const DELETE = 'mutation($id: ID!) { deleteTask(id: $id) { deletedTaskId userErrors { code } } }';
const input = (prompt = '@1 dances') => ({ prompt, subjects: [{ id: '1', images: ['https://example.com/a.png'] }] });

interface VideoView {
  url: string;
  format: string;
  expiresAt: string;
  stored: boolean;
}

const stack = stackPerTest({ env: COPYING, simulator: { taskDurationMs: 300 } });

/** A GraphQL call with this client key (none on an open gateway). */
type Caller = { gateway: { url: string }; key?: string };

function call(caller: Caller, query: string, variables: Record<string, unknown>): Promise<GraphQLAnswer> {
  return callGraphQL(caller, query, variables, caller.key ? bearer(caller.key) : {});
}

async function createTask(s: Caller): Promise<string> {
  const body = await call(s, CREATE, { input: input() });
  expect(body.errors).toBeUndefined();
  return body.data.createReferenceVideo.taskId as string;
}

async function readVideos(s: Caller, id: string): Promise<{ status: string; videos: VideoView[] }> {
  const body = await call(s, READ, { id });
  expect(body.errors).toBeUndefined();
  return body.data.task as { status: string; videos: VideoView[] };
}

/** Reads the task until its first video is stored (each read of a SUCCEEDED task also offers it for copying). */
async function storedVideo(s: Caller, id: string): Promise<VideoView> {
  let last: VideoView | undefined;
  await expect
    .poll(
      async () => {
        last = (await readVideos(s, id)).videos[0];
        return last?.stored ?? false;
      },
      { timeout: 15_000, interval: 100 },
    )
    .toBe(true);
  return last!;
}

/** A stack on a DATA_DIR the test can look into. */
async function stackWithDataDir(env: Record<string, string> = {}): Promise<{ s: Stack; dataDir: string }> {
  const dataDir = dataDirForThisTest();
  return { s: await stack({ DATA_DIR: dataDir, ...env }), dataDir };
}

describe('copying a succeeded task\'s video', () => {
  it('switches url to a signed gateway link that serves the same bytes, with byte ranges and HEAD', async () => {
    const { s, dataDir } = await stackWithDataDir();
    const id = await createTask(s);
    // Before the copy: the simulator's own link, not stored.
    await expect.poll(async () => (await readVideos(s, id)).status, { timeout: 10_000, interval: 100 }).toBe('SUCCEEDED');
    const video = await storedVideo(s, id);
    expect(video.url.startsWith(`${s.gateway.publicUrl}/videos/`)).toBe(true);
    expect(video.format).toBe('MP4');
    const expiresAt = Date.parse(video.expiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now() + 3600_000 - 5_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 2 * 3600_000);

    const full = await fetch(video.url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('video/mp4');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect(Buffer.from(await full.arrayBuffer()).equals(SAMPLE)).toBe(true);

    const part = await fetch(video.url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${SAMPLE.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(SAMPLE.subarray(100, 200))).toBe(true);

    const head = await fetch(video.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(SAMPLE.length));

    // Reads within one step of the link's TTL hand out the same URL (players and caches keep working).
    expect((await readVideos(s, id)).videos[0]?.url).toBe(video.url);
    // The copy is a file in the store's folder under DATA_DIR.
    const files = readdirSync(join(dataDir, 'videos')).filter((name) => name.endsWith('.mp4'));
    expect(files).toHaveLength(1);
    expect(createHash('sha256').update(readFileSync(join(dataDir, 'videos', files[0]!))).digest('hex')).toBe(
      createHash('sha256').update(SAMPLE).digest('hex'),
    );
  });
});

/** The secret that signs this gateway's video links, as its history keeps it. */
function linkSecretIn(dataDir: string): Buffer {
  const db = new Database(join(dataDir, 'gateway.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("select value from gateway_secrets where name = 'video-links'").get() as { value: string };
    return Buffer.from(row.value, 'base64url');
  } finally {
    db.close();
  }
}

describe('stored video links', () => {
  it('are capability links: another tenant\'s key or none plays them, while a forged or altered link is not found', async () => {
    const s = await stack(KEYED);
    const shop = { gateway: s.gateway, key: SHOP_KEY };
    const id = await createTask(shop);
    const video = await storedVideo(shop, id);
    const url = new URL(video.url);
    // The link names no tenant in clear (nor the upstream task id).
    expect(video.url).not.toMatch(/shop|studio/i);
    expect(video.url).not.toContain(id);
    // Played with no key, and with the other tenant's key.
    expect((await fetch(video.url)).status).toBe(200);
    expect((await fetch(video.url, { headers: { authorization: `Bearer ${STUDIO_KEY}` } })).status).toBe(200);
    // The other tenant cannot read the task, so never gets the link from the gateway.
    expect((await call({ gateway: s.gateway, key: STUDIO_KEY }, READ, { id })).data?.task ?? null).toBeNull();

    const altered: string[] = [];
    const signature = url.searchParams.get('signature')!;
    const flip = flipCharAt;
    const withParam = (name: string, value: string | null) => withSearchParam(url, name, value);
    altered.push(withParam('signature', flip(signature, 5)));
    altered.push(withParam('signature', null));
    altered.push(withParam('expires', String(Number(url.searchParams.get('expires')) + 3600)));
    altered.push(withParam('expires', null));
    const otherKey = new URL(url);
    otherKey.pathname = `/videos/${flip(url.pathname.slice('/videos/'.length), 3)}`;
    altered.push(otherKey.toString());
    for (const link of altered) {
      const response = await fetch(link);
      expect(response.status, link).toBe(404);
      expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('NOT_FOUND');
    }
    // A path that only means the same file after normalising (fetch would normalise it; raw HTTP does not).
    const dotted = await new Promise<number>((resolve, reject) => {
      get({ host: url.hostname, port: url.port, path: `/videos/../videos/${url.pathname.slice('/videos/'.length)}${url.search}` }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(dotted).toBe(404);
    expect((await fetch(video.url, { method: 'POST' })).status).toBe(405);
  });

  it('expire: a genuine link past its expiry answers 410 with a code, and a new read gives a fresh one that plays', async () => {
    const dataDir = dataDirForThisTest();
    const s = await stack({ DATA_DIR: dataDir });
    const id = await createTask(s);
    const video = await storedVideo(s, id);
    const key = new URL(video.url).pathname.slice('/videos/'.length);
    // A link this gateway signed two hours ago, with its own secret: genuine, and expired.
    const links = new VideoLinks(linkSecretIn(dataDir), () => s.gateway.publicUrl, 3600);
    const old = links.linkFor(key, Date.now() - 3 * 3600_000);
    expect(old.expiresAt.getTime()).toBeLessThan(Date.now());
    const expired = await fetch(old.url);
    expect(expired.status).toBe(410);
    expect(((await expired.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('VIDEO_LINK_EXPIRED');
    // The same secret signs the link a read hands out now: the test's signer is the gateway's.
    expect(links.linkFor(key).url).toBe(video.url);
    const fresh = (await readVideos(s, id)).videos[0]!;
    expect(Date.parse(fresh.expiresAt)).toBeGreaterThan(Date.now());
    expect((await fetch(fresh.url)).status).toBe(200);
  });

  it('deleteTask removes the copy: its link answers 404 and the file is gone', async () => {
    const dataDir = dataDirForThisTest();
    const s = await stack({ DATA_DIR: dataDir });
    const id = await createTask(s);
    const video = await storedVideo(s, id);
    const folder = join(dataDir, 'videos');
    const file = join(folder, new URL(video.url).pathname.slice('/videos/'.length));
    expect(existsSync(file)).toBe(true);
    const deleted = await call(s, DELETE, { id });
    expect(deleted.data.deleteTask).toEqual({ deletedTaskId: id, userErrors: [] });
    expect((await fetch(video.url)).status).toBe(404);
    expect(existsSync(file)).toBe(false);
  });
});

describe('copies that fail', () => {
  it('are visible as stored: false, are retried, and never hold up a read', async () => {
    const s = await stack();
    // The first three downloads get a proxy's HTML page instead of a video.
    s.simulator.injectFault({ endpoint: 'video', kind: 'html', status: 200, times: 3 });
    const id = await createTask(s);
    await expect.poll(async () => (await readVideos(s, id)).status, { timeout: 10_000, interval: 100 }).toBe('SUCCEEDED');
    // Until the copy works, the upstream's link is served, marked as not stored.
    const before = (await readVideos(s, id)).videos[0]!;
    expect(before.stored).toBe(false);
    expect(before.url.startsWith(s.simulator.url)).toBe(true);
    const after = await storedVideo(s, id);
    expect(after.url.startsWith(`${s.gateway.publicUrl}/videos/`)).toBe(true);
    const metrics = await (await fetch(`${s.gateway.url}/metrics`)).text();
    expect(Number(/^gateway_video_copy_attempts_total\{outcome="failed"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^gateway_video_copy_attempts_total\{outcome="stored"\} (\d+)$/m.exec(metrics)?.[1])).toBe(1);
    // The log says why, without the signed link.
    expect(s.logs.text()).toContain('NOT_VIDEO');
  });

  it('never download from a loopback address the configuration does not trust', async () => {
    // A listener on loopback that counts connections: a video link pointing at it must not reach it.
    const connections: number[] = [];
    const trap: Server = createServer((socket) => {
      connections.push(1);
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const port = (trap.address() as AddressInfo).port;
    try {
      const s = await stack();
      const id = await createTask(s);
      // From now on the upstream says the task succeeded with its video at https://127.0.0.1:<trap>/,
      // then at https://localhost:<trap>/ (a name that resolves to loopback).
      for (const host of ['127.0.0.1', 'localhost']) {
        s.simulator.injectFault({
          endpoint: 'result',
          kind: 'json',
          status: 200,
          times: host === '127.0.0.1' ? 5 : 1000,
          body: {
            task: { task_id: id, status: 'TASK_STATUS_SUCCEED', progress_percent: 100 },
            videos: [{ video_url: `https://${host}:${port}/v.mp4?token=abc`, video_url_ttl: '3600', video_type: 'mp4' }],
          },
        });
      }
      // Reads keep offering the task for copying; the copier keeps refusing.
      for (let read = 0; read < 10; read++) {
        const video = (await readVideos(s, id)).videos[0]!;
        expect(video.stored).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await expect.poll(() => s.logs.text().match(/ADDRESS_REFUSED/g)?.length ?? 0, { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
      expect(s.logs.text()).not.toContain('token=abc');
      expect(connections).toHaveLength(0);
    } finally {
      await new Promise((resolve) => trap.close(resolve));
    }
  });
});

describe('retention', () => {
  it('removes records and copies older than VIDEO_RETENTION_DAYS, and keeps newer ones', async () => {
    const dataDir = dataDirForThisTest();
    const history = await openTaskHistory({ dataDir, databaseUrl: undefined, logger: silent });
    const store = await openFolderVideoStore(join(dataDir, 'videos'));
    try {
      const now = Date.now();
      const tasks = [
        { taskId: 'old-task', createdAt: new Date(now - 31 * DAY_MS) },
        { taskId: 'new-task', createdAt: new Date(now - 29 * DAY_MS) },
      ];
      for (const task of tasks) {
        await history.record({ owner: SHARED_HISTORY, prompt: 'p', ...task });
        await history.noteStatus(task.taskId, 'SUCCEEDED', new Date(now));
        const key = copyKeyOf(SHARED_HISTORY, task.taskId, 0, 'MP4');
        const scratch = join(store.scratchDirectory, `${task.taskId}.partial`);
        writeFileSync(scratch, SAMPLE);
        await store.put(key, scratch, 'video/mp4');
        expect(await history.completeCopies(SHARED_HISTORY, task.taskId, [{ index: 0, key, format: 'MP4', bytes: SAMPLE.length, storedAt: new Date(now) }])).toBe(true);
      }
      const removed: string[] = [];
      const sweep = new RetentionSweep({
        history,
        store,
        config: { retentionDays: 30, retentionSweepIntervalMs: 60_000 },
        logger: silent,
        onRemoved: (taskId) => removed.push(taskId),
      });
      expect(await sweep.sweep(now)).toBe(1);
      expect(removed).toEqual(['old-task']);
      const left = await history.getMany(SHARED_HISTORY, ['old-task', 'new-task']);
      expect([...left.keys()]).toEqual(['new-task']);
      expect(existsSync(join(dataDir, 'videos', copyKeyOf(SHARED_HISTORY, 'old-task', 0, 'MP4')))).toBe(false);
      expect(existsSync(join(dataDir, 'videos', copyKeyOf(SHARED_HISTORY, 'new-task', 0, 'MP4')))).toBe(true);
      expect((await history.getCopies(SHARED_HISTORY, ['new-task'])).get('new-task')).toHaveLength(1);
      // A day later the other one goes too; a sweep with nothing to do removes nothing.
      expect(await sweep.sweep(now + 2 * DAY_MS)).toBe(1);
      expect(await sweep.sweep(now + 2 * DAY_MS)).toBe(0);
      await sweep.close();
    } finally {
      await history.close();
      await store.close();
    }
  });
});

describe('with the response cache on', () => {
  async function responseCacheHits(s: Stack): Promise<number> {
    const metrics = await (await fetch(`${s.gateway.url}/metrics`)).text();
    return Number(/^gateway_cache_lookups_total\{cache="response",result="hit"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  }

  it('a cached answer switches to the stored copy soon after it is made, and answers with the copy are reused', async () => {
    const s = await stack({ TASK_CACHE_MAX_ENTRIES: '10000' });
    const id = await createTask(s);
    await expect.poll(async () => (await readVideos(s, id)).status, { timeout: 10_000, interval: 100 }).toBe('SUCCEEDED');
    const video = await storedVideo(s, id);
    const before = await responseCacheHits(s);
    const again = (await readVideos(s, id)).videos[0]!;
    expect(again).toEqual(video);
    expect(await responseCacheHits(s)).toBe(before + 1);
  });
});

describe('once the video service forgets a task', () => {
  it('the task reads as the history remembers it, with its stored copy, for its owner only', async () => {
    const s = await stack(KEYED);
    const shop = { gateway: s.gateway, key: SHOP_KEY };
    const id = await createTask(shop);
    const video = await storedVideo(shop, id);
    // From now on the upstream answers "task not found" for every read.
    s.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 404, reason: 'TASK_NOT_FOUND', times: 1000 });
    const remembered = await call(shop, 'query($id: ID!) { task(id: $id) { id status prompt createdAt videos { url stored } } node(id: $id) { id } }', { id });
    expect(remembered.errors).toBeUndefined();
    expect(remembered.data.task).toMatchObject({ id, status: 'SUCCEEDED', prompt: '@1 dances', videos: [{ url: video.url, stored: true }] });
    expect(remembered.data.node).toEqual({ id });
    expect(s.simulator.stats().resultRequests).toBeGreaterThanOrEqual(1);
    expect((await fetch(video.url)).status).toBe(200);
    // Another tenant still gets nothing, and an id no history holds is still unknown.
    expect((await call({ gateway: s.gateway, key: STUDIO_KEY }, READ, { id })).data.task).toBeNull();
    const listed = await call(shop, '{ myTasks { edges { node { id status videos { stored } } } } }', {});
    expect(listed.data.myTasks.edges).toEqual([{ node: { id, status: 'SUCCEEDED', videos: [{ stored: true }] } }]);
  });
});
