// deleteTask: removes a task from the caller's history. The upstream has no cancel, so the job
// itself runs on (and is billed) whatever the history says.
import type { UserErrorValue } from '../create-video/input.js';
import { builder } from './builder.js';
import { upstreamTaskId } from './task-id-argument.js';
import { UserError } from './user-error.js';

interface DeleteTaskPayloadValue {
  deletedTaskId: string | null;
  userErrors: UserErrorValue[];
}

function notFound(): DeleteTaskPayloadValue {
  return {
    deletedTaskId: null,
    userErrors: [{ field: ['id'], code: 'NOT_FOUND', message: 'Your task history holds no task with this id.' }],
  };
}

const DeleteTaskPayload = builder.objectRef<DeleteTaskPayloadValue>('DeleteTaskPayload').implement({
  description: 'The result of deleteTask: the id removed, or userErrors saying why nothing was.',
  fields: (t) => ({
    deletedTaskId: t.exposeID('deletedTaskId', {
      nullable: true,
      description: 'The id of the task removed from the history; null when userErrors is not empty.',
    }),
    userErrors: t.expose('userErrors', {
      type: [UserError],
      description: 'Why nothing was deleted (NOT_FOUND: unknown, already deleted, or another tenant\'s task); empty on success.',
    }),
  }),
});

builder.mutationField('deleteTask', (t) =>
  t.field({
    type: DeleteTaskPayload,
    description:
      'Removes a task from the caller\'s history: myTasks no longer lists it, and its createdAt and prompt read null. It cannot cancel the job at the video service: a task still running finishes (and is billed), and task(id:) still reads it for as long as the video service keeps it.',
    args: { id: t.arg.id({ required: true, description: 'The task id, as createReferenceVideo or myTasks gave it.' }) },
    resolve: async (_root, { id }, ctx) => {
      const upstreamId = upstreamTaskId(id, 'id', ctx);
      // Another tenant's id gets the same answer as one that never existed.
      if (upstreamId === null) return notFound();
      const deleted = await ctx.history.delete(upstreamId);
      return deleted ? { deletedTaskId: id, userErrors: [] } : notFound();
    },
  }),
);
