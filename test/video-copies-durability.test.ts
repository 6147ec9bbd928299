// Video copies that survive what happens to the gateway, over real HTTP: the S3 store against a
// local S3-compatible server (s3rver), a gateway process killed with SIGKILL mid-download (the
// restarted process copies the task to the end), the embedded simulator of the two-command start
// (its videos come from the gateway's own origin), and a graceful shutdown mid-download that makes
// the copy due again at once instead of leaving it to its lease.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { SQLITE_FILE_NAME } from '../src/history/open-task-history.js';
import { createLogger } from '../src/logger.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { dataDirForThisTest } from './support/data-dir.js';
import { startGatewayProcess } from './support/gateway-process.js';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3Server } from './support/s3-server.js';
import { gatewayConfigFor, stackPerTest, UPSTREAM_TEST_KEY, VIDEO_COPYING_ENV, type GraphQLResult } from './support/stack.js';

const SAMPLE = readFileSync(new URL('../src/simulator/assets/sample.mp4', import.meta.url));
const COPYING = VIDEO_COPYING_ENV;
// Server-side following, so a task reaches SUCCEEDED (and is offered for copying) with nobody reading it.
const FAST_FOLLOWING = {
  FOLLOW_MAX_TASKS: '10000',
  LIVE_POLL_MIN_INTERVAL_MS: '100',
  LIVE_POLL_MAX_INTERVAL_MS: '200',
  LIVE_POLL_JITTER_PERCENT: '0',
  TASK_CACHE_PENDING_TTL_MS: '100',
};
/** Holds the next video download for a minute: a copy that is certainly under way when the test acts. */
const HELD_DOWNLOAD = { endpoint: 'video', kind: 'pass', delayMs: 60_000 } as const;
const CREATE = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId } }';
const READ = 'query($id: ID!) { task(id: $id) { status videos { url stored } } }';
const LIST = '{ myTasks { totalCount edges { node { id } } } }';
const DELETE = 'mutation($id: ID!) { deleteTask(id: $id) { deletedTaskId userErrors { code } } }';
const input = () => ({ prompt: '@1 dances', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] });

type GraphQL = (query: string, variables?: Record<string, unknown>) => Promise<GraphQLResult>;

interface VideoView {
  url: string;
  stored: boolean;
}

/** GraphQL over HTTP at `endpoint` (…/graphql), for gateways this file starts itself. */
function graphqlAt(endpoint: string): GraphQL {
  return async (query, variables) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as GraphQLResult['body'], text };
  };
}

async function createTask(graphql: GraphQL): Promise<string> {
  const { body } = await graphql(CREATE, { input: input() });
  expect(body.errors).toBeUndefined();
  return body.data.createReferenceVideo.taskId as string;
}

/** Reads the task until its first video is stored; each read of a SUCCEEDED task also offers it for copying. */
async function storedVideo(graphql: GraphQL, id: string, timeout = 20_000): Promise<VideoView> {
  let last: VideoView | undefined;
  await expect
    .poll(
      async () => {
        const { body } = await graphql(READ, { id });
        expect(body.errors).toBeUndefined();
        last = (body.data.task as { videos: VideoView[] }).videos[0];
        return last?.stored ?? false;
      },
      { timeout, interval: 100 },
    )
    .toBe(true);
  return last!;
}

async function bytesOf(url: string): Promise<{ status: number; contentType: string | null; bytes: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, contentType: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
}

/** The store key a gateway link names: `/videos/<key>?expires=…&signature=…`. */
function keyOfLink(url: string): string {
  return new URL(url).pathname.replace(/^\/videos\//, '');
}

interface CopyLedger {
  state: string | undefined;
  dueAtMs: number | undefined;
  copyRows: number;
}

/**
 * The task's copy state as the history holds it, read from the SQLite file directly. Read-only and
 * WAL, so it works while a gateway process has the file open; the connection is closed at once.
 */
function copyLedgerOf(dataDir: string, taskId: string): CopyLedger {
  const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('select copy_state, copy_due_at from task_history where task_id = ?').get(taskId) as
      | { copy_state: string; copy_due_at: number }
      | undefined;
    const { count } = db.prepare('select count(*) as count from video_copies where task_id = ?').get(taskId) as { count: number };
    return { state: row?.copy_state, dueAtMs: row?.copy_due_at, copyRows: count };
  } finally {
    db.close();
  }
}

/** Finished copies in the folder store (downloads in progress live in its `.partial` folder). */
function storedFiles(dataDir: string): string[] {
  const folder = join(dataDir, 'videos');
  return existsSync(folder) ? readdirSync(folder).filter((name) => name.endsWith('.mp4')) : [];
}

// Everything a test starts is stopped after it, whether it passed or not.
const children: ChildProcess[] = [];
const gateways: RunningGateway[] = [];
const simulators: Simulator[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map(killAndWait));
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
  await Promise.all(simulators.splice(0).map((simulator) => simulator.close()));
});

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function simulator(taskDurationMs: number): Promise<Simulator> {
  const started = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs });
  simulators.push(started);
  return started;
}

describe('copies in S3-compatible storage', () => {
  let s3: RunningS3Server;
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(() => s3.close());
  const stack = stackPerTest({ env: COPYING, simulator: { taskDurationMs: 300 } });

  async function listObjects(client: S3Client, prefix: string): Promise<{ key: string; size: number }[]> {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => ({ key: object.Key ?? '', size: object.Size ?? -1 }));
  }

  it('stores the copy under the prefix, serves it with ranges through the gateway, and deleteTask removes it', async () => {
    const dataDir = dataDirForThisTest();
    const s = await stack({
      DATA_DIR: dataDir,
      VIDEO_STORAGE_URL: `s3://${s3.bucket}/some/prefix`,
      VIDEO_STORAGE_S3_ENDPOINT: s3.endpoint,
      VIDEO_STORAGE_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      VIDEO_STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      VIDEO_STORAGE_S3_REGION: 'us-east-1',
    });
    const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    try {
      const id = await createTask(s.graphql);
      const video = await storedVideo(s.graphql, id);
      expect(video.url.startsWith(`${s.gateway.publicUrl}/videos/`)).toBe(true);

      const full = await bytesOf(video.url);
      expect(full.status).toBe(200);
      expect(full.contentType).toBe('video/mp4');
      expect(full.bytes.equals(SAMPLE)).toBe(true);

      const part = await fetch(video.url, { headers: { range: 'bytes=100-199' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 100-199/${SAMPLE.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(SAMPLE.subarray(100, 200))).toBe(true);

      // The object is in the bucket under the prefix, with the same bytes; the folder store was never opened.
      const objectKey = `some/prefix/${keyOfLink(video.url)}`;
      expect(await listObjects(client, 'some/prefix/')).toEqual([{ key: objectKey, size: SAMPLE.length }]);
      const object = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: objectKey }));
      expect(Buffer.from(await object.Body!.transformToByteArray()).equals(SAMPLE)).toBe(true);
      expect(existsSync(join(dataDir, 'videos'))).toBe(false);

      const { body } = await s.graphql(DELETE, { id });
      expect(body.data.deleteTask).toEqual({ deletedTaskId: id, userErrors: [] });
      expect((await fetch(video.url)).status).toBe(404);
      expect(await listObjects(client, 'some/prefix/')).toEqual([]);
    } finally {
      // Leave the shared bucket empty for whatever runs next, even after a failure.
      for (const { key } of await listObjects(client, 'some/prefix/')) await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
      client.destroy();
    }
  }, 60_000);
});

describe('a copy interrupted by the gateway stopping', () => {
  it('survives kill -9 mid-download: the restarted process copies the task to the end', async () => {
    const upstream = await simulator(300);
    upstream.injectFault(HELD_DOWNLOAD);
    const dataDir = dataDirForThisTest();
    const env = {
      UPSTREAM_API_KEY: UPSTREAM_TEST_KEY,
      UPSTREAM_BASE_URL: upstream.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...FAST_FOLLOWING,
      VIDEO_COPY_CONCURRENCY: '2',
      // A lease of 3 s: what the restarted process waits out before it may claim the copy again.
      VIDEO_COPY_TIMEOUT_MS: '1500',
      VIDEO_COPY_RESCAN_INTERVAL_MS: '200',
    };
    const first = await startGatewayProcess(env);
    children.push(first.child);
    // Created, then never read: following takes it to SUCCEEDED and the copier starts the download.
    const id = await createTask(graphqlAt(first.url));
    await expect.poll(() => upstream.stats().videoRequests, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(1);

    // Claimed and not stored: were the copy lost, nothing would ever store it.
    const beforeKill = copyLedgerOf(dataDir, id);
    expect(beforeKill).toMatchObject({ state: 'PENDING', copyRows: 0 });
    expect(beforeKill.dueAtMs).toBeGreaterThan(Date.now());
    expect(storedFiles(dataDir)).toEqual([]);

    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe('SIGKILL');
    upstream.clearFaults();

    const second = await startGatewayProcess(env);
    children.push(second.child);
    // Nobody reads the task: the restarted process's own rescan claims the copy once the dead one's lease ends.
    await expect.poll(() => copyLedgerOf(dataDir, id).state, { timeout: 20_000, interval: 100 }).toBe('STORED');
    const graphql = graphqlAt(second.url);
    const video = await storedVideo(graphql, id);
    const served = await bytesOf(video.url);
    expect(served.status).toBe(200);
    expect(served.bytes.equals(SAMPLE)).toBe(true);
    expect(copyLedgerOf(dataDir, id)).toMatchObject({ state: 'STORED', copyRows: 1 });
    expect(storedFiles(dataDir)).toEqual([keyOfLink(video.url)]);
    // The download was started again from scratch by the restarted process.
    expect(upstream.stats().videoRequests).toBeGreaterThanOrEqual(2);

    const { body } = await graphql(LIST);
    expect(body.errors).toBeUndefined();
    expect((body.data.myTasks.edges as { node: { id: string } }[]).map((edge) => edge.node.id)).toEqual([id]);
  }, 90_000);

  it('a graceful shutdown mid-download makes the copy due again at once, not when its lease ends', async () => {
    const upstream = await simulator(300);
    upstream.injectFault(HELD_DOWNLOAD);
    const dataDir = dataDirForThisTest();
    // A 60 s download timeout is a 120 s lease: a restart that had to wait it out would fail below.
    const config = gatewayConfigFor(upstream.url, { DATA_DIR: dataDir, ...FAST_FOLLOWING, ...COPYING, VIDEO_COPY_TIMEOUT_MS: '60000' });
    const first = await startGateway(config, createLogger(config));
    gateways.push(first);
    const id = await createTask(graphqlAt(`${first.url}/graphql`));
    await expect.poll(() => upstream.stats().videoRequests, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(1);
    const claimed = copyLedgerOf(dataDir, id);
    expect(claimed.state).toBe('PENDING');
    expect(claimed.dueAtMs).toBeGreaterThan(Date.now() + 60_000);

    gateways.splice(gateways.indexOf(first), 1);
    await first.close();
    // Released by the shutdown: due now, not in two minutes.
    const released = copyLedgerOf(dataDir, id);
    expect(released).toMatchObject({ state: 'PENDING', copyRows: 0 });
    expect(released.dueAtMs).toBeLessThanOrEqual(Date.now());
    upstream.clearFaults();

    const second = await startGateway(config, createLogger(config));
    gateways.push(second);
    const video = await storedVideo(graphqlAt(`${second.url}/graphql`), id, 10_000);
    const served = await bytesOf(video.url);
    expect(served.status).toBe(200);
    expect(served.bytes.equals(SAMPLE)).toBe(true);
  }, 60_000);
});

describe('the two-command start (embedded simulator)', () => {
  it('copies the embedded simulator\'s videos from the gateway\'s own origin', async () => {
    const config = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDirForThisTest(),
      SIMULATOR_TASK_DURATION_MS: '300',
      SHUTDOWN_GRACE_MS: '500',
      ...COPYING,
    });
    expect(config.upstream.apiKey).toBeUndefined();
    const gateway = await startGateway(config, createLogger(config));
    gateways.push(gateway);
    const graphql = graphqlAt(`${gateway.url}/graphql`);
    const id = await createTask(graphql);
    const video = await storedVideo(graphql, id);
    expect(video.url.startsWith(`${gateway.publicUrl}/videos/`)).toBe(true);
    const served = await bytesOf(video.url);
    expect(served.status).toBe(200);
    expect(served.contentType).toBe('video/mp4');
    expect(served.bytes.equals(SAMPLE)).toBe(true);
    // Downloaded through the gateway's /simulator/videos/ route, which hands the request to the embedded simulator.
    expect(gateway.simulator?.stats().videoRequests).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
