// The embedded simulator's videos are served through the gateway's own port and origin, on links
// built from PUBLIC_URL (default: the address the gateway listens on), so they play from another
// machine and stay the same across restarts. Real HTTP over loopback; nothing leaves the machine.
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startGateway, type RunningGateway } from '../src/server.js';
import { useStack } from './support/stack.js';
import { dataDirForThisTest } from './support/data-dir.js';

const SAMPLE_VIDEO = new URL('../src/simulator/assets/sample.mp4', import.meta.url);
const CLIENT_KEY = 'k-simulator-videos-0123456789';
const VIDEO_URL_QUERY = 'query($id: ID!) { task(id: $id) { status videos { url format } } }';

const running: RunningGateway[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((gateway) => gateway.close()));
});

/** A gateway in embedded mode (no UPSTREAM_API_KEY), as `npm start` runs it, on loopback. */
async function startEmbedded(env: Record<string, string> = {}): Promise<RunningGateway> {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    SHUTDOWN_GRACE_MS: '200',
    // Tasks finish at once: the tests are about their videos, not their progress.
    SIMULATOR_TASK_DURATION_MS: '0',
    DATA_DIR: dataDirForThisTest(),
    ...env,
  });
  const gateway = await startGateway(config, createLogger(config));
  running.push(gateway);
  return gateway;
}

async function stop(gateway: RunningGateway): Promise<void> {
  running.splice(running.indexOf(gateway), 1);
  await gateway.close();
}

interface GraphQLBody {
  // any: the shape differs per operation; tests check it with expect().
  data?: any;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function graphql(gateway: RunningGateway, query: string, variables: Record<string, unknown>, key?: string): Promise<GraphQLBody> {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLBody;
}

async function createTask(gateway: RunningGateway, prompt: string, key?: string): Promise<string> {
  const created = await graphql(
    gateway,
    'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { code } } }',
    { input: { prompt, subjects: [{ id: '1', images: ['https://example.com/a.png'] }] } },
    key,
  );
  expect(created.errors).toBeUndefined();
  expect(created.data.createReferenceVideo.userErrors).toEqual([]);
  return created.data.createReferenceVideo.taskId as string;
}

async function videoUrlOf(gateway: RunningGateway, taskId: string, key?: string): Promise<string> {
  const read = await graphql(gateway, VIDEO_URL_QUERY, { id: taskId }, key);
  expect(read.errors).toBeUndefined();
  expect(read.data.task.status).toBe('SUCCEEDED');
  expect(read.data.task.videos).toHaveLength(1);
  return read.data.task.videos[0].url as string;
}

async function expectCodedError(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as GraphQLBody;
  expect(body.errors?.[0]?.extensions?.code).toBe(code);
}

describe('embedded simulator, default PUBLIC_URL (the address the gateway listens on)', () => {
  it('hands out links on the gateway’s port that play the sample: whole, by range, HEAD; refusals carry a code', async () => {
    const gateway = await startEmbedded();
    expect(gateway.publicUrl).toBe(gateway.url);
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const taskId = await createTask(gateway, '@1 waves');
    const url = await videoUrlOf(gateway, taskId);
    // An open gateway hands out the simulator's ids verbatim, so the link names this very id.
    expect(url).toBe(`${gateway.url}/simulator/videos/${encodeURIComponent(taskId)}.mp4`);
    // Not the simulator's own loopback listener, whose port changes at every start.
    expect(url.startsWith(gateway.simulator!.url)).toBe(false);

    const sample = await readFile(SAMPLE_VIDEO);
    // No headers at all: what a <video src> sends.
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('x-request-id')).toBeTruthy();
    expect(Buffer.from(await whole.arrayBuffer()).equals(sample)).toBe(true);

    const range = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 100-199/${sample.length}`);
    expect(Buffer.from(await range.arrayBuffer()).equals(sample.subarray(100, 200))).toBe(true);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('video/mp4');
    expect(head.headers.get('content-length')).toBe(String(sample.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    // A browser revalidating what it has: the file is not sent again. (Not with fetch(), which adds
    // `cache-control: no-cache` to a conditional request.)
    const etag = whole.headers.get('etag');
    expect(etag).toBeTruthy();
    const revalidated = await request(url, { headers: { 'if-none-match': etag! } });
    await revalidated.body.dump();
    expect(revalidated.statusCode).toBe(304);

    const outside = await fetch(url, { headers: { range: `bytes=${sample.length + 10}-` } });
    await expectCodedError(outside, 416, 'RANGE_NOT_SATISFIABLE');
    expect(outside.headers.get('content-range')).toBe(`bytes */${sample.length}`);

    await expectCodedError(await fetch(`${gateway.url}/simulator/videos/no-such-task.mp4`), 404, 'NOT_FOUND');
    await expectCodedError(await fetch(`${gateway.url}/simulator/videos/%E0%A4%A.mp4`), 404, 'NOT_FOUND');
    await expectCodedError(await fetch(`${gateway.url}/simulator/videos/${taskId}.webm`), 404, 'NOT_FOUND');
    await expectCodedError(await fetch(`${gateway.url}/simulator/videos/x/${taskId}.mp4`), 404, 'NOT_FOUND');
    const post = await fetch(url, { method: 'POST', body: 'x' });
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await expectCodedError(post, 405, 'METHOD_NOT_ALLOWED');
  });

  it('has no video for a failed task', async () => {
    const gateway = await startEmbedded();
    const taskId = await createTask(gateway, '@1 falls over [sim:fail]');
    const read = await graphql(gateway, VIDEO_URL_QUERY, { id: taskId });
    expect(read.data.task).toEqual({ status: 'FAILED', videos: [] });
    await expectCodedError(await fetch(`${gateway.url}/simulator/videos/${encodeURIComponent(taskId)}.mp4`), 404, 'NOT_FOUND');
  });

  it('needs no client key for a video, while GraphQL does', async () => {
    const gateway = await startEmbedded({ GATEWAY_API_KEYS: `shop:${CLIENT_KEY}`, GATEWAY_ID_SECRET: 'a-secret-of-at-least-32-characters-0123' });
    expect((await graphql(gateway, VIDEO_URL_QUERY, { id: 'demo-succeeded' })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const taskId = await createTask(gateway, '@1 waves', CLIENT_KEY);
    const url = await videoUrlOf(gateway, taskId, CLIENT_KEY);
    expect(url.startsWith(`${gateway.url}/simulator/videos/`)).toBe(true);
    // The tenant's id is signed; the link carries the simulator's own id, which reads nothing through GraphQL.
    const linkedId = decodeURIComponent(/\/([^/]+)\.mp4$/.exec(url)?.[1] ?? '');
    expect(linkedId).not.toBe(taskId);
    expect((await graphql(gateway, VIDEO_URL_QUERY, { id: linkedId }, CLIENT_KEY)).data?.task ?? null).toBeNull();
    const video = await fetch(url);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
  });

  it('gives the same link after a restart on the same port', async () => {
    const first = await startEmbedded();
    const before = await videoUrlOf(first, 'demo-succeeded');
    const port = new URL(first.url).port;
    await stop(first);

    const second = await startEmbedded({ PORT: port });
    const after = await videoUrlOf(second, 'demo-succeeded');
    expect(after).toBe(before);
    expect(after).toBe(`http://127.0.0.1:${port}/simulator/videos/demo-succeeded.mp4`);
    expect((await fetch(after)).status).toBe(200);
  });
});

describe('embedded simulator, PUBLIC_URL set', () => {
  it.each([
    ['a plain-http address on the network', 'http://192.0.2.10:4000', 'http://192.0.2.10:4000'],
    ['an https proxy with a path prefix (trailing slash dropped)', 'https://videos.example.test/gw/', 'https://videos.example.test/gw'],
  ])('builds links on %s, the same after a restart on another port; they pass the gateway’s URL checks', async (_name, publicUrl, base) => {
    const first = await startEmbedded({ PUBLIC_URL: publicUrl });
    expect(first.publicUrl).toBe(base);
    const taskId = await createTask(first, '@1 waves');
    const link = await videoUrlOf(first, taskId);
    expect(link).toBe(`${base}/simulator/videos/${encodeURIComponent(taskId)}.mp4`);
    const demoLink = await videoUrlOf(first, 'demo-succeeded');
    expect(demoLink).toBe(`${base}/simulator/videos/demo-succeeded.mp4`);
    // The proxy in front strips the prefix: the gateway serves the path under its root. (The link's
    // host is not this machine; the same path is fetched on the gateway's loopback port instead.)
    const served = await fetch(`${first.url}${link.slice(base.length)}`);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('video/mp4');
    await stop(first);

    // Created tasks live in the simulator's memory; the demo task is there after every start.
    const second = await startEmbedded({ PUBLIC_URL: publicUrl });
    expect(second.url).not.toBe(first.url);
    expect(await videoUrlOf(second, 'demo-succeeded')).toBe(demoLink);
  });
});

describe('with a real upstream (UPSTREAM_API_KEY set)', () => {
  const stack = useStack();

  it('has no simulator video route, and hands out the upstream’s own links', async () => {
    await expectCodedError(await fetch(`${stack.gateway.url}/simulator/videos/demo-succeeded.mp4`), 404, 'NOT_FOUND');
    const read = await stack.graphql(VIDEO_URL_QUERY, { id: 'demo-succeeded' });
    expect(read.body.data.task.videos[0].url).toBe(`${stack.simulator.url}/videos/demo-succeeded.mp4`);
  });

  it('still refuses plain-http links on the gateway’s own origin', async () => {
    stack.simulator.injectFault({
      endpoint: 'result',
      kind: 'json',
      status: 200,
      body: {
        task: { task_id: 'demo-succeeded', status: 'TASK_STATUS_SUCCEED' },
        videos: [{ video_url: `${stack.gateway.url}/simulator/videos/demo-succeeded.mp4`, video_type: 'mp4' }],
      },
    });
    const read = await stack.graphql(VIDEO_URL_QUERY, { id: 'demo-succeeded' });
    expect(read.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
  });
});
