// The graphql-ws protocol on the same path as HTTP, running operations through Yoga's envelop so
// plugins, error masking and the context factory apply exactly as over HTTP and SSE.
import type { Server } from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import type { ExecutionArgs } from 'graphql';
import { WebSocketServer } from 'ws';
import type { ClientKeyring } from './auth/client-keys.js';
import type { GatewayYoga } from './yoga.js';

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

interface ConnectionExtra {
  caller?: { tenant: string | null };
}

/**
 * Browsers cannot set headers on a WebSocket, so the client key may also come in the connection
 * parameters: `{ authorization: "Bearer <key>" }`.
 */
function presentedAuthorization(connectionParams: Readonly<Record<string, unknown>> | undefined, header: string | undefined): string | undefined {
  const param = connectionParams?.authorization ?? connectionParams?.Authorization;
  return typeof param === 'string' ? param : header;
}

export function attachGraphQLWebSocket(server: Server, yoga: GatewayYoga, keyring: ClientKeyring | undefined): { close(): Promise<void> } {
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const disposable = useServer(
    {
      // Yoga's recipe: the enveloped execute/subscribe travel in rootValue from onSubscribe.
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as ReturnType<NonNullable<Parameters<typeof useServer>[0]['subscribe']>>,
      onConnect: (ctx) => {
        if (!keyring) {
          (ctx.extra as ConnectionExtra).caller = { tenant: null };
          return true;
        }
        const tenant = keyring.tenantForAuthorization(presentedAuthorization(ctx.connectionParams, ctx.extra.request.headers.authorization));
        if (tenant === undefined) return false; // graphql-ws closes with 4403 Forbidden
        (ctx.extra as ConnectionExtra).caller = { tenant };
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          caller: (ctx.extra as ConnectionExtra).caller,
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
