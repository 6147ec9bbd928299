// Refuses an operation whose variables hold more than GRAPHQL_MAX_VARIABLE_VALUES values, before
// graphql-js coerces them, and a query document over GRAPHQL_MAX_QUERY_CHARS, before it is parsed.
// GraphQL Armor (use-abuse-limits.ts) counts the document's tokens, not their length: one 25 MB
// name is one token, and graphql-js's "Did you mean" for an unknown name costs memory in
// proportion to it. A million-item list in the variables would be coerced, validated and answered
// item by item. A legitimate create has about a hundred values, tasks(ids:) at most a hundred ids.
import type { GraphQLError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { exceedsVariableValues } from './count-variable-values.js';

/** The refusal; `http: false` for the WebSocket path, where an HTTP status means nothing. */
export function variablesTooLargeError(maxVariableValues: number, http = true): GraphQLError {
  return createGraphQLError(`The variables hold more than ${maxVariableValues} values (list items, object fields and scalars).`, {
    extensions: { code: 'VARIABLES_TOO_LARGE', maxVariableValues, ...(http ? { http: { status: 400 } } : {}) },
  });
}

/** The refusal of a document over the length limit. */
export function queryTooLargeError(maxQueryChars: number, http = true): GraphQLError {
  return createGraphQLError(`The query document is longer than ${maxQueryChars} characters.`, {
    extensions: { code: 'QUERY_TOO_LARGE', maxQueryChars, ...(http ? { http: { status: 400 } } : {}) },
  });
}

export function useVariableLimits(maxVariableValues: number, maxQueryChars: number): Plugin {
  return {
    // onParams runs once the body is parsed and before anything reads the query or the variables.
    // An error thrown here ends the request: Yoga answers it with the error's extensions.http status.
    onParams({ params }) {
      if (typeof params.query === 'string' && params.query.length > maxQueryChars) throw queryTooLargeError(maxQueryChars);
      if (exceedsVariableValues(params.variables, maxVariableValues)) throw variablesTooLargeError(maxVariableValues);
    },
  };
}
