// Refuses an operation whose variables hold more than GRAPHQL_MAX_VARIABLE_VALUES values, before
// graphql-js coerces them. GraphQL Armor (use-abuse-limits.ts) bounds the document only; a
// million-item list in the variables passes it and would then be coerced, validated and answered
// item by item. A legitimate create has about a hundred values, tasks(ids:) at most a hundred ids.
import type { GraphQLError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { exceedsVariableValues } from './count-variable-values.js';

/** The refusal, also for the WebSocket path (there the `http` extension means nothing). */
export function variablesTooLargeError(maxVariableValues: number): GraphQLError {
  return createGraphQLError(`The variables hold more than ${maxVariableValues} values (list items, object fields and scalars).`, {
    extensions: { code: 'VARIABLES_TOO_LARGE', maxVariableValues, http: { status: 400 } },
  });
}

export function useVariableLimits(maxVariableValues: number): Plugin {
  return {
    // onParams runs once the body is parsed and before anything reads the variables. An error
    // thrown here ends the request: Yoga answers it with the error's extensions.http status.
    onParams({ params }) {
      if (exceedsVariableValues(params.variables, maxVariableValues)) throw variablesTooLargeError(maxVariableValues);
    },
  };
}
