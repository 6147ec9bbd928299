// graphql-js quotes the offending value in its coercion, validation and parse messages ("got invalid
// value \"…\"", "Int cannot represent non-integer value: \"…\""), whole: a 20 MB string where an
// enum or a number belongs would come back in the answer, once or twice. This cuts long quoted
// values, and long messages, in every error of an answer about to be written. Error answers never
// echo much of what the client sent. (Codes for errors that come without one are given by
// use-refusal-codes.ts.)
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const QUOTED_KEEP = 40;
/** Quoted runs longer than this are cut to QUOTED_KEEP characters. */
const QUOTED_MAX = 80;
const MESSAGE_MAX_CHARS = 1000;

/** The end of the quoted run opening at `open` (the index of its closing quote), or -1. */
function closingQuote(message: string, open: number): number {
  for (let at = open + 1; at < message.length; at++) {
    const char = message.charCodeAt(at);
    if (char === 0x5c) at++; // a backslash escapes the next character
    else if (char === 0x22) return at;
  }
  return -1;
}

/**
 * The message with long quoted values cut short, and at most MESSAGE_MAX_CHARS long. A plain scan,
 * linear in the message: a regex over a 25 MB quoted value backtracks until the stack overflows.
 */
function boundedMessage(message: string): string {
  if (message.length <= MESSAGE_MAX_CHARS && !message.includes('"')) return message;
  let out = '';
  let from = 0;
  for (let open = message.indexOf('"'); open !== -1 && out.length <= MESSAGE_MAX_CHARS; open = message.indexOf('"', from)) {
    const close = closingQuote(message, open);
    if (close === -1) break;
    const inner = message.slice(open + 1, close);
    out += message.slice(from, open) + (inner.length > QUOTED_MAX ? `"${inner.slice(0, QUOTED_KEEP)}…"` : `"${inner}"`);
    from = close + 1;
  }
  if (out.length <= MESSAGE_MAX_CHARS) out += message.slice(from, from + MESSAGE_MAX_CHARS + 1);
  return out.length <= MESSAGE_MAX_CHARS ? out : `${out.slice(0, MESSAGE_MAX_CHARS)}…`;
}

/** The same error with a bounded message (itself when nothing needed cutting). */
export function withBoundedMessage(error: GraphQLError): GraphQLError {
  const message = boundedMessage(error.message);
  if (message === error.message) return error;
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: error.extensions });
}

function bounded(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((error) => (error instanceof GraphQLError ? withBoundedMessage(error) : error)) };
}

export function useBoundedErrorMessages(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      // Event streams are left alone: their errors come from resolvers, through the error masker.
      if (Array.isArray(result)) setResult(result.map((one) => bounded(one as ExecutionResult)));
      else if (!(Symbol.asyncIterator in result)) setResult(bounded(result as ExecutionResult));
    },
  };
}
