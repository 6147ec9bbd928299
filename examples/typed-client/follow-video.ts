// Creates a video and follows it to completion: the mutation, the taskUpdates subscription until
// the task is terminal, then a read of the finished task (what a page reload would do).
import { GatewayClient, GatewayError, type GatewayClientOptions } from './gateway-client.js';
import type { CreateReferenceVideoInput, FollowTaskSubscription, ReadTaskQuery } from './gql/graphql.js';
import { CreateVideo, FollowTask, ReadTask } from './operations.js';

export type TaskUpdate = FollowTaskSubscription['taskUpdates'];
export type FinishedTask = NonNullable<ReadTaskQuery['task']>;

export interface FollowedVideo {
  taskId: string;
  /** Every state the subscription delivered, in order; the last one is terminal. */
  updates: TaskUpdate[];
  /** The task as read once it had finished. */
  task: FinishedTask;
}

export async function createAndFollowVideo(
  options: GatewayClientOptions & { input: CreateReferenceVideoInput; onUpdate?: (update: TaskUpdate) => void },
): Promise<FollowedVideo> {
  const client = new GatewayClient(options);
  try {
    const { createReferenceVideo: created } = await client.run(CreateVideo, { input: options.input });
    if (created.taskId === null) {
      // userErrors say what to fix, field by field, before any credit is spent.
      const problems = created.userErrors.map((e) => `${(e.field ?? []).join('.') || 'input'}: ${e.code} ${e.message}`);
      throw new GatewayError(`The video was not created: ${problems.join('; ')}`, 'USER_ERRORS');
    }
    const taskId = created.taskId;

    const updates: TaskUpdate[] = [];
    // The subscription sends the current state at once, then every change, and completes after the last.
    for await (const { taskUpdates } of client.results(FollowTask, { id: taskId })) {
      updates.push(taskUpdates);
      options.onUpdate?.(taskUpdates);
    }
    if (updates.at(-1)?.isTerminal !== true) throw new Error(`The updates of task ${taskId} ended before it finished.`);

    const { task } = await client.run(ReadTask, { id: taskId });
    if (task === null) throw new GatewayError(`Task ${taskId} is not known.`, 'TASK_NOT_FOUND');
    return { taskId, updates, task };
  } finally {
    client.dispose();
  }
}
