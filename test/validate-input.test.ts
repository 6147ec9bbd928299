import { describe, expect, it } from 'vitest';
import type { CreateVideoInputValue } from '../src/create-video/input.js';
import { toUpstreamBody } from '../src/create-video/to-upstream-body.js';
import { exceedsCodePoints, LIMITS, MAX_USER_ERRORS, validateCreateInput } from '../src/create-video/validate-input.js';
import { dataUri, jpegBytes, pngBytes, pngDataUri, webpBytes } from './support/images.js';

const limits = { imageMaxDecodedBytes: 1024 };
/** A real 200×200 PNG of exactly `bytes` bytes, as a data URI. */
const png = (bytes: number) => pngDataUri(200, 200, bytes);

function input(overrides: Partial<CreateVideoInputValue> = {}): CreateVideoInputValue {
  return {
    prompt: '@1 waves',
    subjects: [{ id: '1', images: ['https://example.com/a.png'] }],
    ...overrides,
  };
}

function codesAt(value: CreateVideoInputValue) {
  return validateCreateInput(value, limits).map((e) => ({ field: e.field?.join('.'), code: e.code }));
}

describe('validateCreateInput', () => {
  it('accepts a minimal valid request', () => {
    expect(validateCreateInput(input(), limits)).toEqual([]);
  });

  it('refuses a blank prompt and one over 2000 code points (counting astral characters once)', () => {
    expect(codesAt(input({ prompt: '   ' }))).toEqual([{ field: 'input.prompt', code: 'BLANK' }]);
    expect(codesAt(input({ prompt: '😀'.repeat(2000) }))).toEqual([]);
    expect(codesAt(input({ prompt: '😀'.repeat(2001) }))).toEqual([{ field: 'input.prompt', code: 'TOO_LONG' }]);
  });

  it('checks duration 1–10 and treats null as the default', () => {
    expect(codesAt(input({ durationSeconds: 0 }))).toEqual([{ field: 'input.durationSeconds', code: 'OUT_OF_RANGE' }]);
    expect(codesAt(input({ durationSeconds: 11 }))).toEqual([{ field: 'input.durationSeconds', code: 'OUT_OF_RANGE' }]);
    expect(codesAt(input({ durationSeconds: 10 }))).toEqual([]);
    expect(codesAt(input({ durationSeconds: null }))).toEqual([]);
  });

  it('checks the seed range', () => {
    expect(codesAt(input({ seed: -1 }))).toEqual([{ field: 'input.seed', code: 'OUT_OF_RANGE' }]);
    expect(codesAt(input({ seed: 0 }))).toEqual([]);
    expect(codesAt(input({ seed: 2_147_483_647 }))).toEqual([]);
  });

  it('needs 1–7 subjects with unique, non-blank ids', () => {
    expect(codesAt(input({ prompt: 'x', subjects: [] }))).toEqual([{ field: 'input.subjects', code: 'TOO_FEW' }]);
    const eight = Array.from({ length: 8 }, (_, i) => ({ id: String(i), images: ['https://e.com/a.png'] }));
    expect(codesAt(input({ prompt: 'x', subjects: eight }))).toContainEqual({ field: 'input.subjects', code: 'TOO_MANY' });
    expect(
      codesAt(input({ subjects: [{ id: '1', images: ['https://e.com/a.png'] }, { id: '1', images: ['https://e.com/b.png'] }] })),
    ).toEqual([{ field: 'input.subjects.1.id', code: 'DUPLICATE' }]);
    expect(codesAt(input({ prompt: 'x', subjects: [{ id: ' ', images: ['https://e.com/a.png'] }] }))).toEqual([
      { field: 'input.subjects.0.id', code: 'BLANK' },
    ]);
  });

  it('needs 1–3 images per subject and at most 7 in total', () => {
    expect(codesAt(input({ subjects: [{ id: '1', images: [] }] }))).toEqual([{ field: 'input.subjects.0.images', code: 'TOO_FEW' }]);
    const four = Array.from({ length: 4 }, (_, i) => `https://e.com/${i}.png`);
    expect(codesAt(input({ subjects: [{ id: '1', images: four }] }))).toEqual([{ field: 'input.subjects.0.images', code: 'TOO_MANY' }]);
    const three = Array.from({ length: 3 }, (_, i) => `https://e.com/${i}.png`);
    const subjects = [
      { id: '1', images: three },
      { id: '2', images: three },
      { id: '3', images: three.slice(0, 2) },
    ];
    expect(codesAt(input({ subjects }))).toEqual([{ field: 'input.subjects', code: 'TOO_MANY' }]);
  });

  it('accepts http(s) URLs and base64 data URIs of png, jpeg and webp only', () => {
    const check = (image: string) => codesAt(input({ subjects: [{ id: '1', images: [image] }] }));
    expect(check('http://example.com/a.png')).toEqual([]);
    expect(check(pngDataUri(200, 200))).toEqual([]);
    expect(check(dataUri('image/jpeg', jpegBytes(200, 200)))).toEqual([]);
    expect(check(dataUri('image/webp', webpBytes(200, 200)))).toEqual([]);
    // The URI's type must say what the bytes are.
    expect(check(dataUri('image/jpeg', pngBytes(200, 200)))).toEqual([{ field: 'input.subjects.0.images.0', code: 'INVALID_IMAGE' }]);
    for (const bad of ['ftp://example.com/a.png', 'not a url', 'data:image/gif;base64,R0lGOD==', 'data:image/png;base64,@@@@', 'data:image/png;base64,abc', 'data:image/png;base64,']) {
      expect(check(bad)).toEqual([{ field: 'input.subjects.0.images.0', code: 'INVALID_IMAGE' }]);
    }
  });

  it('measures the decoded size of base64 images against the limit', () => {
    const check = (image: string) => codesAt(input({ subjects: [{ id: '1', images: [image] }] }));
    expect(check(png(1024))).toEqual([]);
    expect(check(png(1025))).toEqual([{ field: 'input.subjects.0.images.0', code: 'IMAGE_TOO_LARGE' }]);
  });

  it('checks the dimensions of base64 images, each at its own index', () => {
    const images = [pngDataUri(128, 128), pngDataUri(127, 300), pngDataUri(128, 600)];
    expect(codesAt(input({ subjects: [{ id: '1', images }] }))).toEqual([
      { field: 'input.subjects.0.images.1', code: 'IMAGE_TOO_SMALL' },
      { field: 'input.subjects.0.images.2', code: 'IMAGE_ASPECT_RATIO' },
    ]);
  });

  it('requires numeric @placeholders to name a subject', () => {
    expect(codesAt(input({ prompt: '@1 meets @3' }))).toEqual([{ field: 'input.prompt', code: 'UNKNOWN_SUBJECT_REFERENCE' }]);
    // Non-numeric mentions (an e-mail, a handle) are not placeholders.
    expect(codesAt(input({ prompt: '@1 writes to bob@example.com' }))).toEqual([]);
  });

  it('allows voiceId only with audio: true', () => {
    const subjects = [{ id: '1', images: ['https://e.com/a.png'], voiceId: 'v-1' }];
    expect(codesAt(input({ subjects }))).toEqual([{ field: 'input.subjects.0.voiceId', code: 'VOICE_REQUIRES_AUDIO' }]);
    expect(codesAt(input({ subjects, audio: false }))).toEqual([{ field: 'input.subjects.0.voiceId', code: 'VOICE_REQUIRES_AUDIO' }]);
    expect(codesAt(input({ subjects, audio: true }))).toEqual([]);
  });

  it('reports every problem at once', () => {
    const errors = codesAt(input({ prompt: '', durationSeconds: 99, seed: -5, subjects: [] }));
    expect(errors.map((e) => e.code).sort()).toEqual(['BLANK', 'OUT_OF_RANGE', 'OUT_OF_RANGE', 'TOO_FEW']);
  });
});

describe('validateCreateInput bounds its own work', () => {
  it('refuses an oversized image list as a whole, without checking its images', () => {
    const images = Array<string>(250_000).fill('x');
    expect(codesAt(input({ subjects: [{ id: '1', images }] }))).toEqual([
      { field: 'input.subjects.0.images', code: 'TOO_MANY' },
      { field: 'input.subjects', code: 'TOO_MANY' },
    ]);
  });

  it('refuses an oversized subject list as a whole, without reading its subjects or the prompt\'s @ids', () => {
    const subjects = Array.from({ length: 100_000 }, () => ({ id: ' ', images: ['bad'] }));
    expect(codesAt(input({ prompt: '@1 @2 @3', subjects }))).toEqual([{ field: 'input.subjects', code: 'TOO_MANY' }]);
  });

  it('refuses a huge prompt once, without scanning its placeholders', () => {
    expect(codesAt(input({ prompt: '@9 '.repeat(350_000) }))).toEqual([{ field: 'input.prompt', code: 'TOO_LONG' }]);
    // Between max and 2 × max UTF-16 units only the code points decide.
    expect(codesAt(input({ prompt: `@1 ${'@9 '.repeat(700)}` }))).toEqual([{ field: 'input.prompt', code: 'TOO_LONG' }]);
  });

  it('counts code points only when the UTF-16 length leaves it open', () => {
    expect(exceedsCodePoints('a'.repeat(10), 10)).toBe(false);
    expect(exceedsCodePoints('a'.repeat(11), 10)).toBe(true);
    expect(exceedsCodePoints('😀'.repeat(10), 10)).toBe(false);
    expect(exceedsCodePoints('😀'.repeat(10) + 'a', 10)).toBe(true);
    expect(exceedsCodePoints('a'.repeat(21), 10)).toBe(true);
  });

  it('reports each unknown @id once', () => {
    const errors = validateCreateInput(input({ prompt: '@1 @9 @9 @8 @9 @8' }), limits);
    expect(errors.map((e) => [e.field?.join('.'), e.code, e.message])).toEqual([
      ['input.prompt', 'UNKNOWN_SUBJECT_REFERENCE', 'The prompt refers to @9, but no subject has id "9".'],
      ['input.prompt', 'UNKNOWN_SUBJECT_REFERENCE', 'The prompt refers to @8, but no subject has id "8".'],
    ]);
  });

  it(`stops at ${MAX_USER_ERRORS} problems`, () => {
    // About 450 distinct unknown @ids, all within the prompt's length limit.
    const prompt = `@1 ${Array.from({ length: 600 }, (_, i) => `@${i + 2}`).join(' ')}`.slice(0, LIMITS.promptMaxCodePoints);
    const errors = validateCreateInput(input({ prompt }), limits);
    expect(errors).toHaveLength(MAX_USER_ERRORS);
    expect(errors.every((e) => e.code === 'UNKNOWN_SUBJECT_REFERENCE' && e.field?.join('.') === 'input.prompt')).toBe(true);
  });

  it('refuses a base64 image that is too large by its length alone', () => {
    const huge = `data:image/png;base64,${'A'.repeat(4 * 1_000_000)}`;
    expect(codesAt(input({ subjects: [{ id: '1', images: [huge] }] }))).toEqual([{ field: 'input.subjects.0.images.0', code: 'IMAGE_TOO_LARGE' }]);
  });

  it('does not repeat a huge subject id in full in its message', () => {
    const id = 'a'.repeat(100_000);
    const errors = validateCreateInput(input({ prompt: 'x', subjects: [{ id, images: ['https://e.com/a.png'] }, { id, images: ['https://e.com/b.png'] }] }), limits);
    expect(errors.map((e) => [e.field?.join('.'), e.code])).toEqual([['input.subjects.1.id', 'DUPLICATE']]);
    expect(errors[0]?.message.length).toBeLessThan(200);
  });
});

describe('toUpstreamBody', () => {
  it('omits optional fields left null and sends the default duration for an explicit null', () => {
    expect(
      toUpstreamBody({
        ...input(),
        durationSeconds: null,
        resolution: null,
        aspectRatio: null,
        movementAmplitude: null,
        seed: null,
        audio: null,
        backgroundMusic: null,
        watermark: null,
      }),
    ).toEqual({ prompt: '@1 waves', subjects: [{ id: '1', images: ['https://example.com/a.png'] }], duration: 5 });
  });

  it('maps every field to its snake_case name', () => {
    expect(
      toUpstreamBody({
        prompt: 'p',
        subjects: [{ id: 'a', images: ['https://e.com/1.png'], voiceId: 'v' }],
        durationSeconds: 8,
        resolution: '1080p',
        aspectRatio: '9:16',
        movementAmplitude: 'high',
        seed: 42,
        audio: true,
        backgroundMusic: true,
        watermark: true,
      }),
    ).toEqual({
      prompt: 'p',
      subjects: [{ id: 'a', images: ['https://e.com/1.png'], voice_id: 'v' }],
      duration: 8,
      resolution: '1080p',
      aspect_ratio: '9:16',
      movement_amplitude: 'high',
      seed: 42,
      audio: true,
      bgm: true,
      watermark: true,
    });
  });
});
