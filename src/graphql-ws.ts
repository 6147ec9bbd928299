// The graphql-ws protocol on the same path as HTTP, running operations through Yoga's envelop so
// plugins, error masking and the context factory apply exactly as over HTTP and SSE.
import type { Server } from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import type { ExecutionArgs } from 'graphql';
import { WebSocketServer } from 'ws';
import type { GatewayYoga } from './yoga.js';

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

export function attachGraphQLWebSocket(server: Server, yoga: GatewayYoga): { close(): Promise<void> } {
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const disposable = useServer(
    {
      // Yoga's recipe: the enveloped execute/subscribe travel in rootValue from onSubscribe.
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as ReturnType<NonNullable<Parameters<typeof useServer>[0]['subscribe']>>,
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        const errors = validate(args.schema, args.document);
        if (errors.length > 0) return errors;
        return args;
      },
    },
    wsServer,
  );
  return {
    async close() {
      await disposable.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
