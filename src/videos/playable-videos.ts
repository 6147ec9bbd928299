// What `Task.videos` hands a client: for each video, the URL to play now. Once the gateway holds a
// copy, that is the copy's signed gateway link (it outlives the upstream's); until then, or when the
// history cannot be read, it is the upstream's own signed link. Reading copies never fails a read.
import type { VideoCopy } from '../history/task-history.js';
import type { TaskSnapshot, VideoFormatValue } from '../upstream/task-snapshot.js';
import type { VideoLinks } from './video-links.js';

export interface PlayableVideo {
  url: string;
  format: VideoFormatValue;
  expiresAt: Date;
  /** Whether `url` is the gateway's own copy. */
  stored: boolean;
}

export async function playableVideos(task: TaskSnapshot, copies: () => Promise<VideoCopy[]>, links: VideoLinks): Promise<PlayableVideo[]> {
  // Only a succeeded task has videos, and only a succeeded task can have copies: no history read.
  if (task.videos.length === 0) return [];
  let held: VideoCopy[] = [];
  try {
    held = await copies();
  } catch {
    // Already logged where it failed; the upstream's links still play.
  }
  const now = Date.now();
  return task.videos.map((video, index) => {
    const copy = held.find((candidate) => candidate.index === index);
    if (copy === undefined) return { url: video.url, format: video.format, expiresAt: video.expiresAt, stored: false };
    const link = links.linkFor(copy.key, now);
    return { url: link.url, format: copy.format, expiresAt: link.expiresAt, stored: true };
  });
}
