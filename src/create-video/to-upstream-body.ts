// Our input → the upstream's snake_case body. Optional fields left null are omitted, so the
// upstream applies its own defaults.
import type { CreateTaskBody } from '../upstream/wire.js';
import type { CreateVideoInputValue } from './input.js';

const DEFAULT_DURATION_SECONDS = 5;

export function toUpstreamBody(input: CreateVideoInputValue): CreateTaskBody {
  const body: CreateTaskBody = {
    prompt: input.prompt,
    subjects: input.subjects.map((subject) => ({
      id: subject.id,
      // Uploaded files are data URIs in `images` by now (inline-uploads.ts).
      images: subject.images ?? [],
      ...(subject.voiceId != null ? { voice_id: subject.voiceId } : {}),
    })),
    // The upstream requires a duration; an explicit null means "the default".
    duration: input.durationSeconds ?? DEFAULT_DURATION_SECONDS,
  };
  if (input.resolution != null) body.resolution = input.resolution;
  if (input.aspectRatio != null) body.aspect_ratio = input.aspectRatio;
  if (input.movementAmplitude != null) body.movement_amplitude = input.movementAmplitude;
  if (input.seed != null) body.seed = input.seed;
  if (input.audio != null) body.audio = input.audio;
  if (input.backgroundMusic != null) body.bgm = input.backgroundMusic;
  if (input.watermark != null) body.watermark = input.watermark;
  return body;
}
