// The create request in our own terms (camelCase, enum values already the upstream strings), and
// the Shopify-style user error it can produce.

export interface SubjectInputValue {
  id: string;
  /** URLs and base64 data URIs. */
  images?: string[] | null | undefined;
  /** Uploaded files (multipart requests), inlined as data URIs before the upstream call. */
  imageFiles?: File[] | null | undefined;
  voiceId?: string | null | undefined;
}

export interface CreateVideoInputValue {
  prompt: string;
  subjects: SubjectInputValue[];
  durationSeconds?: number | null | undefined;
  resolution?: string | null | undefined;
  aspectRatio?: string | null | undefined;
  movementAmplitude?: string | null | undefined;
  seed?: number | null | undefined;
  audio?: boolean | null | undefined;
  backgroundMusic?: boolean | null | undefined;
  watermark?: boolean | null | undefined;
}

export const USER_ERROR_CODES = {
  BLANK: 'A required text is empty or only white space.',
  TOO_LONG: 'A text is longer than allowed.',
  TOO_FEW: 'A list has fewer items than required.',
  TOO_MANY: 'A list has more items than allowed.',
  OUT_OF_RANGE: 'A number is outside its allowed range.',
  DUPLICATE: 'A value that must be unique appears more than once.',
  INVALID_IMAGE: 'An image is neither an http(s) URL nor a valid png, jpeg or webp (base64 data URI or uploaded file), or its declared type disagrees with its bytes.',
  IMAGE_TOO_LARGE: 'A base64 image or uploaded file is larger than allowed once decoded.',
  IMAGE_TOO_SMALL: 'An image (base64 or uploaded) is smaller than 128×128 pixels.',
  IMAGE_ASPECT_RATIO: 'An image (base64 or uploaded) is wider or taller than 4:1.',
  BUDGET_EXCEEDED: "The create would exceed the caller's daily credit budget (the user's or the tenant's); the message names the limit and when it resets.",
  UNKNOWN_SUBJECT_REFERENCE: 'The prompt names a subject (@id) that the request does not define.',
  VOICE_REQUIRES_AUDIO: 'A subject has a voiceId but audio is not enabled.',
  PAYLOAD_TOO_LARGE: 'The whole request would exceed the video service body limit.',
  IDEMPOTENCY_KEY_REUSED: 'The Idempotency-Key was already used, within 24 hours, with different input.',
  INVALID_INPUT: 'The video service rejected the request body as invalid.',
  IMAGE_REJECTED: 'The video service rejected a reference image (format, file size or dimensions).',
  CONTENT_REFUSED: 'The video service refused the prompt or an image (content moderation).',
  INSUFFICIENT_BALANCE: 'The video service account does not have enough credit.',
  // The one code that is not about a create: UserError is shared by every mutation.
  NOT_FOUND: "No task with this id in the caller's history: unknown, already deleted, or another tenant's.",
} as const;

export type UserErrorCodeValue = keyof typeof USER_ERROR_CODES;

/** What createReferenceVideo answers, before the schema turns the task id into the caller's id. */
export interface CreatePayloadValue {
  /** The upstream task id; the schema turns it into the id this caller sees. */
  taskId: string | null;
  providerRequestId: string | null;
  userErrors: UserErrorValue[];
}

export interface UserErrorValue {
  /** Path to the offending input field, e.g. ["input", "subjects", "0", "images", "1"]. */
  field: string[] | null;
  message: string;
  code: UserErrorCodeValue;
}
