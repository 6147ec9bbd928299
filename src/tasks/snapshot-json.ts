// TaskSnapshot to and from JSON, for state shared between replicas (Redis cache and pub/sub).
import type { TaskSnapshot } from '../upstream/task-snapshot.js';

export function snapshotToJson(snapshot: TaskSnapshot): string {
  return JSON.stringify(snapshot);
}

export function snapshotFromJson(text: string): TaskSnapshot {
  const raw = JSON.parse(text) as Omit<TaskSnapshot, 'fetchedAt' | 'submittedAt' | 'completedAt' | 'videos'> & {
    fetchedAt: string;
    submittedAt: string | null;
    completedAt: string | null;
    videos: { url: string; format: TaskSnapshot['videos'][number]['format']; expiresAt: string }[];
  };
  return {
    ...raw,
    fetchedAt: new Date(raw.fetchedAt),
    submittedAt: raw.submittedAt === null ? null : new Date(raw.submittedAt),
    completedAt: raw.completedAt === null ? null : new Date(raw.completedAt),
    videos: raw.videos.map((video) => ({ ...video, expiresAt: new Date(video.expiresAt) })),
  };
}
