// What a GraphQL client may see of a failure. Upstream failures become errors with a stable
// `extensions.code`; our own client errors pass through; everything else is masked (also in
// development, where Yoga would otherwise send the original message and stack).
import { GraphQLError } from 'graphql';
import { createGraphQLError, type MaskError } from 'graphql-yoga';
import { DomainError } from '../domain-error.js';
import type { Logger } from '../logger.js';
import { withBoundedMessage } from '../plugins/use-bounded-error-messages.js';
import { UpstreamError, UpstreamRateLimitError } from '../upstream/errors.js';

export const INTERNAL_ERROR_MESSAGE = 'Unexpected error.';

/** A client mistake in an argument, e.g. a malformed task id: `extensions.code: BAD_USER_INPUT`. */
export function badUserInput(message: string, argument: string): GraphQLError {
  return createGraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', argument } });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'UND_ERR_ABORTED');
}

export function createErrorMasker(logger: Logger): MaskError {
  return (error, message) => {
    const graphQLError = error instanceof GraphQLError ? error : undefined;
    const original = graphQLError ? graphQLError.originalError : error;
    // Errors built on purpose for clients (ours, parse and validation errors) go out as they are,
    // but for the length of the values they quote.
    if (graphQLError && (original === undefined || original === null || original instanceof GraphQLError)) {
      return withBoundedMessage(graphQLError);
    }
    const location = { nodes: graphQLError?.nodes, path: graphQLError?.path };
    if (original instanceof DomainError) {
      return createGraphQLError(original.message, { ...location, extensions: { ...original.extensions } });
    }
    if (original instanceof UpstreamError) {
      const retryAfterSeconds = original instanceof UpstreamRateLimitError ? original.retryAfterSeconds : undefined;
      return createGraphQLError(original.message, {
        ...location,
        extensions: { code: original.code, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) },
      });
    }
    if (isAbort(original)) {
      logger.debug('request aborted by the client');
    } else {
      // Operators get the real error; the client gets a fixed message.
      logger.error({ err: original, path: graphQLError?.path }, 'unexpected error while executing an operation');
    }
    return createGraphQLError(message || INTERNAL_ERROR_MESSAGE, {
      ...location,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  };
}
