// The simulator's tasks and their lifecycle. A task's state is a pure function of the time elapsed
// since it was created, so there are no per-task timers to leak or clear:
//   [0, 15%)  TASK_STATUS_QUEUED      progress 0
//   [15%, 100%) TASK_STATUS_PROCESSING progress 1..99 rising, eta falling (never below 1 s)
//   100%      TASK_STATUS_SUCCEED with a video, or TASK_STATUS_FAILED when the prompt asked for it
import { randomInt, randomUUID } from 'node:crypto';

const TASK_TYPE = 'vidu-q2-reference2video';

/** Putting this in a prompt makes the task end in TASK_STATUS_FAILED. */
export const FAIL_MARKER = '[sim:fail]';
const SIMULATED_FAILURE_REASON = 'simulated failure: the prompt asked for it';

/** Demo tasks that always exist, so example queries work without creating anything. */
const DEMO_SUCCEEDED_TASK_ID = 'demo-succeeded';
const DEMO_FAILED_TASK_ID = 'demo-failed';

/** Seconds the (fake) signed video URL stays valid, as the upstream reports it: a string. */
const VIDEO_URL_TTL_SECONDS = '3600';

// Share of a task's duration spent queued before processing starts.
const QUEUED_SHARE = 0.15;

// Oldest created tasks are forgotten past this many, so a long benchmark cannot exhaust memory.
// (The real upstream also expires tasks; nothing documents when.)
const MAX_CREATED_TASKS = 100_000;

export type TaskStatus = 'TASK_STATUS_QUEUED' | 'TASK_STATUS_PROCESSING' | 'TASK_STATUS_SUCCEED' | 'TASK_STATUS_FAILED';

interface TaskRecord {
  id: string;
  submittedAtMs: number;
  durationMs: number;
  seed: number;
  endsInFailure: boolean;
}

/** The `GET /v3/async/task-result` body (contract §2). */
export interface TaskResultBody {
  task: {
    task_id: string;
    task_type: string;
    status: TaskStatus;
    reason: string;
    eta: number;
    progress_percent: number;
  };
  extra: {
    seed: string;
    debug_info: { submit_time_ms: string; execute_time_ms?: string; complete_time_ms?: string };
  };
  videos: { video_url: string; video_url_ttl: string; video_type: 'mp4' }[];
  images: [];
  audios: [];
}

export interface TaskStoreOptions {
  /** Time from create to the terminal status; 0 means terminal at once. */
  durationMs: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

export class TaskStore {
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #durationMs: number;
  readonly #now: () => number;
  #createdCount = 0;

  constructor(options: TaskStoreOptions) {
    this.#durationMs = options.durationMs;
    this.#now = options.now ?? Date.now;
    // Finished long before the simulator started: submitted a minute ago, done in 45 s.
    const demoSubmittedAtMs = this.#now() - 60_000;
    for (const [id, endsInFailure, seed] of [
      [DEMO_SUCCEEDED_TASK_ID, false, 424_242],
      [DEMO_FAILED_TASK_ID, true, 171_717],
    ] as const) {
      this.#tasks.set(id, { id, submittedAtMs: demoSubmittedAtMs, durationMs: 45_000, seed, endsInFailure });
    }
  }

  /** Starts a task for a validated create request; a seed of 0 or none means "pick one". */
  create(input: { prompt: string; seed?: number | undefined }): { taskId: string } {
    const id = randomUUID();
    this.#tasks.set(id, {
      id,
      submittedAtMs: this.#now(),
      durationMs: this.#durationMs,
      seed: input.seed === undefined || input.seed === 0 ? randomInt(1, 2_147_483_648) : input.seed,
      endsInFailure: input.prompt.includes(FAIL_MARKER),
    });
    this.#createdCount += 1;
    this.#forgetOldest();
    return { taskId: id };
  }

  /** Tasks created so far (demo tasks excluded), including any whose answer a fault replaced. */
  get createdCount(): number {
    return this.#createdCount;
  }

  /** Whether the task exists and has a video to download right now. */
  hasVideo(taskId: string): boolean {
    const record = this.#tasks.get(taskId);
    return record !== undefined && stateAt(record, this.#now()).status === 'TASK_STATUS_SUCCEED';
  }

  /** The task-result body as of now, or undefined for an unknown id. */
  result(taskId: string, videoUrlFor: (taskId: string) => string): TaskResultBody | undefined {
    const record = this.#tasks.get(taskId);
    if (record === undefined) return undefined;
    const now = this.#now();
    const state = stateAt(record, now);
    const executeAtMs = record.submittedAtMs + Math.round(record.durationMs * QUEUED_SHARE);
    const completeAtMs = record.submittedAtMs + record.durationMs;
    return {
      task: {
        task_id: record.id,
        task_type: TASK_TYPE,
        status: state.status,
        reason: state.status === 'TASK_STATUS_FAILED' ? SIMULATED_FAILURE_REASON : '',
        eta: state.etaSeconds,
        progress_percent: state.progressPercent,
      },
      extra: {
        seed: String(record.seed),
        debug_info: {
          submit_time_ms: String(record.submittedAtMs),
          // Only the moments already reached, as a real task would report them.
          ...(now >= executeAtMs ? { execute_time_ms: String(executeAtMs) } : {}),
          ...(now >= completeAtMs ? { complete_time_ms: String(completeAtMs) } : {}),
        },
      },
      videos:
        state.status === 'TASK_STATUS_SUCCEED'
          ? [{ video_url: videoUrlFor(record.id), video_url_ttl: VIDEO_URL_TTL_SECONDS, video_type: 'mp4' }]
          : [],
      images: [],
      audios: [],
    };
  }

  #forgetOldest(): void {
    if (this.#tasks.size <= MAX_CREATED_TASKS + 2) return;
    // Map iterates in insertion order: the first non-demo key is the oldest created task.
    for (const id of this.#tasks.keys()) {
      if (id !== DEMO_SUCCEEDED_TASK_ID && id !== DEMO_FAILED_TASK_ID) {
        this.#tasks.delete(id);
        return;
      }
    }
  }
}

interface TaskState {
  status: TaskStatus;
  progressPercent: number;
  etaSeconds: number;
}

function stateAt(record: TaskRecord, now: number): TaskState {
  const elapsedMs = now - record.submittedAtMs;
  if (elapsedMs >= record.durationMs) {
    // Terminal either way: the work is over, nothing left to wait for.
    return { status: record.endsInFailure ? 'TASK_STATUS_FAILED' : 'TASK_STATUS_SUCCEED', progressPercent: 100, etaSeconds: 0 };
  }
  const etaSeconds = Math.max(1, Math.ceil((record.durationMs - elapsedMs) / 1000));
  const queuedMs = record.durationMs * QUEUED_SHARE;
  if (elapsedMs < queuedMs) return { status: 'TASK_STATUS_QUEUED', progressPercent: 0, etaSeconds };
  const processedShare = (elapsedMs - queuedMs) / (record.durationMs - queuedMs);
  const progressPercent = Math.min(99, Math.max(1, Math.floor(processedShare * 100)));
  return { status: 'TASK_STATUS_PROCESSING', progressPercent, etaSeconds };
}
