// Hands Yoga the GraphQL parameters that the HTTP layer already parsed from the POST body, in place
// of Yoga's own body parser: the body is read and parsed once, and Yoga's parse-error message
// (which quotes the body) never reaches a client.
import type { GraphQLParams, Plugin } from 'graphql-yoga';

export interface ParsedBodyContext {
  /** Set by the HTTP layer for JSON POSTs it has parsed. */
  parsedBody?: object;
}

export function useParsedBody(): Plugin<Record<string, unknown>, ParsedBodyContext> {
  return {
    onRequestParse({ serverContext, setRequestParser }) {
      const parsed = serverContext.parsedBody;
      if (parsed !== undefined) setRequestParser(() => parsed as GraphQLParams);
    },
  };
}
