// Reads tasks for one operation: a DataLoader per request (the same id twice costs one read), with
// the operation's read budget (OPERATION_MAX_TASK_READS distinct tasks, whatever the document's
// shape) and, where ids can be guessed, a ration of reads of ids nobody has seen exist.
import DataLoader from 'dataloader';
import { DomainError } from '../domain-error.js';
import type { TaskSnapshot } from '../upstream/task-snapshot.js';
import type { TaskReader } from './task-reader.js';
import type { TokenBuckets } from '../token-buckets.js';

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

function tooManyReadsError(maxReads: number): Error {
  return new DomainError('TOO_MANY_READS', `This operation reads more than ${maxReads} distinct tasks; split it up.`, { maxTaskReads: maxReads });
}

export interface TaskLoaderHooks {
  onRead?: (snapshot: TaskSnapshot | null) => void;
  onLookup?: ((hit: boolean) => void) | undefined;
  /** Asked before an upstream read; an Error refuses it. */
  admit?: ((id: string) => Error | undefined) | undefined;
}

function unknownReadsLimited(retryAfterSeconds: number): Error {
  return new DomainError('RATE_LIMITED', `Too many reads of task ids this gateway has not seen; retry in ${retryAfterSeconds} s.`, { retryAfterSeconds });
}

export function createTaskLoader(
  tasks: TaskReader,
  signal: () => AbortSignal,
  maxReads: number,
  hooks: TaskLoaderHooks = {},
): DataLoader<string, TaskSnapshot | null> {
  // The upstream has no batch read, so a batch is parallel single reads (each cached and
  // single-flight in the reader); one failing id must not fail its neighbours, hence Error values.
  const readOne = async (id: string): Promise<TaskSnapshot | null> => {
    const cached = tasks.cached(id);
    hooks.onLookup?.(cached !== undefined);
    if (cached === undefined) {
      const refusal = hooks.admit?.(id);
      if (refusal) throw refusal;
    }
    const snapshot = cached ?? (await tasks.read(id, { signal: signal() }));
    hooks.onRead?.(snapshot);
    return snapshot;
  };
  // DataLoader hands each distinct id to the batch function once per request: counting them
  // bounds the upstream reads of one operation, whatever its shape (aliases, lists, fragments).
  let distinctReads = 0;
  return new DataLoader(async (ids) =>
    Promise.all(
      ids.map((id) => {
        distinctReads++;
        return distinctReads > maxReads ? tooManyReadsError(maxReads) : readOne(id).catch(toError);
      }),
    ),
  );
}


/**
 * Whether an upstream read of `id` may go ahead for `owner`: always for ids seen to exist (or
 * without a ration: signed ids are authentic); otherwise one token of the owner's ration.
 */
export function unknownReadGate(tasks: TaskReader, ration: TokenBuckets | undefined, owner: string): (id: string) => Error | undefined {
  return (id) => {
    if (!ration || tasks.isKnown(id) || tasks.cached(id) !== undefined) return undefined;
    const decision = ration.take(owner);
    return decision.ok ? undefined : unknownReadsLimited(decision.retryAfterSeconds);
  };
}
