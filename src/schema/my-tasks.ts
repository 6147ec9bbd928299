// myTasks: the caller's task history as a Relay connection, newest first. The history holds the
// order, the cursors' positions and the last-known statuses; each node is the same Task as
// `task(id:)` reads, through the same per-request loader and cache, and only when a client selects
// it (a page that asks for cursors or totalCount alone costs no upstream read).
import type { TaskStatusValue } from '../upstream/task-snapshot.js';
import { builder } from './builder.js';
import { TaskStatus } from './enums.js';
import { badUserInput } from './errors.js';
import { Task } from './task.js';
import { decodeTaskCursor, encodeTaskCursor } from './task-cursor.js';

const PAGE_DEFAULT = 20;
const PAGE_MAX = 100;

interface TaskEdgeValue {
  cursor: string;
  /** The upstream id: the node is read only if it is selected. */
  taskId: string;
}

interface TaskConnectionValue {
  edges: TaskEdgeValue[];
  hasNextPage: boolean;
  /** Counted only when selected: on a long history the count costs more than the page. */
  totalCount: () => Promise<number>;
}

const PageInfo = builder.objectRef<TaskConnectionValue>('PageInfo').implement({
  description: 'Where a page of a connection sits, the Relay way: pass `endCursor` as `after` for the next page while `hasNextPage` is true.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'True when more items follow this page.' }),
    endCursor: t.string({
      nullable: true,
      description: 'The cursor of the last edge of this page (pass it as `after`); null when the page is empty.',
      resolve: (connection) => connection.edges.at(-1)?.cursor ?? null,
    }),
    hasPreviousPage: t.boolean({
      description: 'Always false: myTasks pages forward only (`first` and `after`), and the Relay specification allows false then.',
      resolve: () => false,
    }),
    startCursor: t.string({
      nullable: true,
      description: 'The cursor of the first edge of this page; null when the page is empty.',
      resolve: (connection) => connection.edges[0]?.cursor ?? null,
    }),
  }),
});

const TaskEdge = builder.objectRef<TaskEdgeValue>('TaskEdge').implement({
  description: 'One task of a history page, with its cursor.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque position of this task in the history; pass it as `after` to continue after it.' }),
    node: t.field({
      type: Task,
      nullable: true,
      description:
        'The task, read as `task(id:)` reads it (same loader and cache). Null with an error at this path when that read failed (the error says why, e.g. UPSTREAM_TIMEOUT: read the task again later); once the video service no longer knows the task, it is the task as the history remembers it (last status seen, stored videos). The edge and its cursor are there either way, so paging goes on.',
      resolve: (edge, _args, ctx) => ctx.readTask(edge.taskId),
    }),
  }),
});

const TaskConnection = builder.objectRef<TaskConnectionValue>('TaskConnection').implement({
  description: 'A page of the caller\'s task history, newest first (a Relay connection).',
  fields: (t) => ({
    edges: t.expose('edges', { type: [TaskEdge], description: 'The tasks of this page, newest first.' }),
    pageInfo: t.field({ type: PageInfo, description: 'Whether more tasks follow, and the cursor to continue from.', resolve: (connection) => connection }),
    totalCount: t.int({
      description: 'How many tasks the whole history holds that match the `status` filter, on every page.',
      resolve: (connection) => connection.totalCount(),
    }),
  }),
});

builder.queryField('myTasks', (t) =>
  t.field({
    type: TaskConnection,
    description:
      'The tasks this caller created through the gateway, newest first (by when the gateway accepted the create). With client keys each tenant has its own history; an open gateway keeps one shared history. Each node costs one task read, as `task(id:)` does, counted in OPERATION_MAX_TASK_READS.',
    args: {
      first: t.arg.int({
        defaultValue: PAGE_DEFAULT,
        description: `How many tasks to return, 1–${PAGE_MAX} (BAD_USER_INPUT otherwise); null means ${PAGE_DEFAULT}.`,
      }),
      after: t.arg.string({ description: 'Start after this cursor (an `endCursor` or edge `cursor` from an earlier page); null: from the newest task.' }),
      status: t.arg({
        type: [TaskStatus],
        description:
          'Only tasks whose last status seen by the gateway is one of these (the gateway notes a status whenever it reads a task); null or empty: every status.',
      }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? PAGE_DEFAULT;
      if (first < 1 || first > PAGE_MAX) throw badUserInput(`first must be between 1 and ${PAGE_MAX}.`, 'first');
      const after = args.after == null ? undefined : decodeTaskCursor(args.after, 'after', ctx.ids, ctx.scope);
      const statuses = args.status == null ? undefined : [...new Set<TaskStatusValue>(args.status)];
      const page = await ctx.history.list({ first, after, statuses, withTotalCount: false });
      return {
        edges: page.records.map((record) => ({
          cursor: encodeTaskCursor(record.createdAt, ctx.ids.toPublic(record.taskId, ctx.scope)),
          taskId: record.taskId,
        })),
        hasNextPage: page.hasNextPage,
        totalCount: () => ctx.history.count(statuses),
      };
    },
  }),
);
