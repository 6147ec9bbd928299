// myUsage: today's credit spending of the caller (the signed-in user, or the tenant of a client key)
// against its daily budget.
import type { Usage as UsageValue } from '../create-video/budget-ledger.js';
import { builder } from './builder.js';

const Usage = builder.objectRef<UsageValue>('Usage').implement({
  description: "Credit units spent today (UTC) against a daily budget. A create costs durationSeconds × the resolution's weight.",
  fields: (t) => ({
    usedToday: t.exposeInt('usedToday', { description: 'Units spent since midnight UTC.' }),
    dailyLimit: t.int({
      nullable: true,
      description: 'Units that may be spent per UTC day; null when unlimited.',
      resolve: (usage) => usage.dailyLimit ?? null,
    }),
    resetsAt: t.expose('resetsAt', { type: 'DateTime', description: 'When usedToday goes back to 0: the next midnight UTC.' }),
  }),
});

builder.queryField('myUsage', (t) =>
  t.field({
    type: Usage,
    description:
      "The caller's credit use today: a signed-in user's own (against the per-user limit), or with a client key the whole tenant's (against the tenant limit).",
    resolve: (_root, _args, ctx) => {
      // Spending changes with every create, which the response cache knows nothing of.
      ctx.responseLifetime.forbidReuse();
      return ctx.usage();
    },
  }),
);
