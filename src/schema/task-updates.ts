// The taskUpdates subscription: live task state from the shared poller, never from a per-request
// loader, so every event carries what the upstream said at that poll.
import { taskNotFoundError, type TaskUpdate } from '../live/task-watch-hub.js';
import { builder } from './builder.js';
import { Task } from './task.js';
import { upstreamTaskId } from './task-id-argument.js';

/** One error event, then the end. */
async function* failWith(error: Error): AsyncGenerator<TaskUpdate> {
  yield { kind: 'error', error };
}

/** Another tenant's id (or a forged one): the same answer as an id that does not exist. */
function notFound(): AsyncGenerator<TaskUpdate> {
  return failWith(taskNotFoundError());
}

builder.subscriptionField('taskUpdates', (t) =>
  t.field({
    type: Task,
    description:
      'The task\'s current state at once, then every change (status, progress, eta, videos); completes after SUCCEEDED or FAILED. ' +
      'An unknown id gives an error with extensions.code TASK_NOT_FOUND and completes; repeated upstream failures give the mapped error and complete.',
    args: { id: t.arg.id({ required: true, description: 'The task id returned by createReferenceVideo.' }) },
    subscribe: (_root, { id }, ctx) => {
      const upstreamId = upstreamTaskId(id, 'id', ctx);
      if (upstreamId === null) return notFound();
      const refusal = ctx.admitRead(upstreamId);
      return refusal ? failWith(refusal) : ctx.live.watch(upstreamId, ctx.owner);
    },
    resolve: (update: TaskUpdate) => {
      if (update.kind === 'error') throw update.error;
      return update.task;
    },
  }),
);
