// The one rule for ordering reads of a task: reads can finish out of order (single-flight calls,
// other replicas' results over pub/sub, the shared cache), so a state is taken only when it was
// read later than the one already held. (The Redis cache applies the same rule in its Lua script.)
import type { TaskSnapshot } from '../upstream/task-snapshot.js';

/** Whether `candidate` was read after `current` (true when there is no current state). */
export function isNewer(candidate: TaskSnapshot, current: TaskSnapshot | undefined): boolean {
  return current === undefined || candidate.fetchedAt.getTime() > current.fetchedAt.getTime();
}
