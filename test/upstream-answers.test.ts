// Answers from the upstream are checked before they are believed: unsafe video links are dropped,
// an answer about another task is refused, out-of-range numbers never become server errors,
// SUCCEEDED without a video is a bad response, the API key never reaches a log line or error
// detail, one deadline bounds every call, and a run of timeouts marks the upstream degraded.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type UpstreamConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { UpstreamClient } from '../src/upstream/client.js';
import { UpstreamError, UpstreamTimeoutError } from '../src/upstream/errors.js';
import { UpstreamHealth } from '../src/upstream/upstream-health.js';
import { LogCapture, TASK_FIELDS, UPSTREAM_TEST_KEY, useStack } from './support/stack.js';

const TASK_ID = 'demo-succeeded';
const READ = `query Read($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`;
const CREATE = `mutation Create($input: CreateReferenceVideoInput!) {
  createReferenceVideo(input: $input) { taskId userErrors { field message code } }
}`;
const createInput = { prompt: '@1 runs', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] };
const DAY_MS = 24 * 3600 * 1000;

/** A task-result body for `TASK_ID`, with the parts a test cares about replaced. */
function taskResult(task: Record<string, unknown>, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return { task: { task_id: TASK_ID, status: 'TASK_STATUS_SUCCEED', reason: '', ...task }, ...rest };
}

/** Parsed log lines written since `from` (an index into `logs.lines`). */
function logLinesSince(logs: LogCapture, from: number): Record<string, unknown>[] {
  return logs.lines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** An upstream client of its own against `simulator`, logging into `logs`. */
function directClient(simulator: Simulator, logs: LogCapture, overrides: Partial<UpstreamConfig> = {}): UpstreamClient {
  const config = loadConfig({
    LOG_LEVEL: 'trace',
    UPSTREAM_API_KEY: UPSTREAM_TEST_KEY,
    UPSTREAM_BASE_URL: simulator.url,
    UPSTREAM_RETRY_BASE_DELAY_MS: '10',
    UPSTREAM_RETRY_MAX_DELAY_MS: '50',
  });
  return new UpstreamClient({ ...config.upstream, apiKey: UPSTREAM_TEST_KEY, ...overrides }, createLogger(config, logs.stream));
}

describe('answers the gateway does not take at face value', () => {
  const stack = useStack();

  function answerNextRead(body: unknown): void {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'json', status: 200, body });
  }

  it('drops video URLs that are neither https nor on the upstream origin, and logs only their scheme and host', async () => {
    const simulatorVideo = `${stack.simulator.url}/videos/${TASK_ID}.mp4`;
    const cdnVideo = 'https://cdn.example/v.mp4?X-Amz-Signature=goodtoken';
    answerNextRead(
      taskResult({}, {
        videos: [
          { video_url: 'javascript:alert(document.cookie)//.mp4', video_url_ttl: 3600 },
          { video_url: 'data:text/html,<script>alert(1)</script>', video_url_ttl: 3600 },
          { video_url: 'http://169.254.169.254/latest/meta-data/iam?X-Amz-Signature=leaktoken123', video_url_ttl: 3600 },
          { video_url: 'not a url at all', video_url_ttl: 3600 },
          // Same host as the simulator, another port: another origin.
          { video_url: 'http://127.0.0.1:1/videos/other-port.mp4', video_url_ttl: 3600 },
          { video_url: cdnVideo, video_url_ttl: 3600, video_type: 'mp4' },
          { video_url: simulatorVideo, video_url_ttl: 3600, video_type: 'mp4' },
        ],
      }),
    );
    const from = stack.logs.lines.length;
    const { body } = await stack.graphql(READ, { id: TASK_ID });
    expect(body.errors).toBeUndefined();
    expect(body.data.task.videos.map((video: { url: string }) => video.url)).toEqual([cdnVideo, simulatorVideo]);

    const drops = logLinesSince(stack.logs, from).filter((line) => line['msg'] === 'dropped an unsafe video URL from the upstream');
    expect(drops.map((line) => [line['level'], line['scheme'], line['host']])).toEqual([
      [40, 'javascript:', ''],
      [40, 'data:', ''],
      [40, 'http:', '169.254.169.254'],
      [40, null, null],
      [40, 'http:', '127.0.0.1:1'],
    ]);
    const text = stack.logs.lines.slice(from).join('\n');
    for (const fragment of ['leaktoken123', 'meta-data', 'alert(', 'not a url at all', 'other-port']) {
      expect(text).not.toContain(fragment);
    }
  });

  it('refuses a SUCCEEDED answer whose every video URL is unsafe: UPSTREAM_BAD_RESPONSE', async () => {
    answerNextRead(taskResult({}, { videos: [{ video_url: 'javascript:alert(1)' }] }));
    const { body } = await stack.graphql(READ, { id: TASK_ID });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(body.data).toEqual({ task: null });
  });

  it('refuses an answer about another task id: UPSTREAM_BAD_RESPONSE', async () => {
    answerNextRead(
      taskResult({ task_id: 'someone-elses-task' }, { videos: [{ video_url: 'https://cdn.example/theirs.mp4', video_url_ttl: 3600 }] }),
    );
    const { body, text } = await stack.graphql(READ, { id: TASK_ID });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(body.data).toEqual({ task: null });
    expect(text).not.toContain('theirs.mp4');
  });

  it.each([
    ['"oops"', 'oops'],
    ['missing', undefined],
    ['empty', []],
    ['null', null],
    ['entries without a URL', [{ video_type: 'mp4', video_url_ttl: 3600 }]],
  ])('refuses a SUCCEEDED answer whose videos is %s: UPSTREAM_BAD_RESPONSE', async (_name, videos) => {
    answerNextRead(taskResult({}, videos === undefined ? {} : { videos }));
    const { body } = await stack.graphql(READ, { id: TASK_ID });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(body.data).toEqual({ task: null });
  });

  it('keeps reading a running task leniently, whatever its videos look like', async () => {
    answerNextRead(taskResult({ status: 'TASK_STATUS_PROCESSING', progress_percent: 40, eta: 12 }, { videos: 'oops' }));
    const { body } = await stack.graphql(READ, { id: TASK_ID });
    expect(body.errors).toBeUndefined();
    expect(body.data.task).toMatchObject({ status: 'PROCESSING', progressPercent: 40, etaSeconds: 12, videos: [] });
  });

  it('keeps the good videos of a SUCCEEDED answer whose list also holds junk entries', async () => {
    answerNextRead(taskResult({}, { videos: [null, 'oops', { video_url: 'https://cdn.example/ok.mp4', video_url_ttl: 60 }] }));
    const { body } = await stack.graphql(READ, { id: TASK_ID });
    expect(body.errors).toBeUndefined();
    expect(body.data.task.videos).toEqual([{ url: 'https://cdn.example/ok.mp4', format: 'MP4', expiresAt: expect.any(String) }]);
  });

  describe('out-of-range numbers are clamped or dropped, never a server error', () => {
    it('a succeeded task: a TTL of 1e13 s is clamped to 7 days; absurd times, progress and seed are dropped', async () => {
      answerNextRead(
        taskResult(
          { eta: 1e12, progress_percent: 1e300 },
          {
            extra: { seed: '1e20', debug_info: { submit_time_ms: '8000000000000000', complete_time_ms: '-1' } },
            videos: [{ video_url: 'https://cdn.example/v.mp4', video_url_ttl: 1e13, video_type: 'mp4' }],
          },
        ),
      );
      const before = Date.now();
      const { body } = await stack.graphql(READ, { id: TASK_ID });
      expect(body.errors).toBeUndefined();
      expect(body.data.task).toMatchObject({ status: 'SUCCEEDED', progressPercent: 100, etaSeconds: null, seed: null, submittedAt: null, completedAt: null });
      const expiresAt = Date.parse(body.data.task.videos[0].expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 7 * DAY_MS - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 7 * DAY_MS);
    });

    it.each([
      ['negative', -5],
      ['zero', 0],
      ['negative string', '-3600'],
    ])('a %s TTL (%s) falls back to the documented 3600 s', async (_name, ttl) => {
      answerNextRead(taskResult({}, { videos: [{ video_url: 'https://cdn.example/v.mp4', video_url_ttl: ttl }] }));
      const before = Date.now();
      const { body } = await stack.graphql(READ, { id: TASK_ID });
      expect(body.errors).toBeUndefined();
      const expiresAt = Date.parse(body.data.task.videos[0].expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
    });

    it.each([
      ['beyond int32', 1e12, null],
      ['just over a day', 86_401, null],
      ['exactly a day', 86_400, 86_400],
      ['not finite', 'Infinity', null],
    ])('a running task with an eta %s (%s) reads back with etaSeconds %s', async (_name, eta, expected) => {
      answerNextRead(taskResult({ status: 'TASK_STATUS_PROCESSING', eta, progress_percent: -1e300 }));
      const { body } = await stack.graphql(READ, { id: TASK_ID });
      expect(body.errors).toBeUndefined();
      expect(body.data.task).toMatchObject({ status: 'PROCESSING', etaSeconds: expected, progressPercent: 0 });
    });

    it.each([
      ['seconds taken for milliseconds (1970)', '1764064800', null],
      ['1999', String(Date.UTC(1999, 11, 31)), null],
      ['2101', String(Date.UTC(2101, 0, 1)), null],
      ['2025', '1764064800000', '2025-11-25T10:00:00.000Z'],
    ])('a submit time in %s (%s) reads back as %s', async (_name, submitTimeMs, expected) => {
      answerNextRead(taskResult({ status: 'TASK_STATUS_QUEUED' }, { extra: { debug_info: { submit_time_ms: submitTimeMs } } }));
      const { body } = await stack.graphql(READ, { id: TASK_ID });
      expect(body.errors).toBeUndefined();
      expect(body.data.task.submittedAt).toBe(expected);
    });
  });

  describe('the upstream key never reaches a log line', () => {
    const echoed = `proxy echo: Authorization: Bearer ${UPSTREAM_TEST_KEY}`;

    it.each([
      ['a 200 read answer', 'result', 200, { echoed }, 'UPSTREAM_BAD_RESPONSE'],
      ['a 200 create answer', 'create', 200, { echoed }, 'UPSTREAM_BAD_RESPONSE'],
      ['a 404 read answer without a reason', 'result', 404, { echoed }, 'UPSTREAM_BAD_RESPONSE'],
      ['a 500 read answer', 'result', 500, { reason: 'GET_RESULT_FAILED', message: echoed }, 'UPSTREAM_UNAVAILABLE'],
    ] as const)('when %s echoes it back', async (_name, endpoint, status, fault, code) => {
      stack.simulator.injectFault({ endpoint, kind: 'json', status, body: fault, times: 5 });
      const from = stack.logs.lines.length;
      const { body } =
        endpoint === 'create' ? await stack.graphql(CREATE, { input: createInput }) : await stack.graphql(READ, { id: TASK_ID });
      expect(body.errors?.[0]?.extensions?.code).toBe(code);
      expect(stack.logs.lines.slice(from).join('\n')).not.toContain(UPSTREAM_TEST_KEY);
    });

    it('logs the scrubbed excerpt of a body it cannot use, so operators still see what came', async () => {
      answerNextRead({ echoed });
      const from = stack.logs.lines.length;
      await stack.graphql(READ, { id: TASK_ID });
      const logged = logLinesSince(stack.logs, from).find((line) => line['msg'] === 'upstream sent a response we cannot use');
      expect(logged?.['detail']).toContain('proxy echo: Authorization: Bearer [redacted]');
    });
  });
});

describe('a cached answer with clamped values', () => {
  const stack = useStack({ env: { TASK_CACHE_MAX_ENTRIES: '100' } }, { resetBetweenTests: false });

  it('is served again from the cache, still valid', async () => {
    stack.simulator.injectFault({
      endpoint: 'result',
      kind: 'json',
      status: 200,
      body: taskResult({}, { videos: [{ video_url: 'https://cdn.example/v.mp4', video_url_ttl: '1e13' }] }),
    });
    const first = await stack.graphql(READ, { id: TASK_ID });
    const second = await stack.graphql(READ, { id: TASK_ID });
    expect(first.body.errors).toBeUndefined();
    expect(second.body).toEqual(first.body);
    expect(stack.simulator.stats().resultRequests).toBe(1);
  });
});

describe('error details and logs, read directly from the client', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 0 });
  });
  afterAll(async () => {
    await simulator.close();
  });

  it('keeps no copy of the key in an error detail, however the body carries it', async () => {
    const logs = new LogCapture();
    const client = directClient(simulator, logs, { readRetries: 0 });
    // As is, JSON-escaped and URL-encoded.
    const message = `Bearer ${UPSTREAM_TEST_KEY} / ${encodeURIComponent(UPSTREAM_TEST_KEY)} / ${'x'.repeat(180)}${UPSTREAM_TEST_KEY}`;
    const faults = [
      { kind: 'json', status: 500, body: { reason: 'GET_RESULT_FAILED', message } },
      { kind: 'json', status: 200, body: { message } },
      { kind: 'json', status: 404, body: { message } },
    ] as const;
    for (const fault of faults) {
      simulator.injectFault({ endpoint: 'result', ...fault });
      const error: unknown = await client.getTask(TASK_ID).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).detail).toContain('[redacted]');
      expect((error as UpstreamError).detail).not.toContain(UPSTREAM_TEST_KEY);
      // Not even its first half, as a cut excerpt would leave.
      expect((error as UpstreamError).detail).not.toContain(UPSTREAM_TEST_KEY.slice(0, 16));
    }
    expect(logs.text()).not.toContain(UPSTREAM_TEST_KEY.slice(0, 16));
    await client.close();
  });
});

describe('createLogger with secrets', () => {
  it('censors each secret in every written line, child loggers, messages and errors included', () => {
    const logs = new LogCapture();
    const logger = createLogger({ logLevel: 'debug' }, logs.stream, { secrets: [UPSTREAM_TEST_KEY, undefined, ''] });
    logger.info({ note: `Authorization: Bearer ${UPSTREAM_TEST_KEY}` }, `message with ${UPSTREAM_TEST_KEY}`);
    logger.child({ component: 'x', copy: UPSTREAM_TEST_KEY }).warn({ err: new Error(`failed with ${UPSTREAM_TEST_KEY}`) }, 'child line');
    logger.debug({ quoted: `"${UPSTREAM_TEST_KEY}"` }, 'escaped');
    expect(logs.lines).toHaveLength(3);
    expect(logs.text()).not.toContain(UPSTREAM_TEST_KEY);
    // Still one JSON object a line, with the rest of the text intact.
    const parsed = logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ note: 'Authorization: Bearer [redacted]', msg: 'message with [redacted]' });
    expect(parsed[1]).toMatchObject({ copy: '[redacted]', msg: 'child line' });
  });

  it('still works without secrets (the old two-argument call)', () => {
    const logs = new LogCapture();
    createLogger({ logLevel: 'info' }, logs.stream).info({ a: 1 }, 'plain');
    expect(JSON.parse(logs.lines[0] ?? '{}')).toMatchObject({ a: 1, msg: 'plain' });
  });
});

describe('one deadline per upstream call', () => {
  // Per-attempt timeouts far longer than the call's deadline: only the deadline can end these calls.
  const stack = useStack({ env: { UPSTREAM_DEADLINE_MS: '1500', UPSTREAM_TIMEOUT_MS: '30000' } });

  it('a read whose answers hang ends with UPSTREAM_TIMEOUT at the deadline', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 60_000, times: 10 });
    const started = Date.now();
    const { body } = await stack.graphql(READ, { id: TASK_ID });
    const elapsed = Date.now() - started;
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    expect(body.data).toEqual({ task: null });
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(5000);
  }, 20_000);

  it('a create whose answer hangs ends with UPSTREAM_TIMEOUT at the deadline, sent once', async () => {
    stack.simulator.injectFault({ endpoint: 'create', kind: 'pass', delayMs: 60_000, createTaskAnyway: true });
    const started = Date.now();
    const { body } = await stack.graphql(CREATE, { input: createInput });
    expect(body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(stack.simulator.stats().createRequests).toBe(1);
  }, 20_000);

  it('a Retry-After longer than the time left ends the read at once with RATE_LIMITED', async () => {
    stack.simulator.injectFault({ endpoint: 'result', kind: 'error', status: 429, reason: 'RATE_LIMIT_EXCEEDED', retryAfter: '5' });
    const started = Date.now();
    const { body } = await stack.graphql(READ, { id: TASK_ID });
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 5 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(stack.simulator.stats().resultRequests).toBe(1);
  });

  it('a caller that aborts gets its abort, not an upstream error; the deadline gives UpstreamTimeoutError', async () => {
    const logs = new LogCapture();
    const client = directClient(stack.simulator, logs, { deadlineMs: 1500, timeoutMs: 30_000 });
    stack.simulator.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 60_000, times: 10 });

    const caller = new AbortController();
    setTimeout(() => caller.abort(), 200);
    const aborted: unknown = await client.getTask(TASK_ID, caller.signal).catch((caught: unknown) => caught);
    expect(aborted).not.toBeInstanceOf(UpstreamError);
    expect((aborted as Error).name).toBe('AbortError');

    const started = Date.now();
    const timedOut: unknown = await client.getTask(TASK_ID, new AbortController().signal).catch((caught: unknown) => caught);
    expect(timedOut).toBeInstanceOf(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(5000);
    await client.close();
  }, 20_000);
});

describe('upstream health', () => {
  describe('UpstreamHealth', () => {
    let now = 0;
    const health = () => new UpstreamHealth({ degradedAfterTimeouts: 3, recoverAfterMs: 30_000, now: () => now });
    beforeEach(() => {
      now = 1_000_000;
    });

    it('is degraded after the configured number of consecutive timeouts, not before', () => {
      const h = health();
      h.recordTimeout();
      h.recordTimeout();
      expect(h.isDegraded()).toBe(false);
      h.recordTimeout();
      expect(h.isDegraded()).toBe(true);
    });

    it('an answer of any kind ends the run', () => {
      const h = health();
      h.recordTimeout();
      h.recordTimeout();
      h.recordAnswer();
      h.recordTimeout();
      h.recordTimeout();
      expect(h.isDegraded()).toBe(false);
      h.recordTimeout();
      expect(h.isDegraded()).toBe(true);
      h.recordAnswer();
      expect(h.isDegraded()).toBe(false);
    });

    it('lapses by itself 30 s after the last timeout; one more timeout then degrades it again at once', () => {
      const h = health();
      for (let i = 0; i < 3; i += 1) h.recordTimeout();
      now += 29_999;
      expect(h.isDegraded()).toBe(true);
      now += 1;
      expect(h.isDegraded()).toBe(false);
      h.recordTimeout();
      expect(h.isDegraded()).toBe(true);
      now += 30_000;
      h.recordAnswer();
      h.recordTimeout();
      expect(h.isDegraded()).toBe(false);
    });
  });

  it('UpstreamClient.isDegraded: true after consecutive timed-out attempts, false again after an answer', async () => {
    const simulator = await startSimulator({ apiKey: UPSTREAM_TEST_KEY, taskDurationMs: 0 });
    const logs = new LogCapture();
    const client = directClient(simulator, logs, { deadlineMs: 300, readRetries: 0, degradedAfterTimeouts: 2 });
    try {
      simulator.injectFault({ endpoint: 'result', kind: 'pass', delayMs: 60_000, times: 2 });
      await expect(client.getTask(TASK_ID)).rejects.toBeInstanceOf(UpstreamTimeoutError);
      expect(client.isDegraded()).toBe(false);
      await expect(client.getTask(TASK_ID)).rejects.toBeInstanceOf(UpstreamTimeoutError);
      expect(client.isDegraded()).toBe(true);
      // A 404 is an answer too: the upstream is there.
      await expect(client.getTask('no-such-task')).resolves.toBeNull();
      expect(client.isDegraded()).toBe(false);
    } finally {
      await client.close();
      await simulator.close();
    }
  }, 20_000);
});
