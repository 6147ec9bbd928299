// One read of a task, in our own terms: what the schema's Task type resolves from.
import type { TaskResult } from './wire.js';

export type TaskStatusValue = 'QUEUED' | 'PROCESSING' | 'SUCCEEDED' | 'FAILED' | 'UNKNOWN';
export type VideoFormatValue = 'MP4' | 'GIF';

export interface VideoSnapshot {
  url: string;
  format: VideoFormatValue;
  /** When we read the result plus the URL's time to live. */
  expiresAt: Date;
}

export interface TaskSnapshot {
  id: string;
  status: TaskStatusValue;
  /** The upstream's own status string, kept for logs when we map it to UNKNOWN. */
  upstreamStatus: string;
  progressPercent: number | null;
  etaSeconds: number | null;
  failureReason: string | null;
  videos: VideoSnapshot[];
  seed: number | null;
  submittedAt: Date | null;
  completedAt: Date | null;
  fetchedAt: Date;
}

const statusByUpstream: Record<string, TaskStatusValue> = {
  TASK_STATUS_QUEUED: 'QUEUED',
  TASK_STATUS_PROCESSING: 'PROCESSING',
  TASK_STATUS_SUCCEED: 'SUCCEEDED',
  TASK_STATUS_FAILED: 'FAILED',
};

/** Default signed-URL lifetime when the upstream omits `video_url_ttl` (its documented default). */
const DEFAULT_VIDEO_TTL_SECONDS = 3600;

export function isTerminalStatus(status: TaskStatusValue): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}

function toDate(epochMs: number | undefined): Date | null {
  if (epochMs === undefined || epochMs <= 0) return null;
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? null : date;
}

function toVideoFormat(type: string | undefined, url: string): VideoFormatValue {
  const named = type?.toLowerCase() ?? '';
  if (named === 'gif') return 'GIF';
  if (named === 'mp4') return 'MP4';
  // Unknown or missing type: the URL's extension is the next best witness; mp4 is this model's norm.
  return /\.gif(?:$|\?)/i.test(url) ? 'GIF' : 'MP4';
}

const MAX_INT32 = 2_147_483_647;

export function toTaskSnapshot(result: TaskResult, fetchedAt: Date): TaskSnapshot {
  const { task, extra } = result;
  // Unknown statuses (e.g. TASK_STATUS_UNKNOWN) stay visible as UNKNOWN and count as non-terminal.
  const status = statusByUpstream[task.status] ?? 'UNKNOWN';
  const terminal = isTerminalStatus(status);

  const videos = (result.videos ?? []).flatMap((video): VideoSnapshot[] => {
    if (!video.video_url) return [];
    const ttlSeconds = video.video_url_ttl !== undefined && video.video_url_ttl > 0 ? video.video_url_ttl : DEFAULT_VIDEO_TTL_SECONDS;
    return [
      {
        url: video.video_url,
        format: toVideoFormat(video.video_type, video.video_url),
        expiresAt: new Date(fetchedAt.getTime() + ttlSeconds * 1000),
      },
    ];
  });

  const progress = task.progress_percent;
  const seed = extra?.seed;
  return {
    id: task.task_id,
    status,
    upstreamStatus: task.status,
    progressPercent:
      status === 'SUCCEEDED' ? 100 : progress === undefined ? null : Math.min(100, Math.max(0, Math.round(progress))),
    // An eta means nothing once the task has ended; 0 or absent means the upstream has no estimate.
    etaSeconds: terminal || task.eta === undefined || task.eta <= 0 ? null : Math.ceil(task.eta),
    failureReason: status === 'FAILED' ? task.reason?.trim() || 'The video service did not give a reason.' : null,
    videos,
    seed: seed !== undefined && Number.isInteger(seed) && seed >= 0 && seed <= MAX_INT32 ? seed : null,
    submittedAt: toDate(extra?.debug_info?.submit_time_ms),
    completedAt: terminal ? toDate(extra?.debug_info?.complete_time_ms) : null,
    fetchedAt,
  };
}
