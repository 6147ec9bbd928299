// Validation of the create-task body, as the upstream documents it (contract §1). The first problem
// found becomes a 400 INVALID_REQUEST_BODY whose message names the field, e.g.
// `subjects[0].images[1]: must be an http(s) URL or a data:image/(png|jpeg|webp);base64 URI`.
import { z } from 'zod';

/** The upstream refuses request bodies larger than this (20 MB). */
export const MAX_CREATE_BODY_BYTES = 20_000_000;
const MAX_PROMPT_CODE_POINTS = 2000;
const MAX_SUBJECTS = 7;
const MAX_IMAGES_PER_SUBJECT = 3;
const MAX_IMAGES_TOTAL = 7;
const MAX_SEED = 2_147_483_647;

const RESOLUTIONS = ['540p', '720p', '1080p'] as const;
const ASPECT_RATIOS = ['16:9', '9:16', '1:1', '4:3', '3:4'] as const;
const MOVEMENT_AMPLITUDES = ['auto', 'small', 'medium', 'high'] as const;

/** A missing field says "is required"; a present one of the wrong type says what it must be. */
function typeError(expected: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${expected}`) };
}

function oneOf(values: readonly string[]) {
  return { error: `must be one of ${values.join(', ')}` };
}

// Stops counting as soon as the limit is passed, so a 20 MB prompt is not split into an array.
function hasAtMostCodePoints(text: string, max: number): boolean {
  let count = 0;
  for (const _codePoint of text) {
    count += 1;
    if (count > max) return false;
  }
  return true;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

// Scheme and media type are case-insensitive (RFC 2397, RFC 2045); the payload must be plausible
// base64: only its alphabet, at most two '=' of padding, and a length a real encoder can produce.
const DATA_URI = /^data:image\/(?:png|jpeg|webp);base64,([A-Za-z0-9+/]+)(={0,2})$/i;

function isImageDataUri(value: string): boolean {
  const match = DATA_URI.exec(value);
  if (match === null) return false;
  const digits = match[1] ?? '';
  const padding = match[2] ?? '';
  return padding === '' ? digits.length % 4 !== 1 : (digits.length + padding.length) % 4 === 0;
}

const imageReference = z
  .string(typeError('a string'))
  .refine((value) => isHttpUrl(value) || isImageDataUri(value), {
    error: 'must be an http(s) URL or a data:image/(png|jpeg|webp);base64 URI',
  });

const subjectSchema = z.object(
  {
    id: z.string(typeError('a string')).min(1, { error: 'must not be empty' }),
    images: z
      .array(imageReference, typeError('an array of image URLs'))
      .min(1, { error: 'must contain at least 1 image' })
      .max(MAX_IMAGES_PER_SUBJECT, { error: `must contain at most ${MAX_IMAGES_PER_SUBJECT} images` }),
    voice_id: z.string(typeError('a string')).optional(),
  },
  typeError('an object {id, images, voice_id?}'),
);

function countImages(subjects: readonly { images: readonly string[] }[]): number {
  return subjects.reduce((total, subject) => total + subject.images.length, 0);
}

// Unknown fields are dropped (z.object strips), as the upstream ignores them.
const createBodySchema = z.object(
  {
    prompt: z
      .string(typeError('a string'))
      .refine((prompt) => prompt.trim() !== '', { error: 'must not be blank' })
      .refine((prompt) => hasAtMostCodePoints(prompt, MAX_PROMPT_CODE_POINTS), {
        error: `must be at most ${MAX_PROMPT_CODE_POINTS} characters (Unicode code points)`,
      }),
    subjects: z
      .array(subjectSchema, typeError('an array of subjects'))
      .min(1, { error: 'must contain at least 1 subject' })
      .max(MAX_SUBJECTS, { error: `must contain at most ${MAX_SUBJECTS} subjects` })
      .superRefine((subjects, context) => {
        const total = countImages(subjects);
        if (total > MAX_IMAGES_TOTAL) {
          context.addIssue({ code: 'custom', message: `must contain at most ${MAX_IMAGES_TOTAL} images in total (got ${total})` });
        }
      }),
    duration: z.int(typeError('an integer number of seconds from 1 to 10')).min(1).max(10).default(5),
    resolution: z.enum(RESOLUTIONS, oneOf(RESOLUTIONS)).default('720p'),
    aspect_ratio: z.enum(ASPECT_RATIOS, oneOf(ASPECT_RATIOS)).optional(),
    movement_amplitude: z.enum(MOVEMENT_AMPLITUDES, oneOf(MOVEMENT_AMPLITUDES)).default('auto'),
    seed: z.int(typeError(`an integer from 0 to ${MAX_SEED}`)).min(0).max(MAX_SEED).optional(),
    audio: z.boolean(typeError('a boolean')).default(false),
    bgm: z.boolean(typeError('a boolean')).default(false),
    watermark: z.boolean(typeError('a boolean')).default(false),
  },
  typeError('a JSON object'),
);

/** A create request that passed validation, with the documented defaults filled in. */
export type CreateTaskRequest = z.output<typeof createBodySchema>;

export type CreateBodyValidation = { ok: true; request: CreateTaskRequest } | { ok: false; message: string };

/** Parses and validates a create body; `message` names the first offending field. */
export function validateCreateBody(text: string): CreateBodyValidation {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'body: must be valid JSON' };
  }
  const parsed = createBodySchema.safeParse(json);
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, message: `${formatPath(issue?.path ?? [])}: ${issue?.message ?? 'is invalid'}` };
}

/** `['subjects', 0, 'images', 1]` -> `subjects[0].images[1]`; the empty path is the body itself. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}
