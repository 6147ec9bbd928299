// Validation over GraphQL: each bad input is a userError naming the field, and costs no upstream call.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pngDataUri } from './support/images.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { IMAGE_MAX_DECODED_BYTES: '2048', CREATE_MAX_BODY_BYTES: '15000' } });
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.simulator.resetStats();
});

const CREATE = `mutation Create($input: CreateReferenceVideoInput!) {
  createReferenceVideo(input: $input) { taskId providerRequestId task { id } userErrors { field message code } }
}`;
const subject = (id: string, images = ['https://example.com/a.png']) => ({ id, images });
const base = { prompt: '@1 smiles', subjects: [subject('1')] };
/** A real 256×256 PNG of exactly `bytes` bytes (filler in an ancillary chunk), as a data URI. */
const png = (bytes: number) => pngDataUri(256, 256, bytes);

const cases: { name: string; input: Record<string, unknown>; field: string[]; code: string }[] = [
  { name: 'blank prompt', input: { ...base, prompt: '  ' }, field: ['input', 'prompt'], code: 'BLANK' },
  { name: 'prompt over 2000 characters', input: { ...base, prompt: `@1 ${'a'.repeat(2000)}` }, field: ['input', 'prompt'], code: 'TOO_LONG' },
  { name: 'duration 0', input: { ...base, durationSeconds: 0 }, field: ['input', 'durationSeconds'], code: 'OUT_OF_RANGE' },
  { name: 'duration 11', input: { ...base, durationSeconds: 11 }, field: ['input', 'durationSeconds'], code: 'OUT_OF_RANGE' },
  { name: 'negative seed', input: { ...base, seed: -1 }, field: ['input', 'seed'], code: 'OUT_OF_RANGE' },
  { name: 'no subjects', input: { prompt: 'x', subjects: [] }, field: ['input', 'subjects'], code: 'TOO_FEW' },
  {
    name: '8 subjects',
    input: { prompt: 'x', subjects: Array.from({ length: 8 }, (_, i) => subject(`s${i}`)) },
    field: ['input', 'subjects'],
    code: 'TOO_MANY',
  },
  { name: 'duplicate subject id', input: { ...base, subjects: [subject('1'), subject('1')] }, field: ['input', 'subjects', '1', 'id'], code: 'DUPLICATE' },
  { name: 'empty subject id', input: { prompt: 'x', subjects: [subject('')] }, field: ['input', 'subjects', '0', 'id'], code: 'BLANK' },
  { name: 'subject without images', input: { ...base, subjects: [subject('1', [])] }, field: ['input', 'subjects', '0', 'images'], code: 'TOO_FEW' },
  {
    name: '4 images on one subject',
    input: { ...base, subjects: [subject('1', ['https://e.com/1', 'https://e.com/2', 'https://e.com/3', 'https://e.com/4'])] },
    field: ['input', 'subjects', '0', 'images'],
    code: 'TOO_MANY',
  },
  {
    name: '8 images in total',
    input: { ...base, subjects: ['1', '2', '3'].map((id, i) => subject(id, Array.from({ length: i === 2 ? 2 : 3 }, (_, j) => `https://e.com/${id}/${j}`))) },
    field: ['input', 'subjects'],
    code: 'TOO_MANY',
  },
  { name: 'ftp image', input: { ...base, subjects: [subject('1', ['ftp://e.com/a.png'])] }, field: ['input', 'subjects', '0', 'images', '0'], code: 'INVALID_IMAGE' },
  { name: 'gif data URI', input: { ...base, subjects: [subject('1', ['data:image/gif;base64,AAAA'])] }, field: ['input', 'subjects', '0', 'images', '0'], code: 'INVALID_IMAGE' },
  { name: 'broken base64', input: { ...base, subjects: [subject('1', ['data:image/png;base64,!!!!'])] }, field: ['input', 'subjects', '0', 'images', '0'], code: 'INVALID_IMAGE' },
  { name: 'image over the decoded limit', input: { ...base, subjects: [subject('1', [png(2049)])] }, field: ['input', 'subjects', '0', 'images', '0'], code: 'IMAGE_TOO_LARGE' },
  { name: 'placeholder without subject', input: { ...base, prompt: '@1 hugs @2' }, field: ['input', 'prompt'], code: 'UNKNOWN_SUBJECT_REFERENCE' },
  {
    name: 'voiceId without audio',
    input: { ...base, subjects: [{ ...subject('1'), voiceId: 'v1' }] },
    field: ['input', 'subjects', '0', 'voiceId'],
    code: 'VOICE_REQUIRES_AUDIO',
  },
  {
    name: 'whole body over the upstream limit',
    input: { ...base, subjects: [subject('1', [png(2000), png(2000), png(2000)]), subject('2', [png(2000), png(2000), png(2000)]), subject('3', [png(2000)])] },
    field: ['input', 'subjects'],
    code: 'PAYLOAD_TOO_LARGE',
  },
];

describe('createReferenceVideo validation', () => {
  it.each(cases)('$name → $code at $field, no upstream call', async ({ input, field, code }) => {
    const { body } = await stack.graphql(CREATE, { input });
    expect(body.errors).toBeUndefined();
    const payload = body.data.createReferenceVideo;
    expect(payload).toMatchObject({ taskId: null, providerRequestId: null, task: null });
    expect(payload.userErrors).toContainEqual({ field, code, message: expect.any(String) });
    expect(stack.simulator.stats().createRequests).toBe(0);
  });

  it('answers an image list far over its maximum with TOO_MANY only, not one error per image', async () => {
    const images = Array.from({ length: 500 }, () => 'not an image');
    const { body } = await stack.graphql(CREATE, { input: { ...base, subjects: [subject('1', images)] } });
    expect(body.data.createReferenceVideo.userErrors).toEqual([
      { field: ['input', 'subjects', '0', 'images'], code: 'TOO_MANY', message: expect.any(String) },
      { field: ['input', 'subjects'], code: 'TOO_MANY', message: expect.any(String) },
    ]);
    expect(stack.simulator.stats().createRequests).toBe(0);
  });

  it('reports an unknown @id once however often the prompt repeats it', async () => {
    const { body } = await stack.graphql(CREATE, { input: { ...base, prompt: `@1 ${'@9 '.repeat(500)}` } });
    expect(body.data.createReferenceVideo.userErrors).toEqual([
      { field: ['input', 'prompt'], code: 'UNKNOWN_SUBJECT_REFERENCE', message: 'The prompt refers to @9, but no subject has id "9".' },
    ]);
    expect(stack.simulator.stats().createRequests).toBe(0);
  });

  it('treats an explicit null duration as the default and creates the task', async () => {
    const { body } = await stack.graphql(CREATE, { input: { ...base, durationSeconds: null } });
    expect(body.data.createReferenceVideo.userErrors).toEqual([]);
    expect(body.data.createReferenceVideo.taskId).toEqual(expect.any(String));
    expect(stack.simulator.stats().createRequests).toBe(1);
  });

  it('rejects a value outside an enum at the GraphQL layer, naming it', async () => {
    const { status, body } = await stack.graphql(CREATE, { input: { ...base, resolution: 'RES_4K' } });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/RES_4K/);
    expect(stack.simulator.stats().createRequests).toBe(0);
  });
});
