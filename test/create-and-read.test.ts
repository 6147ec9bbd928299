// The happy path over real HTTP: create, follow the task to SUCCEEDED, play the video; reads,
// batching and id handling.
import { describe, expect, it } from 'vitest';
import { TASK_FIELDS, useStack } from './support/stack.js';

const stack = useStack();

const CREATE = `mutation Create($input: CreateReferenceVideoInput!) {
  createReferenceVideo(input: $input) { taskId providerRequestId userErrors { field message code } task { ${TASK_FIELDS} } }
}`;
const READ = `query Read($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`;
const validInput = { prompt: '@1 waves at @2', subjects: [{ id: '1', images: ['https://example.com/a.png'] }, { id: '2', images: ['https://example.com/b.png'] }] };

async function waitForTerminal(id: string, timeoutMs = 5000) {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { body } = await stack.graphql(READ, { id });
    const task = body.data.task;
    if (seen.at(-1) !== task.status) seen.push(task.status);
    if (task.isTerminal) return { task, seen };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`task ${id} did not end; saw ${seen.join(' → ')}`);
}

describe('create → read → SUCCEEDED', () => {
  it('creates a task, follows it to SUCCEEDED and the video URL plays as mp4', async () => {
    const { body } = await stack.graphql(CREATE, { input: validInput });
    const payload = body.data.createReferenceVideo;
    expect(payload.userErrors).toEqual([]);
    expect(payload.taskId).toEqual(expect.any(String));
    expect(payload.providerRequestId).toEqual(expect.any(String));
    expect(payload.task).toMatchObject({ id: payload.taskId, isTerminal: false });
    expect(['QUEUED', 'PROCESSING']).toContain(payload.task.status);

    const { task, seen } = await waitForTerminal(payload.taskId);
    expect(seen.at(-1)).toBe('SUCCEEDED');
    expect(seen).toContain('PROCESSING');
    expect(task).toMatchObject({ status: 'SUCCEEDED', isTerminal: true, progressPercent: 100, etaSeconds: null, failureReason: null });
    expect(task.seed).toEqual(expect.any(Number));
    expect(new Date(task.submittedAt).getTime()).toBeLessThanOrEqual(new Date(task.completedAt).getTime());
    expect(task.videos).toHaveLength(1);
    const [video] = task.videos;
    expect(video.format).toBe('MP4');
    const ttlMs = new Date(video.expiresAt).getTime() - Date.now();
    expect(ttlMs).toBeGreaterThan(3500_000);
    expect(ttlMs).toBeLessThanOrEqual(3600_000);

    const file = await fetch(video.url, { headers: { range: 'bytes=0-7' } });
    expect(file.status).toBe(206);
    expect(file.headers.get('content-type')).toBe('video/mp4');
    const head = Buffer.from(await file.arrayBuffer());
    expect(head.subarray(4, 8).toString('latin1')).toBe('ftyp'); // an ISO media file
  });

  it('follows a task the simulator was asked to fail to FAILED with its reason', async () => {
    const { body } = await stack.graphql(CREATE, { input: { ...validInput, prompt: '@1 and @2 [sim:fail]' } });
    const { task } = await waitForTerminal(body.data.createReferenceVideo.taskId);
    expect(task).toMatchObject({ status: 'FAILED', isTerminal: true, videos: [] });
    expect(task.failureReason).toMatch(/simulated failure/);
  });

  it('returns null for a task the upstream does not know', async () => {
    const { body } = await stack.graphql(READ, { id: 'no-such-task' });
    expect(body.errors).toBeUndefined();
    expect(body.data.task).toBeNull();
  });

  it('URL-encodes the id: an id with & and = is read as one id, not as extra query parameters', async () => {
    const { body } = await stack.graphql(READ, { id: 'demo-succeeded&task_id=x' });
    expect(body.data.task).toBeNull();
    const known = await stack.graphql(READ, { id: 'demo-succeeded' });
    expect(known.body.data.task.status).toBe('SUCCEEDED');
  });

  it('checks ids before any upstream call', async () => {
    for (const id of ['', 'x'.repeat(257), 'has space', 'tab\tid']) {
      const { body } = await stack.graphql(READ, { id });
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'id' });
    }
    expect(stack.simulator.stats().resultRequests).toBe(0);
  });
});

describe('tasks(ids) and per-request batching', () => {
  it('returns tasks in input order with null for unknown ids', async () => {
    const { body } = await stack.graphql('query { tasks(ids: ["demo-failed", "nope", "demo-succeeded"]) { id status } }');
    expect(body.data.tasks).toEqual([{ id: 'demo-failed', status: 'FAILED' }, null, { id: 'demo-succeeded', status: 'SUCCEEDED' }]);
  });

  it('refuses more than 100 ids with BAD_USER_INPUT and makes no upstream call', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `t-${i}`);
    const { body } = await stack.graphql('query($ids: [ID!]!) { tasks(ids: $ids) { id } }', { ids });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.simulator.stats().resultRequests).toBe(0);
  });

  it('reads one id once per operation across aliases and duplicate list entries', async () => {
    const { body } = await stack.graphql(`query {
      a: task(id: "demo-succeeded") { id }
      b: task(id: "demo-succeeded") { status }
      list: tasks(ids: ["demo-succeeded", "demo-succeeded", "demo-failed"]) { id }
    }`);
    expect(body.errors).toBeUndefined();
    expect(body.data.list).toHaveLength(3);
    expect(stack.simulator.stats().resultRequests).toBe(2);
  });

  it('reads the created task in the same operation with one upstream call, and a new request reads afresh', async () => {
    const { body } = await stack.graphql(`mutation($input: CreateReferenceVideoInput!) {
      createReferenceVideo(input: $input) { taskId task { id } again: task { status } }
    }`, { input: validInput });
    expect(body.data.createReferenceVideo.task.id).toBe(body.data.createReferenceVideo.taskId);
    expect(stack.simulator.stats()).toMatchObject({ createRequests: 1, resultRequests: 1 });
    await stack.graphql(READ, { id: body.data.createReferenceVideo.taskId });
    expect(stack.simulator.stats().resultRequests).toBe(2);
  });
});

describe('what reaches the upstream', () => {
  const CREATE_ONLY = 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { code } } }';
  const lastBody = () => stack.simulator.acceptedCreateBodies().at(-1);

  it.each([
    ['resolution', 'RES_540P', 'resolution', '540p'],
    ['resolution', 'RES_720P', 'resolution', '720p'],
    ['resolution', 'RES_1080P', 'resolution', '1080p'],
    ['movementAmplitude', 'AUTO', 'movement_amplitude', 'auto'],
    ['movementAmplitude', 'SMALL', 'movement_amplitude', 'small'],
    ['movementAmplitude', 'MEDIUM', 'movement_amplitude', 'medium'],
    ['movementAmplitude', 'HIGH', 'movement_amplitude', 'high'],
    ['aspectRatio', 'RATIO_16_9', 'aspect_ratio', '16:9'],
    ['aspectRatio', 'RATIO_9_16', 'aspect_ratio', '9:16'],
    ['aspectRatio', 'RATIO_4_3', 'aspect_ratio', '4:3'],
    ['aspectRatio', 'RATIO_3_4', 'aspect_ratio', '3:4'],
    ['aspectRatio', 'RATIO_1_1', 'aspect_ratio', '1:1'],
  ])('%s %s is sent as %s "%s"', async (field, value, upstreamField, upstreamValue) => {
    const { body } = await stack.graphql(CREATE_ONLY, { input: { ...validInput, [field]: value } });
    expect(body.data.createReferenceVideo.userErrors).toEqual([]);
    expect(lastBody()).toMatchObject({ [upstreamField]: upstreamValue });
  });

  it('sends the schema defaults and leaves out optional fields that were not given', async () => {
    await stack.graphql(CREATE_ONLY, { input: validInput });
    expect(lastBody()).toEqual({
      prompt: validInput.prompt,
      subjects: validInput.subjects,
      duration: 5,
      resolution: '720p',
      audio: false,
      bgm: false,
      watermark: false,
    });
  });

  it('sends every field in snake_case when all are given', async () => {
    const input = {
      prompt: '@1 sings',
      subjects: [{ id: '1', images: ['https://example.com/a.png'], voiceId: 'voice-7' }],
      durationSeconds: 8,
      resolution: 'RES_1080P',
      aspectRatio: 'RATIO_9_16',
      movementAmplitude: 'SMALL',
      seed: 1234,
      audio: true,
      backgroundMusic: true,
      watermark: true,
    };
    await stack.graphql(CREATE_ONLY, { input });
    expect(lastBody()).toEqual({
      prompt: '@1 sings',
      subjects: [{ id: '1', images: ['https://example.com/a.png'], voice_id: 'voice-7' }],
      duration: 8,
      resolution: '1080p',
      aspect_ratio: '9:16',
      movement_amplitude: 'small',
      seed: 1234,
      audio: true,
      bgm: true,
      watermark: true,
    });
  });
});
