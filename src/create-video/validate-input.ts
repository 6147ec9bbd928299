// Checks a create request before any credit is spent. Each rule names the field it concerns;
// all failures are reported at once so a form can mark every bad field in one round trip.
import type { CreateVideoInputValue, UserErrorValue } from './input.js';

export const LIMITS = {
  promptMaxCodePoints: 2000,
  minDurationSeconds: 1,
  maxDurationSeconds: 10,
  maxSubjects: 7,
  maxImagesPerSubject: 3,
  maxImagesTotal: 7,
  maxSeed: 2_147_483_647,
} as const;

export interface ValidationLimits {
  imageMaxDecodedBytes: number;
}

const DATA_URI = /^data:image\/(png|jpeg|webp);base64,/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PLACEHOLDER = /@(\d+)/g;

type ImageProblem = 'INVALID_IMAGE' | 'IMAGE_TOO_LARGE' | null;

function checkImage(image: string, maxDecodedBytes: number): ImageProblem {
  const dataUri = DATA_URI.exec(image);
  if (dataUri) {
    const payload = image.slice(dataUri[0].length);
    if (payload.length === 0 || payload.length % 4 !== 0 || !BASE64.test(payload)) return 'INVALID_IMAGE';
    const padding = payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0;
    return (payload.length / 4) * 3 - padding > maxDecodedBytes ? 'IMAGE_TOO_LARGE' : null;
  }
  try {
    const url = new URL(image);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? null : 'INVALID_IMAGE';
  } catch {
    return 'INVALID_IMAGE';
  }
}

function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export function validateCreateInput(input: CreateVideoInputValue, limits: ValidationLimits): UserErrorValue[] {
  const errors: UserErrorValue[] = [];
  const fail = (field: (string | number)[], code: UserErrorValue['code'], message: string) =>
    errors.push({ field: ['input', ...field.map(String)], code, message });

  if (input.prompt.trim() === '') {
    fail(['prompt'], 'BLANK', 'Prompt must not be blank.');
  } else if (codePointLength(input.prompt) > LIMITS.promptMaxCodePoints) {
    fail(['prompt'], 'TOO_LONG', `Prompt must be at most ${LIMITS.promptMaxCodePoints} characters.`);
  }

  const duration = input.durationSeconds;
  if (duration != null && (duration < LIMITS.minDurationSeconds || duration > LIMITS.maxDurationSeconds)) {
    fail(['durationSeconds'], 'OUT_OF_RANGE', `Duration must be between ${LIMITS.minDurationSeconds} and ${LIMITS.maxDurationSeconds} seconds.`);
  }
  if (input.seed != null && (input.seed < 0 || input.seed > LIMITS.maxSeed)) {
    fail(['seed'], 'OUT_OF_RANGE', `Seed must be between 0 and ${LIMITS.maxSeed}.`);
  }

  const { subjects } = input;
  if (subjects.length === 0) {
    fail(['subjects'], 'TOO_FEW', 'At least one subject is required.');
  } else if (subjects.length > LIMITS.maxSubjects) {
    fail(['subjects'], 'TOO_MANY', `At most ${LIMITS.maxSubjects} subjects are allowed.`);
  }

  const seenIds = new Set<string>();
  let totalImages = 0;
  subjects.forEach((subject, i) => {
    if (subject.id.trim() === '') {
      fail(['subjects', i, 'id'], 'BLANK', 'Subject id must not be blank.');
    } else if (seenIds.has(subject.id)) {
      fail(['subjects', i, 'id'], 'DUPLICATE', `Subject id "${subject.id}" is used more than once.`);
    }
    seenIds.add(subject.id);

    totalImages += subject.images.length;
    if (subject.images.length === 0) {
      fail(['subjects', i, 'images'], 'TOO_FEW', 'Each subject needs at least one image.');
    } else if (subject.images.length > LIMITS.maxImagesPerSubject) {
      fail(['subjects', i, 'images'], 'TOO_MANY', `A subject may have at most ${LIMITS.maxImagesPerSubject} images.`);
    }
    subject.images.forEach((image, j) => {
      const problem = checkImage(image, limits.imageMaxDecodedBytes);
      if (problem === 'INVALID_IMAGE') {
        fail(['subjects', i, 'images', j], problem, 'Image must be an http(s) URL or a data:image/(png|jpeg|webp);base64 URI with valid base64.');
      } else if (problem === 'IMAGE_TOO_LARGE') {
        fail(['subjects', i, 'images', j], problem, `Image must be at most ${limits.imageMaxDecodedBytes} bytes once decoded.`);
      }
    });

    if (subject.voiceId != null) {
      if (subject.voiceId.trim() === '') {
        fail(['subjects', i, 'voiceId'], 'BLANK', 'voiceId must not be blank; leave it out instead.');
      } else if (input.audio !== true) {
        fail(['subjects', i, 'voiceId'], 'VOICE_REQUIRES_AUDIO', 'voiceId is only allowed with audio: true.');
      }
    }
  });
  if (totalImages > LIMITS.maxImagesTotal) {
    fail(['subjects'], 'TOO_MANY', `At most ${LIMITS.maxImagesTotal} images are allowed across all subjects.`);
  }

  for (const [, id] of input.prompt.matchAll(PLACEHOLDER)) {
    if (id !== undefined && !seenIds.has(id)) {
      fail(['prompt'], 'UNKNOWN_SUBJECT_REFERENCE', `The prompt refers to @${id}, but no subject has id "${id}".`);
    }
  }
  return errors;
}
