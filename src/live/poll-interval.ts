// When a poller looks again: soon while things move, guided by the upstream's eta and progress,
// backing off while nothing changes, never beyond the cap, with jitter against lockstep.
import type { LiveConfig } from '../config.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';

/** Look this many times within the remaining eta, so the end is seen soon after it happens. */
const LOOKS_PER_ETA = 4;
const BACKOFF_FACTOR = 1.5;
/** Near the end progress moves fast and the eta is least reliable: look at the shortest interval. */
const NEAR_DONE_PERCENT = 90;

export function nextPollDelayMs(
  task: TaskSnapshot | undefined,
  unchangedPolls: number,
  config: LiveConfig,
  random: () => number = Math.random,
): number {
  const { pollMinIntervalMs: min, pollMaxIntervalMs: max } = config;
  let base: number;
  if (task?.progressPercent != null && task.progressPercent >= NEAR_DONE_PERCENT) {
    base = min;
  } else if (task?.etaSeconds != null && task.etaSeconds > 0) {
    base = (task.etaSeconds * 1000) / LOOKS_PER_ETA;
  } else {
    base = min * BACKOFF_FACTOR ** Math.min(unchangedPolls, 20);
  }
  base = Math.min(max, Math.max(min, base));
  const jitter = 1 + config.pollJitter * (2 * random() - 1);
  // Both bounds hold after the jitter too: the minimum is what protects the upstream.
  return Math.round(Math.min(max, Math.max(min, base * jitter)));
}
