// Who polls a task: in one process its single poller always does; across replicas (Redis) only
// the holder of the task's lease does, and everyone hears its results.
import type { TaskSnapshot } from '../upstream/task-snapshot.js';

export interface PollCoordinator {
  /** Whether this process should read the upstream for this task now (takes or keeps the lease). */
  mayPoll(id: string): Promise<boolean>;
  /** This process stops watching the task: give up its lease, if it holds one. */
  release(id: string): void;
  /** Tells the other replicas what this process read. */
  publish(snapshot: TaskSnapshot): void;
  /** Calls `listener` with what other replicas read. */
  onSnapshot(listener: (snapshot: TaskSnapshot) => void): void;
  close(): Promise<void>;
}

export const soloPolling: PollCoordinator = {
  mayPoll: async () => true,
  release: () => {},
  publish: () => {},
  onSnapshot: () => {},
  close: async () => {},
};
