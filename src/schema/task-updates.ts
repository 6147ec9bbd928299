// The taskUpdates subscription: live task state from the shared poller, never from a per-request
// loader, so every event carries what the upstream said at that poll.
import type { TaskUpdate } from '../live/task-watch-hub.js';
import { builder } from './builder.js';
import { checkTaskId, Task } from './task.js';

builder.subscriptionField('taskUpdates', (t) =>
  t.field({
    type: Task,
    description:
      'The task\'s current state at once, then every change (status, progress, eta, videos); completes after SUCCEEDED or FAILED. ' +
      'An unknown id gives an error with extensions.code TASK_NOT_FOUND and completes; repeated upstream failures give the mapped error and complete.',
    args: { id: t.arg.id({ required: true, description: 'The task id returned by createReferenceVideo.' }) },
    subscribe: (_root, { id }, ctx) => ctx.live.watch(checkTaskId(id, 'id')),
    resolve: (update: TaskUpdate) => {
      if (update.kind === 'error') throw update.error;
      return update.task;
    },
  }),
);
