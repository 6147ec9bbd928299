// Where a task's video copies live in the video store. A name is derived from the owner, the task
// and the video's place, not drawn at random: a retried copy overwrites its own earlier attempt, and
// deleting a task can name every object it may have left, even one a crash stored but never recorded.
// The name is a hash, so it says nothing of the tenant or the task; a link to it still needs a
// valid signature (video-links.ts).
import { createHash } from 'node:crypto';
import type { HistoryOwner } from '../history/task-history.js';

export type CopyFormat = 'MP4' | 'GIF';

/** Videos of one task that get copies; the upstream makes one per task, a few leave room to spare. */
export const MAX_COPIED_VIDEOS_PER_TASK = 4;

const EXTENSION: Record<CopyFormat, string> = { MP4: 'mp4', GIF: 'gif' };

export function copyKeyOf(owner: HistoryOwner, taskId: string, index: number, format: CopyFormat): string {
  // NUL cannot occur in an owner or a task id, so no two triples share a hash input.
  const digest = createHash('sha256').update(`video-copy\0${owner}\0${taskId}\0${index}`).digest('base64url');
  return `${digest.slice(0, 32)}.${EXTENSION[format]}`;
}

/** Every name a copy of this task's videos can have. */
export function allCopyKeysOf(owner: HistoryOwner, taskId: string): string[] {
  const keys: string[] = [];
  for (let index = 0; index < MAX_COPIED_VIDEOS_PER_TASK; index++) {
    for (const format of Object.keys(EXTENSION) as CopyFormat[]) keys.push(copyKeyOf(owner, taskId, index, format));
  }
  return keys;
}
