// Checks a create request before any credit is spent. Each rule names the field it concerns, and
// the problems are reported together so a form can mark every bad field in one round trip.
//
// The input comes from anyone, so the work done here is bounded by the limits, not by the input:
// a list over its maximum is refused as a whole (TOO_MANY) without looking at its items, a prompt
// over its maximum is refused (TOO_LONG) without scanning it, each unknown @id is reported once,
// and no more than MAX_USER_ERRORS problems are collected. Without that, one 1 MB request could
// make a response tens of megabytes long.
import { IMAGE_SHAPE_LIMITS, inspectImage } from './image-inspection.js';
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

/** Validation stops once this many problems are found; more would not help anyone fix a form. */
export const MAX_USER_ERRORS = 50;

export interface ValidationLimits {
  imageMaxDecodedBytes: number;
}

const DATA_URI = /^data:image\/(png|jpeg|webp);base64,/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PLACEHOLDER = /@(\d+)/g;
const NOT_WHITE_SPACE = /\S/;
/** How much of a caller's text a message repeats: enough to recognise it, never the whole of it. */
const QUOTE_MAX_CHARS = 64;

type Field = (string | number)[];
type ImageCheck = { code: UserErrorValue['code']; message: string } | null;

const NOT_AN_IMAGE: ImageCheck = {
  code: 'INVALID_IMAGE',
  message: 'Image must be an http(s) URL or a data:image/(png|jpeg|webp);base64 URI with valid base64.',
};

function checkImage(image: string, maxDecodedBytes: number): ImageCheck {
  const tooLarge: ImageCheck = { code: 'IMAGE_TOO_LARGE', message: `Image must be at most ${maxDecodedBytes} bytes once decoded.` };
  const dataUri = DATA_URI.exec(image);
  if (dataUri) {
    const payloadLength = image.length - dataUri[0].length;
    if (payloadLength === 0 || payloadLength % 4 !== 0) return NOT_AN_IMAGE;
    // The length alone bounds the decoded size (at most 2 padding characters): a payload that is
    // too large for sure is refused before the base64 check scans all of it.
    if ((payloadLength / 4) * 3 - 2 > maxDecodedBytes) return tooLarge;
    const payload = image.slice(dataUri[0].length);
    if (!BASE64.test(payload)) return NOT_AN_IMAGE;
    // The bytes themselves: their format (agreeing with the URI's type), exact size and dimensions.
    const inspected = inspectImage(Buffer.from(payload, 'base64'), `image/${dataUri[1]}`, { maxBytes: maxDecodedBytes, ...IMAGE_SHAPE_LIMITS });
    return inspected.ok ? null : inspected.problem;
  }
  try {
    const url = new URL(image);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? null : NOT_AN_IMAGE;
  } catch {
    return NOT_AN_IMAGE;
  }
}

/**
 * Whether `text` has more than `max` code points. A code point is one or two UTF-16 units, so
 * `length` settles it without reading the text unless it lies between max and 2 × max; then the
 * count stops as soon as it passes max.
 */
export function exceedsCodePoints(text: string, max: number): boolean {
  if (text.length <= max) return false;
  if (text.length > 2 * max) return true;
  let count = 0;
  for (const _ of text) {
    if (++count > max) return true;
  }
  return false;
}

function isBlank(text: string): boolean {
  // Same set of characters as trim(), without copying the text.
  return !NOT_WHITE_SPACE.test(text);
}

function quote(text: string): string {
  return text.length <= QUOTE_MAX_CHARS ? text : `${text.slice(0, QUOTE_MAX_CHARS)}…`;
}

/** Collects problems up to MAX_USER_ERRORS; `full` tells the checks to stop. */
class Problems {
  readonly list: UserErrorValue[] = [];

  get full(): boolean {
    return this.list.length >= MAX_USER_ERRORS;
  }

  add(field: Field, code: UserErrorValue['code'], message: string): void {
    if (!this.full) this.list.push({ field: ['input', ...field.map(String)], code, message });
  }
}

function checkPromptText(prompt: string, problems: Problems): void {
  // Certainly too long comes first so that a huge prompt is not read at all, not even for blanks.
  if (prompt.length > 2 * LIMITS.promptMaxCodePoints) {
    problems.add(['prompt'], 'TOO_LONG', `Prompt must be at most ${LIMITS.promptMaxCodePoints} characters.`);
  } else if (isBlank(prompt)) {
    problems.add(['prompt'], 'BLANK', 'Prompt must not be blank.');
  } else if (exceedsCodePoints(prompt, LIMITS.promptMaxCodePoints)) {
    problems.add(['prompt'], 'TOO_LONG', `Prompt must be at most ${LIMITS.promptMaxCodePoints} characters.`);
  }
}

function checkNumbers(input: CreateVideoInputValue, problems: Problems): void {
  const duration = input.durationSeconds;
  if (duration != null && (duration < LIMITS.minDurationSeconds || duration > LIMITS.maxDurationSeconds)) {
    problems.add(['durationSeconds'], 'OUT_OF_RANGE', `Duration must be between ${LIMITS.minDurationSeconds} and ${LIMITS.maxDurationSeconds} seconds.`);
  }
  if (input.seed != null && (input.seed < 0 || input.seed > LIMITS.maxSeed)) {
    problems.add(['seed'], 'OUT_OF_RANGE', `Seed must be between 0 and ${LIMITS.maxSeed}.`);
  }
}

/**
 * A subject's images: 1 to maxImagesPerSubject across `images` and `imageFiles`. The strings are
 * checked here; uploaded files are read and checked by the create service (inline-uploads.ts),
 * only once everything here passed.
 */
function checkImages(images: string[], files: readonly File[], at: Field, limits: ValidationLimits, problems: Problems): void {
  if (images.length + files.length === 0) {
    problems.add([...at, 'images'], 'TOO_FEW', 'Each subject needs at least one image (in images or imageFiles).');
    return;
  }
  // A list over the maximum is refused as a whole: its images are not looked at one by one.
  if (images.length > LIMITS.maxImagesPerSubject) {
    problems.add([...at, 'images'], 'TOO_MANY', `A subject may have at most ${LIMITS.maxImagesPerSubject} images.`);
    return;
  }
  if (files.length > LIMITS.maxImagesPerSubject) {
    problems.add([...at, 'imageFiles'], 'TOO_MANY', `A subject may have at most ${LIMITS.maxImagesPerSubject} images.`);
    return;
  }
  if (images.length + files.length > LIMITS.maxImagesPerSubject) {
    problems.add(at, 'TOO_MANY', `A subject may have at most ${LIMITS.maxImagesPerSubject} images across images and imageFiles.`);
    return;
  }
  images.forEach((image, j) => {
    const problem = checkImage(image, limits.imageMaxDecodedBytes);
    if (problem) problems.add([...at, 'images', j], problem.code, problem.message);
  });
}

/**
 * Checks the subjects and returns their ids, or undefined when the list is over its maximum and
 * so was not read item by item (the prompt's @ids cannot then be checked against it).
 */
function checkSubjects(input: CreateVideoInputValue, limits: ValidationLimits, problems: Problems): Set<string> | undefined {
  const { subjects } = input;
  if (subjects.length > LIMITS.maxSubjects) {
    problems.add(['subjects'], 'TOO_MANY', `At most ${LIMITS.maxSubjects} subjects are allowed.`);
    return undefined;
  }
  if (subjects.length === 0) problems.add(['subjects'], 'TOO_FEW', 'At least one subject is required.');

  const seenIds = new Set<string>();
  let totalImages = 0;
  for (const [i, subject] of subjects.entries()) {
    if (problems.full) break;
    if (isBlank(subject.id)) {
      problems.add(['subjects', i, 'id'], 'BLANK', 'Subject id must not be blank.');
    } else if (seenIds.has(subject.id)) {
      problems.add(['subjects', i, 'id'], 'DUPLICATE', `Subject id "${quote(subject.id)}" is used more than once.`);
    }
    seenIds.add(subject.id);

    const images = subject.images ?? [];
    const files = subject.imageFiles ?? [];
    totalImages += images.length + files.length;
    checkImages(images, files, ['subjects', i], limits, problems);

    if (subject.voiceId != null) {
      if (isBlank(subject.voiceId)) {
        problems.add(['subjects', i, 'voiceId'], 'BLANK', 'voiceId must not be blank; leave it out instead.');
      } else if (input.audio !== true) {
        problems.add(['subjects', i, 'voiceId'], 'VOICE_REQUIRES_AUDIO', 'voiceId is only allowed with audio: true.');
      }
    }
  }
  if (totalImages > LIMITS.maxImagesTotal) {
    problems.add(['subjects'], 'TOO_MANY', `At most ${LIMITS.maxImagesTotal} images are allowed across all subjects.`);
  }
  return seenIds;
}

/** Each @id in the prompt must name a subject; an unknown id is reported once, however often it appears. */
function checkPlaceholders(prompt: string, subjectIds: Set<string>, problems: Problems): void {
  const reported = new Set<string>();
  for (const [, id] of prompt.matchAll(PLACEHOLDER)) {
    if (problems.full) return;
    if (id === undefined || subjectIds.has(id) || reported.has(id)) continue;
    reported.add(id);
    problems.add(['prompt'], 'UNKNOWN_SUBJECT_REFERENCE', `The prompt refers to @${quote(id)}, but no subject has id "${quote(id)}".`);
  }
}

export function validateCreateInput(input: CreateVideoInputValue, limits: ValidationLimits): UserErrorValue[] {
  const problems = new Problems();
  checkPromptText(input.prompt, problems);
  const promptFits = problems.list.length === 0;
  checkNumbers(input, problems);
  const subjectIds = checkSubjects(input, limits, problems);
  // A prompt over its limit is not scanned for @ids; neither is one checked against an unread list.
  if (promptFits && subjectIds !== undefined) checkPlaceholders(input.prompt, subjectIds, problems);
  return problems.list;
}
