// The Relay Node interface and `node(id:)`: refetching any object by its global id alone. Tasks are
// the only nodes today; their ids stay what they were (the upstream id on an open gateway, signed
// per tenant with client keys), so `node(id:)` and `task(id:)` answer the same id the same way.
import { builder } from './builder.js';
import { upstreamTaskId } from './task-id-argument.js';

/** What a node is resolved from: anything that carries its upstream id (a task snapshot). */
interface NodeValue {
  id: string;
}

export const Node = builder.interfaceRef<NodeValue>('Node').implement({
  description: 'An object with a global id that `node(id:)` fetches again (the Relay convention). Only Task implements it today.',
  // Task is the only implementation: every node value is a task snapshot.
  resolveType: () => 'Task',
  fields: (t) => ({
    id: t.id({
      description: 'The global id: pass it to `node(id:)` to fetch the object again.',
      resolve: (node, _args, ctx) => ctx.ids.toPublic(node.id, ctx.scope),
    }),
  }),
});

builder.queryField('node', (t) =>
  t.field({
    type: Node,
    nullable: true,
    description:
      'The object with this global id, the Relay way: today always a Task, read exactly as `task(id:)` reads it (the same loader and cache). Null when the id is unknown, not a task, or another tenant\'s.',
    args: { id: t.arg.id({ required: true, description: 'A global id, e.g. a Task id.' }) },
    resolve: (_root, { id }, ctx) => {
      const upstreamId = upstreamTaskId(id, 'id', ctx);
      return upstreamId === null ? null : ctx.readTask(upstreamId);
    },
  }),
);
