// The framework floor: a bare graphql-yoga server (Yoga defaults) answering the benchmark's query
// shape from a constant, with no upstream at all. Prints its URL as one line.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';

const task = {
  id: 'floor-task',
  status: 'PROCESSING',
  progressPercent: 40,
  etaSeconds: 12,
  videos: [] as { url: string; expiresAt: string }[],
};

const yoga = createYoga({
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Video { url: String!, expiresAt: String! }
      type Task { id: ID!, status: String!, progressPercent: Int, etaSeconds: Int, videos: [Video!]! }
      type Query { task(id: ID!): Task }
    `,
    resolvers: { Query: { task: () => task } },
  }),
  logging: false,
});

const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
