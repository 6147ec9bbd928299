// Requests that Node's HTTP parser refuses before any handler runs: a malformed request line or
// header, an invalid Content-Length, headers over Node's size limit, a request not received within
// HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS. Node's own answer to them has no body; this one
// has the same status with the JSON error body and code every other refusal carries. It cannot
// carry CORS headers or a request id: the request, Origin included, was never parsed.
import type { Duplex } from 'node:stream';

interface Answer {
  status: string;
  code: string;
  message: string;
}

/** Node's error codes that get a status other than 400 (the same statuses as Node's default answer). */
const ANSWERS: Readonly<Record<string, Answer>> = {
  HPE_HEADER_OVERFLOW: { status: '431 Request Header Fields Too Large', code: 'HEADERS_TOO_LARGE', message: 'The request headers are too large.' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: '413 Payload Too Large', code: 'PAYLOAD_TOO_LARGE', message: 'The chunk extensions of the request body are too large.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: '408 Request Timeout', code: 'REQUEST_TIMEOUT', message: 'The request was not received in time.' },
};
const MALFORMED: Answer = { status: '400 Bad Request', code: 'BAD_REQUEST', message: 'The request is not valid HTTP/1.1.' };

/**
 * Node's internal link from a socket to the response being written on it. Node's default handler
 * checks it too: once a response has begun, a second one written on the socket would corrupt it.
 */
interface HttpSocket extends Duplex {
  _httpMessage?: { headersSent?: boolean } | null;
}

/** The server's 'clientError' listener. Node leaves the socket to it, so it always ends up closed. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const responding = (socket as HttpSocket)._httpMessage?.headersSent === true;
  if (error.code === 'ECONNRESET' || !socket.writable || responding) {
    socket.destroy();
    return;
  }
  const answer = ANSWERS[error.code ?? ''] ?? MALFORMED;
  const body = JSON.stringify({ errors: [{ message: answer.message, extensions: { code: answer.code } }] });
  socket.end(
    `HTTP/1.1 ${answer.status}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
