// Hands one request to Yoga as a fetch Request built here, and writes Yoga's Response back. The URL
// is the canonical route chosen by the HTTP layer (never the raw request line), the body is either
// absent (a JSON POST whose parameters travel already parsed) or the bytes already read, and the
// request's signal fires when the client goes away (and once the answer is sent), so subscriptions
// and upstream waits end with it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendNodeResponse } from '@whatwg-node/server';
import type { GatewayServerContext, GatewayYoga } from '../yoga.js';
import type { RequestTarget } from './request-target.js';

// Any fixed origin will do: Yoga reads only the path and the query string.
const BASE = 'http://localhost';

/** A view of the Buffer's bytes, not a copy. (A Buffer from the socket never sits on a SharedArrayBuffer.) */
function bytesOf(body: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength);
}

export async function forwardToYoga(
  yoga: GatewayYoga,
  req: IncomingMessage,
  res: ServerResponse,
  target: Pick<RequestTarget, 'path' | 'search'>,
  serverContext: GatewayServerContext,
  body?: Buffer,
): Promise<void> {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  const headers = new yoga.fetchAPI.Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const method = req.method ?? 'GET';
  const url = `${BASE}${target.path}${target.search === '' ? '' : `?${target.search}`}`;
  const request = new yoga.fetchAPI.Request(url, { method, headers, signal: controller.signal, ...(body === undefined ? {} : { body: bytesOf(body) }) });
  try {
    const response = await yoga.fetch(request, serverContext);
    // The last argument lets it write status and headers in one writeHead, as Yoga's own node handler does.
    await sendNodeResponse(response, res, req, true);
  } catch (error) {
    // The client left: Yoga gives up with the abort, and there is no one left to answer.
    if (controller.signal.aborted) return;
    throw error;
  } finally {
    // The signal also marks the end of the request, finished or not: per-request timers (the
    // operation deadline) are cleared by it rather than left to run out. A streamed body (SSE,
    // multipart, graphql-sse) is still being piped when sendNodeResponse returns: the 'close'
    // listener above fires the signal once it has ended, or once the client has gone. Firing it
    // now would end graphql-sse's streams (it stops a stream when its request's signal fires).
    if (res.writableEnded || !res.headersSent) controller.abort();
  }
}
