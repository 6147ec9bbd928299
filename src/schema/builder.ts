// The one SchemaBuilder: context type, scalars and nullability defaults. Nothing else lives here.
import SchemaBuilder from '@pothos/core';
import { DateTimeResolver } from 'graphql-scalars';
import type { GatewayContext } from '../context.js';

export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  // Fields are non-null unless they say otherwise, so the SDL shows `Payload!` and `[UserError!]!`.
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string };
  };
}>({ defaultFieldNullability: false });

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'An instant in time, as an ISO-8601 string in UTC, e.g. "2026-11-25T08:30:00.000Z".',
});

builder.queryType({ description: "Reads: tasks by id, and the caller's task history." });
builder.mutationType({ description: 'Writes: starting video generation, and removing tasks from the history.' });
builder.subscriptionType({ description: 'Live updates, over Server-Sent Events or WebSocket (graphql-ws) on /graphql.' });
