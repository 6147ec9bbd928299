// A task the video service no longer knows, as the history remembers it. The upstream keeps tasks
// for a while only; the gateway is the durable record of what it created. So a read that the video
// service answers "unknown" still finds the caller's own task: its last status seen, and the videos
// whose copies the gateway holds (their links are the gateway's, which is all that is left to play).
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import type { TaskRecord, VideoCopy } from './task-history.js';

export function rememberedTask(record: TaskRecord, copies: readonly VideoCopy[]): TaskSnapshot {
  // A copy stands in for the video at its place in the list; the URL is replaced by the copy's link
  // (schema: playableVideos), so the upstream's, long dead, is not kept.
  const held = [...copies].sort((a, b) => a.index - b.index).filter((copy, place) => copy.index === place);
  return {
    id: record.taskId,
    status: record.status,
    upstreamStatus: record.status,
    progressPercent: record.status === 'SUCCEEDED' ? 100 : null,
    etaSeconds: null,
    failureReason: null,
    videos: held.map((copy) => ({ url: '', format: copy.format, expiresAt: copy.storedAt })),
    seed: null,
    submittedAt: null,
    completedAt: null,
    fetchedAt: record.updatedAt,
  };
}
