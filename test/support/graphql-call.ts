// One GraphQL POST over real HTTP, as most suites make it: JSON in, the GraphQL-over-HTTP media
// type accepted, the status and the parsed result back. Every answer is checked never to hold the
// upstream key.
import { expect } from 'vitest';
import { UPSTREAM_TEST_KEY } from './stack.js';

export interface GraphQLAnswer {
  status: number;
  // any: response shapes differ per operation; the tests check them with expect().
  data?: any;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** Where the call goes: a stack (or anything with a gateway), or a gateway started on its own. */
export type CallTarget = { gateway: { url: string } } | { url: string };

export async function callGraphQL(
  target: CallTarget,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLAnswer> {
  const url = 'gateway' in target ? target.gateway.url : target.url;
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  expect(text).not.toContain(UPSTREAM_TEST_KEY);
  return { status: response.status, ...(JSON.parse(text) as Omit<GraphQLAnswer, 'status'>) };
}

/** The Authorization header for a client key or a sign-in token. */
export const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` });
