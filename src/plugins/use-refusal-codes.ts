// Every refusal carries a stable `extensions.code`, whatever refused it. Yoga answers some protocol
// refusals with an empty body (406 Not Acceptable, 415 Unsupported Media Type), gives others only
// its generic BAD_REQUEST (405 for a wrong method or a mutation over GET), masks a malformed GET or
// form `variables` as an unexpected error, and graphql-js leaves variable coercion errors
// (`resolution: "720p"` where an enum belongs) without any code. This plugin is the one place that
// gives each of them a code; statuses stay what Yoga (and the GraphQL-over-HTTP spec) chose.
//
// | refusal                                                     | status        | code                   |
// |-------------------------------------------------------------|---------------|------------------------|
// | Accept names nothing this server produces                   | 406           | NOT_ACCEPTABLE         |
// | a method other than GET and POST, a mutation over GET       | 405           | METHOD_NOT_ALLOWED     |
// | a POST body of a type no parser reads (text/plain, none…)   | 415           | UNSUPPORTED_MEDIA_TYPE |
// | `variables` or `extensions` of a GET or form not JSON       | 400           | BAD_REQUEST            |
// | a multipart body Yoga's parser refuses without a code       | 400           | BAD_REQUEST            |
// | a variable that does not coerce (with `field`: its path)    | 400 (or 200)  | BAD_USER_INPUT         |
// | Yoga's own 413 (REQUEST_ENTITY_TOO_LARGE)                   | 413           | PAYLOAD_TOO_LARGE      |
// | any other request error without a code                      | its own       | by status, else BAD_USER_INPUT |
import { GraphQLError, Kind, type ExecutionResult } from 'graphql';
import { createGraphQLError, isAsyncIterable, isPromise, type Plugin } from 'graphql-yoga';

/** The code of a refusal by its HTTP status, where Yoga gives no code or only a generic one. */
const CODE_FOR_STATUS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Yoga's codes that say less than the status does; ours and any other code are kept. */
const GENERIC_CODES = new Set(['BAD_REQUEST', 'REQUEST_ENTITY_TOO_LARGE']);

function unsupportedMediaType(): GraphQLError {
  return createGraphQLError('Unsupported Content-Type: send the GraphQL request as application/json (or as a GET with ?query=).', {
    extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', http: { status: 415 } },
  });
}

/** The parser's own message would quote the parameter; error answers never echo what was sent. */
function malformedParameters(): GraphQLError {
  return createGraphQLError('The "variables" or "extensions" parameter is not valid JSON.', {
    extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
  });
}

/** The same error with other extensions; the message, locations and path are kept. */
function withExtensions(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, ...extensions },
  });
}

// graphql-js (and @graphql-tools/executor, which Yoga runs) report a variable that does not
// coerce as `Variable "$input" got invalid value <value> at "input.subjects[0].images[1]"; <why>`,
// where <why> is the message of the error kept as `originalError`, and the path is printed only
// into the message. The path is read back from there, and only when it is unambiguous: it ends the
// text before "; <why>", between ` at "<name>` and a closing quote, and consists of `.field`
// (GraphQL names) and `[index]` steps only, so it holds no space or quote, while every quote in the
// value before it is JSON-escaped. Anything else yields no steps, and `field` names the variable.
const PATH_STEP = /\.([_A-Za-z][_0-9A-Za-z]*)|\[(\d+)\]/y;

/** The steps below the variable, as strings (like userErrors' `field`), or [] when not certain. */
function stepsWithinVariable(error: GraphQLError, name: string): string[] {
  const why = error.originalError?.message;
  if (why === undefined || !error.message.endsWith(`; ${why}`)) return [];
  const head = error.message.slice(0, error.message.length - why.length - 2);
  const marker = ` at "${name}`;
  const at = head.lastIndexOf(marker);
  if (at === -1 || !head.endsWith('"')) return [];
  const printed = head.slice(at + marker.length, -1);
  const steps: string[] = [];
  PATH_STEP.lastIndex = 0;
  while (PATH_STEP.lastIndex < printed.length) {
    const step = PATH_STEP.exec(printed);
    if (step === null) return [];
    steps.push(step[1] ?? step[2]!);
  }
  return steps;
}

/**
 * A variable coercion error (it points at the variable's definition and ran nothing) with
 * BAD_USER_INPUT and `field`: the path into `variables`, the variable's name first, e.g.
 * ["input", "resolution"] or ["input", "subjects", "0", "images", "1"]. Other request errors of
 * execution without a code get BAD_USER_INPUT; errors of fields that ran are left as they are.
 * Without HTTP (graphql-ws) the executor's `http` status is dropped: it would be sent as it is.
 */
function withInputCode(error: GraphQLError, overHttp: boolean): GraphQLError {
  if (error.path !== undefined) return error;
  const node = error.nodes?.[0];
  const isVariable = node?.kind === Kind.VARIABLE_DEFINITION;
  const dropStatus = !overHttp && error.extensions.http !== undefined;
  if (!isVariable && !dropStatus && error.extensions.code !== undefined) return error;
  const { http, ...others } = error.extensions;
  const extensions: Record<string, unknown> = { ...others, code: others.code ?? 'BAD_USER_INPUT' };
  if (isVariable) {
    const name = node.variable.name.value;
    extensions.code = 'BAD_USER_INPUT';
    extensions.field = [name, ...stepsWithinVariable(error, name)];
  }
  if (!dropStatus && http !== undefined) extensions.http = http;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, originalError: error.originalError, extensions });
}

function withInputCodes(result: ExecutionResult, overHttp: boolean): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((error) => withInputCode(error, overHttp)) };
}

/** Operations over graphql-ws carry no fetch Request in their context. */
function isOverHttp(contextValue: unknown): boolean {
  return (contextValue as { request?: unknown } | undefined)?.request !== undefined;
}

/** Yoga's refusals (and any request error) coded by their HTTP status where no better code is there. */
function withRefusalCode(error: GraphQLError): GraphQLError {
  if (error.path !== undefined) return error;
  const code = error.extensions.code;
  const status = (error.extensions.http as { status?: number } | undefined)?.status;
  const byStatus = status === undefined ? undefined : CODE_FOR_STATUS[status];
  if (byStatus !== undefined && (code === undefined || (GENERIC_CODES.has(String(code)) && code !== byStatus))) {
    return withExtensions(error, { code: byStatus });
  }
  return code === undefined ? withExtensions(error, { code: 'BAD_USER_INPUT' }) : error;
}

function withRefusalCodes(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((error) => (error instanceof GraphQLError ? withRefusalCode(error) : error)) };
}

/**
 * The answer when the client's Accept names no media type this server produces for the result.
 * HTTP lets a 406 carry a body of the server's choosing: it is JSON, like every other refusal,
 * though the client did not ask for it. An event stream that will not be sent is ended at once.
 */
function notAcceptable(result: unknown, fetchAPI: { Response: typeof Response }, offered: readonly string[]): Response {
  if (isAsyncIterable(result)) void result[Symbol.asyncIterator]().return?.();
  const types = [...new Set(offered)];
  const body = JSON.stringify({
    errors: [{ message: `Accept names no media type this server produces here; accept one of: ${types.join(', ')}.`, extensions: { code: 'NOT_ACCEPTABLE' } }],
  });
  // `accept` lists what would have been served, as Yoga's own empty 406 did.
  return new fetchAPI.Response(body, {
    status: 406,
    statusText: 'Not Acceptable',
    headers: { 'content-type': 'application/json; charset=utf-8', accept: types.join(', ') },
  });
}

/**
 * Must come after the request parsers (Yoga's own and use-parsed-body.ts), so it sees which one was
 * chosen; Yoga places every user plugin after its result processors.
 */
export function useRefusalCodes(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (requestParser === undefined) {
        // Other methods are refused by Yoga's method check (405), which runs after this.
        if (request.method === 'POST') {
          setRequestParser(() => {
            throw unsupportedMediaType();
          });
        }
        return;
      }
      // JSON.parse of a GET's or a form's `variables`/`extensions` throws a SyntaxError, which Yoga
      // would mask as unexpected; Yoga's multipart parser throws some of its refusals without a
      // code or status (a missing "operations" field). Sync parsers (GET, the pre-parsed JSON body)
      // stay sync.
      const refusal = (error: unknown) => {
        if (error instanceof SyntaxError) return malformedParameters();
        if (error instanceof GraphQLError && error.extensions.code === undefined) return withExtensions(error, { code: 'BAD_REQUEST', http: { status: 400 } });
        return error;
      };
      setRequestParser((parsing) => {
        try {
          const params = requestParser(parsing);
          return isPromise(params)
            ? params.catch((error: unknown) => {
                throw refusal(error);
              })
            : params;
        } catch (error) {
          throw refusal(error);
        }
      });
    },
    // Execution's own request errors, coded here rather than at the HTTP answer so that SSE,
    // graphql-sse and graphql-ws get the same codes. This runs before Yoga's error masking, which
    // lets such errors through but may cut the quoted path out of a long message.
    onExecute({ args }) {
      const overHttp = isOverHttp(args.contextValue);
      return {
        onExecuteDone({ result, setResult }) {
          if (!isAsyncIterable(result)) setResult(withInputCodes(result, overHttp));
        },
      };
    },
    onSubscribe({ args }) {
      const overHttp = isOverHttp(args.contextValue);
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) setResult(withInputCodes(result, overHttp));
        },
      };
    },
    onResultProcess({ result, setResult, resultProcessor, acceptableMediaTypes, setResultProcessor }) {
      if (Array.isArray(result)) setResult(result.map((one) => withRefusalCodes(one as ExecutionResult)));
      else if (!isAsyncIterable(result)) setResult(withRefusalCodes(result as ExecutionResult));
      // No processor matched the Accept header: Yoga would answer 406 with an empty body. A processor
      // set by a plugin after this one still wins; the list of offered types is read when answering.
      if (resultProcessor === undefined) {
        setResultProcessor((processed, fetchAPI) => notAcceptable(processed, fetchAPI, acceptableMediaTypes), 'application/json');
      }
    },
  };
}
