// The simulator over real loopback HTTP: the upstream contract it must speak, the task lifecycle,
// the video download, every fault kind (queued in-process and over HTTP), and the request counters.
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Fault, type Simulator } from '../src/simulator/server.js';
import { TaskStore } from '../src/simulator/tasks.js';

const API_KEY = 'test-key-0123456789';
// Long enough that the first poll right after a create still sees QUEUED (first 15% = 120 ms).
const TASK_MS = 800;
const CREATE_PATH = '/v3/async/vidu-q2-reference2video';
const RESULT_PATH = '/v3/async/task-result';
const SAMPLE_VIDEO = new URL('../src/simulator/assets/sample.mp4', import.meta.url);

const validBody = {
  prompt: '@1 waves at the camera',
  subjects: [{ id: '1', images: ['https://images.example.test/person.png'] }],
  duration: 4,
};

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: API_KEY, taskDurationMs: TASK_MS });
});

afterEach(() => {
  sim.clearFaults();
});

afterAll(async () => {
  await sim.close();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** POSTs a create; `body` is sent as JSON unless it is already a string or a stream. */
function createTask(body: unknown = validBody, init: RequestInit = {}): Promise<Response> {
  return fetch(`${sim.url}${CREATE_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: typeof body === 'string' || body instanceof ReadableStream ? body : JSON.stringify(body),
    ...init,
  });
}

function getResult(taskId: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${sim.url}${RESULT_PATH}?task_id=${encodeURIComponent(taskId)}`, {
    headers: { authorization: `Bearer ${API_KEY}` },
    ...init,
  });
}

async function createdTaskId(body: unknown = validBody): Promise<string> {
  const res = await createTask(body);
  expect(res.status).toBe(200);
  const json = (await res.json()) as { task_id: string };
  return json.task_id;
}

interface ResultBody {
  task: { task_id: string; task_type: string; status: string; reason: string; eta: number; progress_percent: number };
  extra: { seed: string; debug_info: Record<string, string> };
  videos: { video_url: string; video_url_ttl: string; video_type: string }[];
  images: unknown[];
  audios: unknown[];
}

async function readResult(taskId: string): Promise<ResultBody> {
  const res = await getResult(taskId);
  expect(res.status).toBe(200);
  return (await res.json()) as ResultBody;
}

/** Polls until the task is terminal, returning every body seen. */
async function pollUntilDone(taskId: string): Promise<ResultBody[]> {
  const seen: ResultBody[] = [];
  const deadline = Date.now() + TASK_MS + 3000;
  while (Date.now() < deadline) {
    const body = await readResult(taskId);
    seen.push(body);
    if (body.task.status === 'TASK_STATUS_SUCCEED' || body.task.status === 'TASK_STATUS_FAILED') return seen;
    await sleep(20);
  }
  throw new Error(`task ${taskId} did not finish in time`);
}

async function expectErrorBody(res: Response, status: number, reason: string): Promise<{ message: string; text: string }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/json');
  const text = await res.text();
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toEqual({ code: status, reason, message: expect.any(String), metadata: {} });
  return { message: String(body['message']), text };
}

describe('authentication', () => {
  it('answers 400 MISSING_API_KEY without an Authorization header, on both endpoints', async () => {
    await expectErrorBody(
      await fetch(`${sim.url}${CREATE_PATH}`, { method: 'POST', body: JSON.stringify(validBody) }),
      400,
      'MISSING_API_KEY',
    );
    await expectErrorBody(await fetch(`${sim.url}${RESULT_PATH}?task_id=demo-succeeded`), 400, 'MISSING_API_KEY');
  });

  it('answers 403 INVALID_API_KEY for any other credentials, never echoing them', async () => {
    for (const authorization of ['Bearer wrong-SECRET-4242', `Token ${API_KEY}`, `Bearer ${API_KEY}x`, 'SECRET-4242']) {
      const created = await createTask(validBody, { headers: { authorization, 'content-type': 'application/json' } });
      const { text } = await expectErrorBody(created, 403, 'INVALID_API_KEY');
      expect(text).not.toContain('SECRET-4242');
      expect(text).not.toContain(API_KEY);
      const read = await getResult('demo-succeeded', { headers: { authorization } });
      expect((await expectErrorBody(read, 403, 'INVALID_API_KEY')).text).not.toContain('SECRET-4242');
    }
  });
});

describe('task lifecycle', () => {
  it('moves a task QUEUED -> PROCESSING (progress rising) -> SUCCEED with a downloadable video', async () => {
    const res = await createTask({ ...validBody, seed: 1234 });
    expect(res.status).toBe(200);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created).toEqual({ task_id: expect.stringMatching(/^[0-9a-f-]{36}$/), provider_request_id: expect.stringMatching(/^sim-[0-9a-f-]{36}$/) });
    const taskId = String(created['task_id']);

    const seen = await pollUntilDone(taskId);
    const statuses = seen.map((body) => body.task.status).filter((status, i, all) => status !== all[i - 1]);
    expect(statuses).toEqual(['TASK_STATUS_QUEUED', 'TASK_STATUS_PROCESSING', 'TASK_STATUS_SUCCEED']);

    const queued = seen.filter((body) => body.task.status === 'TASK_STATUS_QUEUED');
    expect(queued.every((body) => body.task.progress_percent === 0 && body.task.eta >= 1)).toBe(true);
    expect(queued[0]?.extra.debug_info).toEqual({ submit_time_ms: expect.stringMatching(/^\d{13}$/) });

    const processing = seen.filter((body) => body.task.status === 'TASK_STATUS_PROCESSING');
    const progress = processing.map((body) => body.task.progress_percent);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress).size).toBeGreaterThan(1);
    expect(progress.every((p) => p >= 1 && p <= 99)).toBe(true);
    expect(processing.every((body) => Number.isInteger(body.task.eta) && body.task.eta >= 1)).toBe(true);
    expect(Object.keys(processing[0]?.extra.debug_info ?? {}).sort()).toEqual(['execute_time_ms', 'submit_time_ms']);

    const done = seen.at(-1);
    expect(done).toEqual({
      task: {
        task_id: taskId,
        task_type: 'vidu-q2-reference2video',
        status: 'TASK_STATUS_SUCCEED',
        reason: '',
        eta: 0,
        progress_percent: 100,
      },
      extra: {
        seed: '1234',
        debug_info: {
          submit_time_ms: expect.stringMatching(/^\d{13}$/),
          execute_time_ms: expect.stringMatching(/^\d{13}$/),
          complete_time_ms: expect.stringMatching(/^\d{13}$/),
        },
      },
      videos: [{ video_url: `${sim.url}/videos/${taskId}.mp4`, video_url_ttl: '3600', video_type: 'mp4' }],
      images: [],
      audios: [],
    });
    const times = done?.extra.debug_info ?? {};
    expect(Number(times['complete_time_ms']) - Number(times['submit_time_ms'])).toBe(TASK_MS);

    // The video: whole file, a byte range, and HEAD.
    const videoUrl = done?.videos[0]?.video_url ?? '';
    const sample = await readFile(SAMPLE_VIDEO);
    const whole = await fetch(videoUrl);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(sample)).toBe(true);

    const range = await fetch(videoUrl, { headers: { range: 'bytes=0-99' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 0-99/${sample.length}`);
    const head = Buffer.from(await range.arrayBuffer());
    expect(head.length).toBe(100);
    expect(head.equals(sample.subarray(0, 100))).toBe(true);

    const headRequest = await fetch(videoUrl, { method: 'HEAD' });
    expect(headRequest.status).toBe(200);
    expect(headRequest.headers.get('content-length')).toBe(String(sample.length));

    const outOfRange = await fetch(videoUrl, { headers: { range: `bytes=${sample.length + 10}-` } });
    expect(outOfRange.status).toBe(416);
    expect(outOfRange.headers.get('content-range')).toBe(`bytes */${sample.length}`);
  });

  it('ends a prompt containing [sim:fail] in TASK_STATUS_FAILED with the reason, and has no video', async () => {
    const taskId = await createdTaskId({ ...validBody, prompt: '@1 dances [sim:fail]' });
    const done = (await pollUntilDone(taskId)).at(-1);
    expect(done?.task).toMatchObject({ status: 'TASK_STATUS_FAILED', reason: 'simulated failure: the prompt asked for it' });
    expect(done?.videos).toEqual([]);
    expect((await fetch(`${sim.url}/videos/${taskId}.mp4`)).status).toBe(404);
  });

  it('picks a random seed when none or 0 is given, and echoes it as a string', async () => {
    for (const seed of [undefined, 0]) {
      const body = await readResult(await createdTaskId({ ...validBody, seed }));
      expect(body.extra.seed).toMatch(/^[1-9]\d*$/);
      expect(Number(body.extra.seed)).toBeLessThanOrEqual(2_147_483_647);
    }
  });

  it('serves no video before a task has succeeded, nor for unknown ids', async () => {
    const taskId = await createdTaskId();
    expect((await fetch(`${sim.url}/videos/${taskId}.mp4`)).status).toBe(404);
    await expectErrorBody(await fetch(`${sim.url}/videos/no-such-task.mp4`), 404, 'NOT_FOUND');
  });

  it('always has the demo tasks: demo-succeeded with a video, demo-failed with a reason', async () => {
    const succeeded = await readResult('demo-succeeded');
    expect(succeeded.task).toMatchObject({ task_id: 'demo-succeeded', status: 'TASK_STATUS_SUCCEED', progress_percent: 100, eta: 0 });
    const videoUrl = succeeded.videos[0]?.video_url ?? '';
    expect(videoUrl).toBe(`${sim.url}/videos/demo-succeeded.mp4`);
    const video = await fetch(videoUrl);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    await video.arrayBuffer();

    const failed = await readResult('demo-failed');
    expect(failed.task).toMatchObject({ status: 'TASK_STATUS_FAILED', reason: 'simulated failure: the prompt asked for it' });
    expect(failed.videos).toEqual([]);
  });

  it('answers 404 TASK_NOT_FOUND for an unknown task and 400 when task_id is missing', async () => {
    await expectErrorBody(await getResult('no-such-task'), 404, 'TASK_NOT_FOUND');
    const missing = await fetch(`${sim.url}${RESULT_PATH}?task_id=`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect((await expectErrorBody(missing, 400, 'INVALID_REQUEST_BODY')).message).toMatch(/^task_id: /);
  });

  it('makes tasks terminal at once when the duration is 0, and keeps timing deterministic on a fake clock', async () => {
    let now = 1_000_000;
    const store = new TaskStore({ durationMs: 1000, now: () => now });
    const { taskId } = store.create({ prompt: 'p' });
    const statusAt = (t: number) => {
      now = 1_000_000 + t;
      return store.result(taskId, (id) => `video:${id}`)?.task;
    };
    expect(statusAt(0)).toMatchObject({ status: 'TASK_STATUS_QUEUED', progress_percent: 0, eta: 1 });
    expect(statusAt(149)).toMatchObject({ status: 'TASK_STATUS_QUEUED' });
    expect(statusAt(150)).toMatchObject({ status: 'TASK_STATUS_PROCESSING', progress_percent: 1 });
    expect(statusAt(575)).toMatchObject({ status: 'TASK_STATUS_PROCESSING', progress_percent: 50, eta: 1 });
    expect(statusAt(999)).toMatchObject({ status: 'TASK_STATUS_PROCESSING', progress_percent: 99 });
    expect(statusAt(1000)).toMatchObject({ status: 'TASK_STATUS_SUCCEED', progress_percent: 100, eta: 0 });
    expect(store.hasVideo(taskId)).toBe(true);

    const instant = new TaskStore({ durationMs: 0, now: () => now });
    const quick = instant.create({ prompt: 'p', seed: 7 });
    expect(instant.result(quick.taskId, () => 'v')).toMatchObject({ task: { status: 'TASK_STATUS_SUCCEED' }, extra: { seed: '7' } });
    expect(instant.result('nope', () => 'v')).toBeUndefined();
  });
});

describe('create validation', () => {
  const subject = (images: string[]) => ({ id: 'a', images });
  const cases: [string, unknown, RegExp][] = [
    ['a non-JSON body', '{"prompt": ', /^body: must be valid JSON/],
    ['a body that is not an object', '[1, 2]', /^body: /],
    ['a missing prompt', { subjects: validBody.subjects }, /^prompt: is required/],
    ['a blank prompt', { ...validBody, prompt: ' \n\t ' }, /^prompt: must not be blank/],
    ['a prompt over 2000 code points', { ...validBody, prompt: '😀'.repeat(2001) }, /^prompt: must be at most 2000/],
    ['no subjects', { ...validBody, subjects: [] }, /^subjects: /],
    ['8 subjects', { ...validBody, subjects: Array.from({ length: 8 }, (_, i) => ({ id: String(i), images: ['https://x.test/a.png'] })) }, /^subjects: must contain at most 7 subjects/],
    ['an empty subject id', { ...validBody, subjects: [{ id: '', images: ['https://x.test/a.png'] }] }, /^subjects\[0\]\.id: /],
    ['a subject without images', { ...validBody, subjects: [subject([])] }, /^subjects\[0\]\.images: /],
    ['4 images in one subject', { ...validBody, subjects: [subject(Array(4).fill('https://x.test/a.png'))] }, /^subjects\[0\]\.images: must contain at most 3/],
    [
      'an ftp image URL',
      { ...validBody, subjects: [subject(['https://x.test/a.png', 'ftp://x.test/b.png'])] },
      /^subjects\[0\]\.images\[1\]: must be an http\(s\) URL or a data:image\/\(png\|jpeg\|webp\);base64 URI$/,
    ],
    ['a gif data URI', { ...validBody, subjects: [subject(['data:image/gif;base64,R0lGODlh'])] }, /^subjects\[0\]\.images\[0\]: /],
    ['a data URI with broken base64', { ...validBody, subjects: [subject(['data:image/png;base64,not base64!'])] }, /^subjects\[0\]\.images\[0\]: /],
    [
      '8 images in total',
      { ...validBody, subjects: [subject(Array(3).fill('https://x.test/a.png')), subject(Array(3).fill('https://x.test/a.png')), subject(Array(2).fill('https://x.test/a.png'))] },
      /^subjects: must contain at most 7 images in total \(got 8\)/,
    ],
    ['a voice_id that is not a string', { ...validBody, subjects: [{ ...subject(['https://x.test/a.png']), voice_id: 3 }] }, /^subjects\[0\]\.voice_id: /],
    ['duration 11', { ...validBody, duration: 11 }, /^duration: /],
    ['duration 2.5', { ...validBody, duration: 2.5 }, /^duration: /],
    ['duration as a string', { ...validBody, duration: '5' }, /^duration: /],
    ['resolution 4k', { ...validBody, resolution: '4k' }, /^resolution: must be one of 540p, 720p, 1080p/],
    ['aspect ratio 21:9', { ...validBody, aspect_ratio: '21:9' }, /^aspect_ratio: /],
    ['movement amplitude large', { ...validBody, movement_amplitude: 'large' }, /^movement_amplitude: /],
    ['a negative seed', { ...validBody, seed: -1 }, /^seed: /],
    ['a seed above 2^31-1', { ...validBody, seed: 2_147_483_648 }, /^seed: /],
    ['audio as a string', { ...validBody, audio: 'yes' }, /^audio: must be a boolean/],
    ['bgm as a number', { ...validBody, bgm: 1 }, /^bgm: /],
    ['watermark as null', { ...validBody, watermark: null }, /^watermark: /],
  ];

  it.each(cases)('refuses %s with 400 INVALID_REQUEST_BODY naming the field', async (_name, body, message) => {
    const before = sim.createdTaskCount();
    const res = await createTask(body);
    expect((await expectErrorBody(res, 400, 'INVALID_REQUEST_BODY')).message).toMatch(message);
    expect(sim.createdTaskCount()).toBe(before);
  });

  it('accepts every documented option, data URIs, 2000 code points, and ignores unknown fields', async () => {
    const res = await createTask({
      prompt: '😀'.repeat(2000),
      subjects: [
        { id: '1', images: ['data:image/png;base64,iVBORw0KGgo=', 'http://x.test/a.jpg'], voice_id: 'v1' },
        { id: '2', images: ['data:image/webp;base64,UklGRg', 'data:image/jpeg;base64,/9j/4AAQ'] },
      ],
      duration: 10,
      resolution: '1080p',
      aspect_ratio: '3:4',
      movement_amplitude: 'high',
      seed: 2_147_483_647,
      audio: true,
      bgm: false,
      watermark: true,
      extra: { webhook: { url: 'https://hooks.example.test' } },
    });
    expect(res.status).toBe(200);
  });

  it('refuses a body over 20,000,000 bytes, whether its length is declared or streamed', async () => {
    const declared = await createTask('x'.repeat(20_000_001));
    expect((await expectErrorBody(declared, 400, 'INVALID_REQUEST_BODY')).message).toMatch(/^body: must be at most 20000000 bytes/);

    const chunk = new Uint8Array(1_000_000).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 21) controller.enqueue(chunk);
        else controller.close();
      },
    });
    // Node's fetch needs `duplex: 'half'` to stream a request body (no Content-Length is declared);
    // the global RequestInit type does not list it yet.
    const streaming: RequestInit & { duplex: 'half' } = { duplex: 'half' };
    const streamed = await createTask(stream, streaming);
    await expectErrorBody(streamed, 400, 'INVALID_REQUEST_BODY');
  });
});

describe('routing', () => {
  it('answers 404 NOT_FOUND for unknown paths and 405 for a wrong method', async () => {
    await expectErrorBody(await fetch(`${sim.url}/v3/async/nope`), 404, 'NOT_FOUND');
    const wrongMethod = await fetch(`${sim.url}${CREATE_PATH}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    await expectErrorBody(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });
});

type Inject = (fault: Fault) => Promise<void>;

const injectors: [string, Inject][] = [
  ['in-process', async (fault) => sim.injectFault(fault)],
  [
    'over HTTP',
    async (fault) => {
      const res = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify(fault) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ queued: expect.any(Number) });
    },
  ],
];

describe.each(injectors)('faults queued %s', (_how, inject) => {
  it('error: answers the JSON error with Retry-After, once, then normally', async () => {
    await inject({ endpoint: 'create', kind: 'error', status: 429, reason: 'RATE_LIMIT_EXCEEDED', message: 'slow down', retryAfter: '2' });
    const limited = await createTask();
    expect(limited.headers.get('retry-after')).toBe('2');
    expect((await expectErrorBody(limited, 429, 'RATE_LIMIT_EXCEEDED')).message).toBe('slow down');
    expect((await createTask()).status).toBe(200);
  });

  it('error: defaults the reason from the status and the endpoint', async () => {
    await inject({ endpoint: 'result', kind: 'error', status: 500 });
    await expectErrorBody(await getResult('demo-succeeded'), 500, 'GET_RESULT_FAILED');
    await inject({ endpoint: 'create', kind: 'error', status: 503 });
    await expectErrorBody(await createTask(), 503, 'CREATE_TASK_FAILED');
  });

  it('html: answers a proxy HTML page', async () => {
    await inject({ endpoint: 'result', kind: 'html', status: 502 });
    const res = await getResult('demo-succeeded');
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<title>502 Bad Gateway</title>');
  });

  it('empty: answers the status with no body at all', async () => {
    await inject({ endpoint: 'result', kind: 'empty', status: 503 });
    const res = await getResult('demo-succeeded');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBeNull();
    expect(res.headers.get('content-length')).toBe('0');
    expect(await res.text()).toBe('');
  });

  it('malformed-json: answers 200 application/json with a truncated body', async () => {
    await inject({ endpoint: 'create', kind: 'malformed-json' });
    const res = await createTask();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(text.startsWith('{"task_id":')).toBe(true);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('json: answers exactly the given body, e.g. an unknown status', async () => {
    const body = { task: { task_id: 'x', task_type: 'vidu-q2-reference2video', status: 'TASK_STATUS_UNKNOWN', reason: '' }, videos: [] };
    await inject({ endpoint: 'result', kind: 'json', status: 200, body });
    const res = await getResult('demo-succeeded');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(body);
  });

  it('reset: drops the connection without an answer', async () => {
    await inject({ endpoint: 'result', kind: 'reset' });
    const error: unknown = await getResult('demo-succeeded').then(
      () => 'answered',
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(TypeError); // fetch's "fetch failed"
    expect((await getResult('demo-succeeded')).status).toBe(200);
  });

  it('pass with delayMs: holds the answer long enough for a client timeout to fire, then answers normally', async () => {
    await inject({ endpoint: 'result', kind: 'pass', delayMs: 400, times: 2 });
    await expect(getResult('demo-succeeded', { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const started = Date.now();
    const res = await getResult('demo-succeeded');
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(((await res.json()) as ResultBody).task.status).toBe('TASK_STATUS_SUCCEED');
  });

  it('times: applies to that many matching requests, only on its endpoint, FIFO with other faults', async () => {
    await inject({ endpoint: 'result', kind: 'error', status: 500, times: 2 });
    await inject({ endpoint: 'any', kind: 'html', status: 504 });
    // A create does not match the first fault: it takes the 'any' one behind it.
    expect((await createTask()).status).toBe(504);
    await expectErrorBody(await getResult('demo-succeeded'), 500, 'GET_RESULT_FAILED');
    await expectErrorBody(await getResult('demo-succeeded'), 500, 'GET_RESULT_FAILED');
    expect((await getResult('demo-succeeded')).status).toBe(200);
    expect((await createTask()).status).toBe(200);
  });

  it('createTaskAnyway: the task is created though the answer is lost; without it, nothing is created', async () => {
    const before = sim.createdTaskCount();
    await inject({ endpoint: 'create', kind: 'reset', createTaskAnyway: true });
    await expect(createTask()).rejects.toBeInstanceOf(TypeError);
    expect(sim.createdTaskCount()).toBe(before + 1);

    await inject({ endpoint: 'create', kind: 'error', status: 500, createTaskAnyway: true });
    await expectErrorBody(await createTask(), 500, 'CREATE_TASK_FAILED');
    expect(sim.createdTaskCount()).toBe(before + 2);

    await inject({ endpoint: 'create', kind: 'error', status: 500 });
    await expectErrorBody(await createTask(), 500, 'CREATE_TASK_FAILED');
    expect(sim.createdTaskCount()).toBe(before + 2);

    // An invalid request is not created, fault or not.
    await inject({ endpoint: 'create', kind: 'empty', status: 502, createTaskAnyway: true });
    expect((await createTask({ prompt: '' })).status).toBe(502);
    expect(sim.createdTaskCount()).toBe(before + 2);
  });

  it('clearing drops every queued fault', async () => {
    await inject({ endpoint: 'any', kind: 'error', status: 500, times: 5 });
    const cleared = await fetch(`${sim.url}/__sim/faults`, { method: 'DELETE' });
    expect(cleared.status).toBe(204);
    expect((await getResult('demo-succeeded')).status).toBe(200);

    await inject({ endpoint: 'any', kind: 'error', status: 500, times: 5 });
    sim.clearFaults();
    expect((await createTask()).status).toBe(200);
  });
});

describe('fault input', () => {
  it('refuses a bad fault over HTTP with 400 naming the field, and in-process with a TypeError', async () => {
    const bad = [
      [{ endpoint: 'create', kind: 'error', status: 42 }, /^status: /],
      [{ endpoint: 'everywhere', kind: 'reset' }, /^endpoint: /],
      [{ endpoint: 'any', kind: 'explode' }, /^kind: /],
      [{ endpoint: 'any', kind: 'pass', delay: 100 }, /delay/],
      [{ endpoint: 'any', kind: 'pass', times: 0 }, /^times: /],
      [{ endpoint: 'any', kind: 'json', status: 200 }, /^body: /],
      [{ endpoint: 'any', kind: 'error', status: 429, retryAfter: '1\r\nX-Evil: 1' }, /^retryAfter: /],
    ] as const;
    for (const [fault, message] of bad) {
      const res = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify(fault) });
      expect((await expectErrorBody(res, 400, 'INVALID_REQUEST_BODY')).message).toMatch(message);
      expect(() => sim.injectFault(fault as unknown as Fault)).toThrow(TypeError);
    }
    const notJson = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: '{' });
    await expectErrorBody(notJson, 400, 'INVALID_REQUEST_BODY');
    // Nothing bad was queued.
    expect((await getResult('demo-succeeded')).status).toBe(200);
  });
});

describe('stats', () => {
  it('counts requests on arrival, faulted and refused ones included, but not the test API', async () => {
    sim.resetStats();
    expect(sim.stats()).toEqual({ createRequests: 0, resultRequests: 0, videoRequests: 0 });

    await createTask();
    await createTask({ prompt: '' }); // refused by validation
    await fetch(`${sim.url}${CREATE_PATH}`, { method: 'POST' }); // refused: no key
    sim.injectFault({ endpoint: 'create', kind: 'reset' });
    await createTask().catch(() => undefined);
    await getResult('demo-failed');
    await getResult('no-such-task');
    await (await fetch(`${sim.url}/videos/demo-succeeded.mp4`, { method: 'HEAD' })).arrayBuffer();
    await fetch(`${sim.url}/__sim/stats`);
    await fetch(`${sim.url}/__sim/faults`, { method: 'DELETE' });

    const expected = { createRequests: 4, resultRequests: 2, videoRequests: 1 };
    expect(sim.stats()).toEqual(expected);
    const overHttp = await fetch(`${sim.url}/__sim/stats`);
    expect(overHttp.headers.get('content-type')).toBe('application/json');
    expect(await overHttp.json()).toEqual(expected);

    const reset = await fetch(`${sim.url}/__sim/stats/reset`, { method: 'POST' });
    expect(reset.status).toBe(204);
    expect(sim.stats()).toEqual({ createRequests: 0, resultRequests: 0, videoRequests: 0 });
  });

  it('counts a held request as soon as it arrives', async () => {
    sim.resetStats();
    sim.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 300 });
    const pending = getResult('demo-succeeded');
    await sleep(100);
    expect(sim.stats().resultRequests).toBe(1);
    expect((await pending).status).toBe(200);
  });
});

describe('lifecycle of the simulator itself', () => {
  it('close() does not wait for a held request, and cancels it', async () => {
    const own = await startSimulator({ apiKey: API_KEY, taskDurationMs: 0 });
    expect(own.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    own.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 10_000 });
    const held = fetch(`${own.url}${RESULT_PATH}?task_id=demo-succeeded`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const outcome = held.then(
      () => 'answered',
      () => 'failed',
    );
    while (own.stats().resultRequests === 0) await sleep(10);
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await outcome).toBe('failed');
    await own.close(); // idempotent
  });

  it('refuses to start without an API key', async () => {
    await expect(startSimulator({ apiKey: '' })).rejects.toThrow(TypeError);
  });
});
