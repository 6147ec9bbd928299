import { describe, expect, it } from 'vitest';
import { toTaskSnapshot } from '../src/upstream/task-snapshot.js';
import { taskResultSchema } from '../src/upstream/wire.js';
import { parseRetryAfter } from '../src/upstream/retry-after.js';

const fetchedAt = new Date('2026-11-25T10:00:00.000Z');
const read = (body: unknown) => toTaskSnapshot(taskResultSchema.parse(body), fetchedAt);

describe('toTaskSnapshot', () => {
  it('maps each known upstream status and keeps unknown ones visible as UNKNOWN', () => {
    const statusOf = (status: string) => read({ task: { task_id: 't', status } }).status;
    expect(statusOf('TASK_STATUS_QUEUED')).toBe('QUEUED');
    expect(statusOf('TASK_STATUS_PROCESSING')).toBe('PROCESSING');
    expect(statusOf('TASK_STATUS_SUCCEED')).toBe('SUCCEEDED');
    expect(statusOf('TASK_STATUS_FAILED')).toBe('FAILED');
    expect(statusOf('TASK_STATUS_UNKNOWN')).toBe('UNKNOWN');
    expect(statusOf('TASK_STATUS_PAUSED')).toBe('UNKNOWN');
  });

  it('reads a succeeded task: videos with expiry from our read time plus the TTL (string or number)', () => {
    const task = read({
      task: { task_id: 'abc', status: 'TASK_STATUS_SUCCEED', reason: '', eta: 0, progress_percent: 100 },
      extra: { seed: '123', debug_info: { submit_time_ms: '1764064800000', complete_time_ms: '1764064860000' } },
      videos: [
        { video_url: 'https://cdn.example/v.mp4', video_url_ttl: '3600', video_type: 'mp4' },
        { video_url: 'https://cdn.example/v.gif', video_url_ttl: 60, video_type: 'gif' },
        { video_url_ttl: '10' },
      ],
    });
    expect(task).toMatchObject({
      id: 'abc',
      status: 'SUCCEEDED',
      progressPercent: 100,
      etaSeconds: null,
      failureReason: null,
      seed: 123,
      submittedAt: new Date(1764064800000),
      completedAt: new Date(1764064860000),
    });
    expect(task.videos).toEqual([
      { url: 'https://cdn.example/v.mp4', format: 'MP4', expiresAt: new Date('2026-11-25T11:00:00.000Z') },
      { url: 'https://cdn.example/v.gif', format: 'GIF', expiresAt: new Date('2026-11-25T10:01:00.000Z') },
    ]);
  });

  it('defaults a missing or unreadable TTL to 3600 s', () => {
    const task = read({
      task: { task_id: 'a', status: 'TASK_STATUS_SUCCEED' },
      videos: [{ video_url: 'https://x/v.mp4', video_url_ttl: 'soon' }],
    });
    expect(task.videos[0]?.expiresAt).toEqual(new Date('2026-11-25T11:00:00.000Z'));
  });

  it('reads a running task: progress clamped, eta rounded up, no completion time', () => {
    const task = read({
      task: { task_id: 'a', status: 'TASK_STATUS_PROCESSING', eta: 12.2, progress_percent: 140 },
      extra: { debug_info: { complete_time_ms: '1764064860000' } },
    });
    expect(task).toMatchObject({ progressPercent: 100, etaSeconds: 13, completedAt: null, videos: [] });
    expect(read({ task: { task_id: 'a', status: 'TASK_STATUS_QUEUED', eta: 0 } })).toMatchObject({ etaSeconds: null, progressPercent: null });
  });

  it('gives a failure reason only for FAILED tasks, with a fallback when the upstream gives none', () => {
    expect(read({ task: { task_id: 'a', status: 'TASK_STATUS_FAILED', reason: 'nsfw' } }).failureReason).toBe('nsfw');
    expect(read({ task: { task_id: 'a', status: 'TASK_STATUS_FAILED', reason: '' } }).failureReason).toMatch(/did not give a reason/);
    expect(read({ task: { task_id: 'a', status: 'TASK_STATUS_PROCESSING', reason: 'x' } }).failureReason).toBeNull();
  });

  it('drops an out-of-range or non-numeric seed instead of failing the read', () => {
    expect(read({ task: { task_id: 'a', status: 'TASK_STATUS_QUEUED' }, extra: { seed: 'abc' } }).seed).toBeNull();
    expect(read({ task: { task_id: 'a', status: 'TASK_STATUS_QUEUED' }, extra: { seed: '99999999999' } }).seed).toBeNull();
  });

  it('clamps out-of-range numbers so every value serializes (Int is int32, DateTime must be valid)', () => {
    const task = read({
      task: { task_id: 'a', status: 'TASK_STATUS_SUCCEED' },
      extra: { debug_info: { submit_time_ms: '8000000000000000', complete_time_ms: String(Date.UTC(1999, 0, 1)) } },
      videos: [
        { video_url: 'https://x/huge.mp4', video_url_ttl: 1e13 },
        { video_url: 'https://x/negative.mp4', video_url_ttl: -1 },
      ],
    });
    expect(task.videos.map((video) => video.expiresAt)).toEqual([
      new Date('2026-12-02T10:00:00.000Z'), // at most 7 days
      new Date('2026-11-25T11:00:00.000Z'), // the 3600 s default
    ]);
    expect(task).toMatchObject({ submittedAt: null, completedAt: null });
    const running = (eta: number) => read({ task: { task_id: 'a', status: 'TASK_STATUS_PROCESSING', eta } }).etaSeconds;
    expect(running(86_400)).toBe(86_400);
    expect(running(86_400.5)).toBeNull();
    expect(running(1e12)).toBeNull();
  });

  it('drops video URLs that are neither https nor on the upstream origin, and reports each drop', () => {
    const refused: unknown[] = [];
    const task = toTaskSnapshot(
      taskResultSchema.parse({
        task: { task_id: 'a', status: 'TASK_STATUS_SUCCEED' },
        videos: [
          { video_url: 'javascript:alert(1)' },
          { video_url: 'data:text/html,<b>x</b>' },
          { video_url: 'http://169.254.169.254/latest?token=t' },
          { video_url: 'http://upstream.test:8080/v.mp4' },
          { video_url: 'http://upstream.test:8081/v.mp4' },
          { video_url: 'https://cdn.example/v.mp4\n' },
          { video_url: '::' },
          { video_url: 'https://cdn.example/v.mp4' },
        ],
      }),
      fetchedAt,
      { trustedOrigins: ['http://upstream.test:8080'], onRefusedVideoUrl: (drop) => refused.push(drop) },
    );
    expect(task.videos.map((video) => video.url)).toEqual(['http://upstream.test:8080/v.mp4', 'https://cdn.example/v.mp4']);
    expect(refused).toEqual([
      { scheme: 'javascript:', host: '', why: expect.any(String) },
      { scheme: 'data:', host: '', why: expect.any(String) },
      { scheme: 'http:', host: '169.254.169.254', why: expect.any(String) },
      { scheme: 'http:', host: 'upstream.test:8081', why: expect.any(String) },
      { scheme: 'https:', host: 'cdn.example', why: 'white space or control characters' },
      { scheme: null, host: null, why: 'not a URL' },
    ]);
  });

  it('refuses a body without the task id or status', () => {
    expect(taskResultSchema.safeParse({ task: { status: 'TASK_STATUS_QUEUED' } }).success).toBe(false);
    expect(taskResultSchema.safeParse({ task: { task_id: 'a' } }).success).toBe(false);
    expect(taskResultSchema.safeParse({}).success).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3);
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
