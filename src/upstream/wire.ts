// The upstream's JSON shapes, parsed leniently: required fields are checked, everything else is
// optional and may arrive as a number or a numeric string (the docs disagree with themselves).
import { z } from 'zod';

export const createTaskResponseSchema = z.object({
  task_id: z.string().min(1),
  provider_request_id: z.string().optional().catch(undefined),
});

/** A number, or a string holding one; anything else becomes undefined rather than failing the read. */
const looseNumber = z
  .union([z.number(), z.string()])
  .optional()
  .catch(undefined)
  .transform((value) => {
    if (value === undefined) return undefined;
    const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
    return Number.isFinite(n) ? n : undefined;
  });

const looseString = z.string().optional().catch(undefined);

export const taskResultSchema = z.object({
  task: z.object({
    task_id: z.string().min(1),
    task_type: looseString,
    status: z.string(),
    reason: looseString,
    eta: looseNumber,
    progress_percent: looseNumber,
  }),
  extra: z
    .object({
      seed: looseNumber,
      debug_info: z
        .object({
          submit_time_ms: looseNumber,
          execute_time_ms: looseNumber,
          complete_time_ms: looseNumber,
        })
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
  // Lenient here for every status: an entry that is not an object is skipped, a `videos` that is not
  // an array reads as absent. That a SUCCEEDED task must carry at least one usable video is checked
  // by the client after mapping (a finished task without a video is a broken answer, not a result).
  videos: z
    .array(
      z
        .object({
          video_url: z.string().optional().catch(undefined),
          video_url_ttl: looseNumber,
          video_type: looseString,
        })
        .optional()
        .catch(undefined),
    )
    .optional()
    .catch(undefined),
});
export type TaskResult = z.infer<typeof taskResultSchema>;

/** The JSON error body of a non-2xx answer; every field optional because proxies send anything. */
export const errorBodySchema = z.object({
  reason: z.string().optional().catch(undefined),
});

/** The create request body, snake_case as the upstream wants it. */
export interface CreateTaskBody {
  prompt: string;
  subjects: { id: string; images: string[]; voice_id?: string }[];
  duration: number;
  resolution?: string;
  aspect_ratio?: string;
  movement_amplitude?: string;
  seed?: number;
  audio?: boolean;
  bgm?: boolean;
  watermark?: boolean;
}
