// One request must not cost more than its limits allow: huge variables are refused before
// coercion (VARIABLES_TOO_LARGE), and what gets past that limit is validated with bounded work and
// a bounded error list. Over real HTTP against a gateway and a simulator on loopback.
import { describe, expect, it } from 'vitest';
import { MAX_USER_ERRORS } from '../src/create-video/validate-input.js';
import { countVariableValues, exceedsVariableValues } from '../src/plugins/count-variable-values.js';
import { useStack, type GraphQLResult } from './support/stack.js';

const CREATE = `mutation Create($input: CreateReferenceVideoInput!) {
  createReferenceVideo(input: $input) { taskId userErrors { field message code } }
}`;
const TASKS = `query Tasks($ids: [ID!]!) { tasks(ids: $ids) { id status } }`;

const ONE_MB_OF_IMAGES = 250_000; // `"x",` is 4 bytes
const FOUR_MB_OF_IMAGES = 1_000_000;
/** A response to a refused request stays small, however large the request. */
const SMALL_RESPONSE_BYTES = 1_000_000;
/** Not a speed goal: only catches a request that works through its input item by item. */
const SANITY_MS = 10_000;
const SLOW_TEST_MS = 60_000;

const createWithImages = (count: number) => ({ input: { prompt: '@1 waves', subjects: [{ id: '1', images: Array<string>(count).fill('x') }] } });

async function timed(run: () => Promise<GraphQLResult>): Promise<GraphQLResult & { bytes: number; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { ...result, bytes: Buffer.byteLength(result.text), ms: performance.now() - started };
}

function expectVariablesTooLarge(result: GraphQLResult & { bytes: number; ms: number }, maxVariableValues: number) {
  expect(result.status).toBe(400);
  expect(result.body.errors).toEqual([
    { message: expect.any(String), extensions: { code: 'VARIABLES_TOO_LARGE', maxVariableValues } },
  ]);
  expect(result.bytes).toBeLessThan(SMALL_RESPONSE_BYTES);
  expect(result.ms).toBeLessThan(SANITY_MS);
}

describe('countVariableValues', () => {
  it('counts each array item, object field and bare scalar once', () => {
    expect(countVariableValues(undefined, 100)).toBe(0);
    expect(countVariableValues(null, 100)).toBe(0);
    expect(countVariableValues({}, 100)).toBe(0);
    expect(countVariableValues('x', 100)).toBe(1);
    expect(countVariableValues({ a: 1, b: null, c: 'x' }, 100)).toBe(3);
    // input, prompt, subjects, one subject, id, images, two images
    expect(countVariableValues({ input: { prompt: 'p', subjects: [{ id: '1', images: ['a', 'b'] }] } }, 100)).toBe(8);
  });

  it('stops as soon as the count passes the maximum', () => {
    expect(countVariableValues({ ids: Array(1_000_000).fill('x') }, 10)).toBeGreaterThan(10);
    expect(exceedsVariableValues({ ids: Array(10).fill('x') }, 11)).toBe(false);
    expect(exceedsVariableValues({ ids: Array(10).fill('x') }, 10)).toBe(true);
  });

  it('walks a million levels of nesting without recursion', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(countVariableValues({ deep }, 2_000_000)).toBe(1_000_001);
    expect(exceedsVariableValues({ deep }, 1000)).toBe(true);
  });

  it('counts a JSON "__proto__" field like any other', () => {
    const parsed: unknown = JSON.parse('{"__proto__": [1, 2, 3]}');
    expect(countVariableValues(parsed, 100)).toBe(4);
  });
});

describe('with the default variables limit', () => {
  const stack = useStack();

  it.each([
    ['250 000 images (≈1 MB)', ONE_MB_OF_IMAGES],
    ['1 000 000 images (≈4 MB)', FOUR_MB_OF_IMAGES],
  ])('refuses a create with %s as VARIABLES_TOO_LARGE, in a small response, with no upstream call', async (_name, count) => {
    const result = await timed(() => stack.graphql(CREATE, createWithImages(count)));
    expectVariablesTooLarge(result, 1000);
    expect(stack.simulator.stats().createRequests).toBe(0);
  }, SLOW_TEST_MS);

  it('refuses tasks(ids:) with 100 000 ids before any upstream read', async () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => `task-${i}`);
    const result = await timed(() => stack.graphql(TASKS, { ids }));
    expectVariablesTooLarge(result, 1000);
    expect(stack.simulator.stats().resultRequests).toBe(0);
  }, SLOW_TEST_MS);

  it('lets exactly 1000 values through and refuses 1001', async () => {
    // The `ids` field counts 1, each id 1.
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `task-${i}`);
    const atLimit = await stack.graphql(TASKS, { ids: ids(999) });
    // Past the variables limit, the resolver's own bound on ids answers.
    expect(atLimit.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const overLimit = await timed(() => stack.graphql(TASKS, { ids: ids(1000) }));
    expectVariablesTooLarge(overLimit, 1000);
    expect(stack.simulator.stats().resultRequests).toBe(0);
  });

  it('refuses variables nested 100 000 levels deep without failing', async () => {
    const depth = 100_000;
    // Built as text: JSON.stringify would recurse once per level.
    const body = `{"query":${JSON.stringify(TASKS)},"variables":{"ids":${'['.repeat(depth)}"x"${']'.repeat(depth)}}}`;
    const response = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body,
    });
    const json = (await response.json()) as GraphQLResult['body'];
    expect(response.status).toBe(400);
    expect(json.errors?.[0]?.extensions?.code).toBe('VARIABLES_TOO_LARGE');
  }, SLOW_TEST_MS);

  it('accepts the largest legitimate create', async () => {
    const subjects = Array.from({ length: 7 }, (_, i) => ({ id: String(i + 1), images: [`https://example.com/${i}.png`], voiceId: `voice-${i}` }));
    const input = {
      prompt: subjects.map((s) => `@${s.id}`).join(' and ') + ' dance',
      subjects,
      durationSeconds: 8,
      resolution: 'RES_1080P',
      aspectRatio: 'RATIO_16_9',
      movementAmplitude: 'HIGH',
      seed: 42,
      audio: true,
      backgroundMusic: false,
      watermark: false,
    };
    const { body } = await stack.graphql(CREATE, { input });
    expect(body.errors).toBeUndefined();
    expect(body.data.createReferenceVideo.userErrors).toEqual([]);
    expect(stack.simulator.stats().createRequests).toBe(1);
  });

  it('answers a 1 MB prompt of "@9 " with one TOO_LONG, not one error per placeholder', async () => {
    const prompt = '@9 '.repeat(Math.ceil(1_000_000 / 3));
    const result = await timed(() => stack.graphql(CREATE, { input: { prompt, subjects: [{ id: '1', images: ['https://example.com/a.png'] }] } }));
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data.createReferenceVideo).toEqual({
      taskId: null,
      userErrors: [{ field: ['input', 'prompt'], code: 'TOO_LONG', message: expect.any(String) }],
    });
    expect(result.bytes).toBeLessThan(SMALL_RESPONSE_BYTES);
    expect(result.ms).toBeLessThan(SANITY_MS);
    expect(stack.simulator.stats().createRequests).toBe(0);
  }, SLOW_TEST_MS);
});

describe('with the variables limit raised, validation alone bounds the answer', () => {
  const stack = useStack({ env: { GRAPHQL_MAX_VARIABLE_VALUES: '1000000' } });

  it.each([
    ['250 000 images (≈1 MB)', ONE_MB_OF_IMAGES],
    // Just under the raised limit: the list, the input's fields and the subject's fields.
    ['999 990 images (≈4 MB)', FOUR_MB_OF_IMAGES - 10],
  ])('answers a create with %s with TOO_MANY for the list, not one error per image', async (_name, count) => {
    const result = await timed(() => stack.graphql(CREATE, createWithImages(count)));
    expect(result.body.errors).toBeUndefined();
    const { userErrors } = result.body.data.createReferenceVideo as { userErrors: unknown[] };
    expect(userErrors.length).toBeLessThanOrEqual(MAX_USER_ERRORS);
    expect(userErrors).toEqual([
      { field: ['input', 'subjects', '0', 'images'], code: 'TOO_MANY', message: expect.any(String) },
      { field: ['input', 'subjects'], code: 'TOO_MANY', message: expect.any(String) },
    ]);
    expect(result.bytes).toBeLessThan(SMALL_RESPONSE_BYTES);
    expect(result.ms).toBeLessThan(SANITY_MS);
    expect(stack.simulator.stats().createRequests).toBe(0);
  }, SLOW_TEST_MS);

  it('answers 100 000 subjects with one TOO_MANY, without reading them', async () => {
    const subjects = Array.from({ length: 100_000 }, () => ({ id: '', images: ['x'] }));
    const result = await timed(() => stack.graphql(CREATE, { input: { prompt: '@1 @2 @3', subjects } }));
    expect(result.body.data.createReferenceVideo.userErrors).toEqual([
      { field: ['input', 'subjects'], code: 'TOO_MANY', message: expect.any(String) },
    ]);
    expect(result.bytes).toBeLessThan(SMALL_RESPONSE_BYTES);
    expect(stack.simulator.stats().createRequests).toBe(0);
  }, SLOW_TEST_MS);
});
