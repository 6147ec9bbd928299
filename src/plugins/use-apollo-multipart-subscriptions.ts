// Apollo Client sends a subscription through its default HttpLink with
//   Accept: multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/graphql-response+json,application/json;q=0.9
// and expects the multipart subscription protocol Apollo Router speaks. Yoga serves multipart only
// for queries (incremental delivery, with a framing of its own) and answered these with an empty 406.
//
// The protocol, as Apollo Client 4 reads it (link/http/parseAndCheckHttpResponse.js):
// - one `multipart/mixed; boundary="graphql"` body, status 200 once streaming has begun;
// - each part is `content-type: application/json; charset=utf-8` holding `{"payload":<result>}`,
//   where the result carries `data` and/or `errors` (GraphQL errors, e.g. TASK_NOT_FOUND);
// - an error of the transport itself (the stream broke) is `{"payload":null,"errors":[…]}`;
// - `{}` is a heartbeat (every few seconds, as Apollo Router does), so idle proxies keep the line;
// - `--graphql--` ends the body when the subscription completes.
// Apollo's reader hands a part on only once the delimiter after it has arrived, so every part is
// written followed by its delimiter, never preceded by it.
//
// A request whose Accept names nothing that can be served gets NOT_ACCEPTABLE from
// use-refusal-codes.ts; for a subscription, the list of what could have been served names this type.
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, processRegularResult, type Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';

export interface ApolloMultipartOptions {
  /** How often an idle stream sends a `{}` heartbeat part. Default 5000 ms, as Apollo Router. */
  heartbeatIntervalMs?: number;
  /** Where a stream that broke (not a GraphQL error: the event source itself failed) is reported. */
  logger: Pick<Logger, 'error'>;
}

/** The Content-Type of the answer, spelled as Apollo Router spells it. */
export const APOLLO_MULTIPART_CONTENT_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"';

const DELIMITER = '\r\n--graphql';
const PART_HEADERS = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';
const CLOSE_DELIMITER_SUFFIX = '--\r\n';
const HEARTBEAT = `${PART_HEADERS}{}${DELIMITER}`;
/** The payload of a stream that broke: Apollo surfaces it as a protocol error. */
const BROKEN_STREAM = JSON.stringify({
  payload: null,
  errors: [{ message: 'The subscription stream failed.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
});

/**
 * Whether an Accept header names Apollo's multipart subscription media type:
 * `multipart/mixed` with a `subscriptionSpec=1.0` parameter (quoted or not, any case).
 */
export function acceptsApolloMultipart(accept: string | null): boolean {
  if (accept === null) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === 'multipart/mixed' && params.some((param) => /^subscriptionspec\s*=\s*("?)1\.0\1$/.test(param));
  });
}

/** Yoga's fetch implementation, as its result processors receive it. */
type FetchAPI = Parameters<typeof processRegularResult>[1];

/** The result as Yoga writes it in a JSON answer: error internals (`extensions.http`) left out. */
async function clientJson(result: ExecutionResult, fetchAPI: FetchAPI): Promise<string> {
  return processRegularResult(result, fetchAPI, 'application/json').text();
}

async function* once(result: ExecutionResult): AsyncGenerator<ExecutionResult> {
  yield result;
}

function multipartResponse(
  result: ExecutionResult | AsyncIterable<ExecutionResult>,
  fetchAPI: FetchAPI,
  signal: AbortSignal,
  options: Required<Pick<ApolloMultipartOptions, 'heartbeatIntervalMs'>> & Pick<ApolloMultipartOptions, 'logger'>,
): Response {
  const encoder = new fetchAPI.TextEncoder();
  // A single result (the subscription was refused before it began, e.g. a variable error) is a
  // stream of one part: Apollo reads it exactly like an event.
  const iterator: AsyncIterator<ExecutionResult> = isAsyncIterable(result) ? result[Symbol.asyncIterator]() : once(result);
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let finished = false;
  // The client left or the stream ended: the heartbeat stops and the source is released at once
  // (a Repeater-based source stops its poller watcher on return, even mid-poll).
  const finish = () => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    signal.removeEventListener('abort', finish);
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  };
  const stream = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(DELIMITER));
      heartbeat = setInterval(() => {
        // null: errored or closed; 0: the client is not reading, a heartbeat would only queue up.
        if (controller.desiredSize !== null && controller.desiredSize > 0) controller.enqueue(encoder.encode(HEARTBEAT));
      }, options.heartbeatIntervalMs);
      if (signal.aborted) finish();
      else signal.addEventListener('abort', finish, { once: true });
    },
    async pull(controller) {
      if (finished) return;
      let step: IteratorResult<ExecutionResult>;
      try {
        step = await iterator.next();
      } catch (error) {
        if (finished) return;
        options.logger.error({ err: error }, 'a multipart subscription stream failed');
        controller.enqueue(encoder.encode(`${PART_HEADERS}${BROKEN_STREAM}${DELIMITER}${CLOSE_DELIMITER_SUFFIX}`));
        finish();
        controller.close();
        return;
      }
      if (finished) return;
      if (step.done) {
        controller.enqueue(encoder.encode(CLOSE_DELIMITER_SUFFIX));
        finish();
        controller.close();
        return;
      }
      const json = await clientJson(step.value, fetchAPI);
      if (!finished) controller.enqueue(encoder.encode(`${PART_HEADERS}{"payload":${json}}${DELIMITER}`));
    },
    cancel() {
      finish();
    },
  });
  return new fetchAPI.Response(stream, {
    status: 200,
    headers: {
      'content-type': APOLLO_MULTIPART_CONTENT_TYPE,
      'cache-control': 'no-cache',
      // Proxies such as nginx would otherwise hold the parts back until their buffer fills.
      'x-accel-buffering': 'no',
    },
  });
}

export function useApolloMultipartSubscriptions(options: ApolloMultipartOptions): Plugin {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
  // Requests whose operation is a subscription (set when it starts), so a subscription refused
  // before its first event still gets a multipart answer Apollo reads as that subscription's error.
  const subscriptionRequests = new WeakSet<Request>();
  return {
    onSubscribe({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (request) subscriptionRequests.add(request);
    },
    // Runs after Yoga's own processors and use-refusal-codes.ts (both registered before this one),
    // so its choice wins for the requests it takes.
    onResultProcess({ request, result, setResultProcessor, acceptableMediaTypes }) {
      if (acceptsApolloMultipart(request.headers.get('accept')) && (isAsyncIterable(result) || subscriptionRequests.has(request))) {
        setResultProcessor(
          (processed, fetchAPI) =>
            multipartResponse(processed as ExecutionResult | AsyncIterable<ExecutionResult>, fetchAPI, request.signal, { heartbeatIntervalMs, logger: options.logger }),
          'multipart/mixed',
        );
        return;
      }
      // Listed in the NOT_ACCEPTABLE answer (use-refusal-codes.ts) among what could have been served.
      if (isAsyncIterable(result)) acceptableMediaTypes.push(APOLLO_MULTIPART_CONTENT_TYPE);
    },
  };
}
