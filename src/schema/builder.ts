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
    File: { Input: File; Output: never };
  };
}>({ defaultFieldNullability: false });

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'An instant in time, as an ISO-8601 string in UTC, e.g. "2026-11-25T08:30:00.000Z".',
});

// Uploads arrive as WHATWG Files, placed in the variables by the HTTP layer (http/multipart-operation.ts)
// from a GraphQL multipart request; nothing else is a File, and a File is never an output.
builder.scalarType('File', {
  description: 'An uploaded file, sent as a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec): for example a browser File in FormData.',
  serialize: () => {
    throw new TypeError('File is an input-only scalar.');
  },
  parseValue: (value) => {
    if (value instanceof File) return value;
    throw new TypeError('A File must be sent as a multipart upload (the GraphQL multipart request spec).');
  },
});

builder.queryType({ description: "Reads: tasks by id, and the caller's task history." });
builder.mutationType({ description: 'Writes: starting video generation, and removing tasks from the history.' });
builder.subscriptionType({ description: 'Live updates, over Server-Sent Events or WebSocket (graphql-ws) on /graphql.' });
