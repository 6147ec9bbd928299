// One read of a task, in our own terms: what the schema's Task type resolves from. Every value is
// made safe to serve here: GraphQL `Int` is int32 and `DateTime` must serialize, so an out-of-range
// upstream number is clamped or dropped rather than turned into a server error (or cached broken).
import { checkVideoUrl } from './video-url.js';
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
/** Longest TTL believed: signed URLs (S3, CDNs) live at most a week; more would be a bug upstream. */
const MAX_VIDEO_TTL_SECONDS = 7 * 24 * 3600;
/** Longest eta believed: a few-second video is not a day away; more is noise, shown as "unknown". */
const MAX_ETA_SECONDS = 24 * 3600;
/** Upstream timestamps outside [2000, 2100] are junk (seconds taken for ms, garbage), not dates. */
const EARLIEST_PLAUSIBLE_MS = Date.UTC(2000, 0, 1);
const AFTER_LATEST_PLAUSIBLE_MS = Date.UTC(2101, 0, 1);

/** A video link refused by `checkVideoUrl`: what may be logged of it (never the URL itself). */
export interface RefusedVideoUrl {
  scheme: string | null;
  host: string | null;
  why: string;
}

export interface SnapshotOptions {
  /** Origins whose plain-http video links are allowed (the upstream base URL's; see video-url.ts). */
  trustedOrigins?: readonly string[];
  /** Called for each video link dropped as unsafe. */
  onRefusedVideoUrl?: (refused: RefusedVideoUrl) => void;
}

export function isTerminalStatus(status: TaskStatusValue): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}

function toDate(epochMs: number | undefined): Date | null {
  if (epochMs === undefined || !Number.isFinite(epochMs)) return null;
  if (epochMs < EARLIEST_PLAUSIBLE_MS || epochMs >= AFTER_LATEST_PLAUSIBLE_MS) return null;
  return new Date(epochMs);
}

function toTtlSeconds(ttl: number | undefined): number {
  if (ttl === undefined || !Number.isFinite(ttl) || ttl <= 0) return DEFAULT_VIDEO_TTL_SECONDS;
  return Math.min(ttl, MAX_VIDEO_TTL_SECONDS);
}

/** An eta means nothing once the task has ended; 0, absent or absurd means "no estimate". */
function toEtaSeconds(eta: number | undefined, terminal: boolean): number | null {
  if (terminal || eta === undefined || !Number.isFinite(eta) || eta <= 0 || eta > MAX_ETA_SECONDS) return null;
  return Math.ceil(eta);
}

function toProgressPercent(progress: number | undefined, status: TaskStatusValue): number | null {
  if (status === 'SUCCEEDED') return 100;
  if (progress === undefined || !Number.isFinite(progress)) return null;
  return Math.min(100, Math.max(0, Math.round(progress)));
}

function toVideoFormat(type: string | undefined, url: string): VideoFormatValue {
  const named = type?.toLowerCase() ?? '';
  if (named === 'gif') return 'GIF';
  if (named === 'mp4') return 'MP4';
  // Unknown or missing type: the URL's extension is the next best witness; mp4 is this model's norm.
  return /\.gif(?:$|\?)/i.test(url) ? 'GIF' : 'MP4';
}

const MAX_INT32 = 2_147_483_647;

/**
 * Maps a parsed task-result body. Never throws: whether a SUCCEEDED task without any usable video
 * is acceptable is the caller's decision (the upstream client refuses it).
 */
export function toTaskSnapshot(result: TaskResult, fetchedAt: Date, options: SnapshotOptions = {}): TaskSnapshot {
  const { task, extra } = result;
  // Unknown statuses (e.g. TASK_STATUS_UNKNOWN) stay visible as UNKNOWN and count as non-terminal.
  const status = statusByUpstream[task.status] ?? 'UNKNOWN';
  const terminal = isTerminalStatus(status);

  const videos = (result.videos ?? []).flatMap((video): VideoSnapshot[] => {
    if (!video?.video_url) return [];
    const verdict = checkVideoUrl(video.video_url, options.trustedOrigins ?? []);
    if (!verdict.ok) {
      options.onRefusedVideoUrl?.({ scheme: verdict.scheme, host: verdict.host, why: verdict.why });
      return [];
    }
    return [
      {
        url: video.video_url,
        format: toVideoFormat(video.video_type, video.video_url),
        expiresAt: new Date(fetchedAt.getTime() + toTtlSeconds(video.video_url_ttl) * 1000),
      },
    ];
  });

  const seed = extra?.seed;
  return {
    id: task.task_id,
    status,
    upstreamStatus: task.status,
    progressPercent: toProgressPercent(task.progress_percent, status),
    etaSeconds: toEtaSeconds(task.eta, terminal),
    failureReason: status === 'FAILED' ? task.reason?.trim() || 'The video service did not give a reason.' : null,
    videos,
    seed: seed !== undefined && Number.isInteger(seed) && seed >= 0 && seed <= MAX_INT32 ? seed : null,
    submittedAt: toDate(extra?.debug_info?.submit_time_ms),
    completedAt: terminal ? toDate(extra?.debug_info?.complete_time_ms) : null,
    fetchedAt,
  };
}
