// A task snapshot for unit tests: a PROCESSING task at 10 %, read now, with any field overridden.
import type { TaskSnapshot } from '../../src/upstream/task-snapshot.js';

export function task(overrides: Partial<TaskSnapshot> = {}): TaskSnapshot {
  return {
    id: 't',
    status: 'PROCESSING',
    upstreamStatus: 'TASK_STATUS_PROCESSING',
    progressPercent: 10,
    etaSeconds: null,
    failureReason: null,
    videos: [],
    seed: null,
    submittedAt: null,
    completedAt: null,
    fetchedAt: new Date(),
    ...overrides,
  };
}
