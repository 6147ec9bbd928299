// Uploads, per the GraphQL multipart request spec (https://github.com/jaydenseric/graphql-multipart-request-spec):
// a multipart/form-data POST with an `operations` field (the usual JSON body), a `map` field
// (which variables each file goes to) and the files. Parsed here, streaming, under limits on each
// file, the number of files, and each field's size: a request over a limit is refused the moment
// the limit is crossed (413 or 400, with a code), never buffered past it. The result is the
// operation with each file (a WHATWG File) placed in its variable, handed to Yoga already parsed,
// like a JSON body.
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';

export interface MultipartLimits {
  /** One file, in bytes. */
  maxFileBytes: number;
  maxFiles: number;
  /** The `operations` and `map` fields, each, in bytes. */
  maxFieldBytes: number;
  /** The whole body, in bytes. */
  maxBodyBytes: number;
}

export type MultipartRead =
  | { kind: 'ok'; operation: Record<string, unknown> }
  | { kind: 'refused'; status: 400 | 413; code: string; message: string }
  | { kind: 'aborted' };

/** Fields besides operations and map: none are defined, a few are tolerated. */
const MAX_FIELDS = 4;
/** Room for the fields' part headers and boundaries, besides their values. */
const FIELD_HEADERS_ALLOWANCE = 64 * 1024;
/** Variable paths are short: `variables.input.subjects.6.imageFiles.2`. */
const MAX_PATH_SEGMENTS = 16;
const UNSAFE_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

function refused(status: 400 | 413, code: string, message: string): MultipartRead {
  return { kind: 'refused', status, code, message };
}

/** Places `file` at `path` (`variables.a.0.b`) in the operation, where the client put null. */
function place(operation: Record<string, unknown>, path: string, file: File): string | undefined {
  const segments = path.split('.');
  if (segments[0] !== 'variables' || segments.length < 2 || segments.length > MAX_PATH_SEGMENTS) return `map path "${path.slice(0, 80)}" must start with "variables."`;
  let container: unknown = operation;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    if (UNSAFE_SEGMENTS.has(segment)) return `map path "${path.slice(0, 80)}" is not allowed`;
    container = (container as Record<string, unknown> | null)?.[segment];
    if (typeof container !== 'object' || container === null) return `map path "${path.slice(0, 80)}" names no place in the operation's variables`;
  }
  const last = segments[segments.length - 1]!;
  if (UNSAFE_SEGMENTS.has(last) || !Object.hasOwn(container as object, last) || (container as Record<string, unknown>)[last] !== null) {
    return `map path "${path.slice(0, 80)}" must name a variable the operation sets to null`;
  }
  (container as Record<string, unknown>)[last] = file;
  return undefined;
}

export function readMultipartOperation(req: IncomingMessage, limits: MultipartLimits): Promise<MultipartRead> {
  return new Promise((resolve) => {
    let settled = false;
    let operations: Record<string, unknown> | undefined;
    let map: Record<string, unknown> | undefined;
    const files = new Map<string, File>();
    const pending: Promise<void>[] = [];
    let received = 0;
    let filesStarted = false;
    // busboy tells of a field over its limit only at the field's end; until the first file, the
    // body holds only fields, so more bytes than all of them may hold means one is over its limit.
    const fieldsAtMost = (MAX_FIELDS + 2) * limits.maxFieldBytes + FIELD_HEADERS_ALLOWANCE;

    let parser: busboy.Busboy;
    try {
      // busboy reports a file or field as over its limit once it holds exactly that many bytes, so a
      // file of exactly maxFileBytes would be refused: it is given one byte more, and a part that
      // reaches it is over our limit.
      parser = busboy({
        headers: req.headers,
        limits: {
          fileSize: limits.maxFileBytes + 1,
          files: limits.maxFiles,
          fieldSize: limits.maxFieldBytes + 1,
          fields: MAX_FIELDS + 2,
          parts: limits.maxFiles + MAX_FIELDS + 2,
        },
      });
    } catch {
      return resolve(refused(400, 'BAD_REQUEST', 'A multipart request needs a Content-Type with a boundary.'));
    }

    const finish = (result: MultipartRead) => {
      if (settled) return;
      settled = true;
      if (result.kind !== 'ok') {
        // Stop parsing: what is left of the body is never buffered. It is read and thrown away, up
        // to the body limit, so a client still sending gets the answer rather than a reset
        // connection (past the limit the connection is cut: see the 'data' listener).
        req.unpipe(parser);
        req.resume();
      }
      resolve(result);
    };

    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (settled) {
        if (received > limits.maxBodyBytes) req.destroy();
        return;
      }
      if (received > limits.maxBodyBytes) finish(refused(413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${limits.maxBodyBytes} bytes.`));
      else if (!filesStarted && received > fieldsAtMost) {
        finish(refused(413, 'FIELD_TOO_LARGE', `A multipart field is larger than ${limits.maxFieldBytes} bytes.`));
      }
    });
    req.on('aborted', () => finish({ kind: 'aborted' }));

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        return finish(refused(413, 'FIELD_TOO_LARGE', `The multipart field "${name.slice(0, 40)}" is larger than ${limits.maxFieldBytes} bytes.`));
      }
      if (name !== 'operations' && name !== 'map') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return finish(refused(400, 'BAD_REQUEST', `The multipart field "${name}" must be valid JSON.`));
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return finish(refused(400, 'BAD_REQUEST', `The multipart field "${name}" must be a JSON object (batched operations are not supported).`));
      }
      if (name === 'operations') operations = parsed as Record<string, unknown>;
      else map = parsed as Record<string, unknown>;
    });
    parser.on('file', (name, stream, info) => {
      filesStarted = true;
      if (operations === undefined || map === undefined) {
        stream.resume();
        return finish(refused(400, 'BAD_REQUEST', 'The multipart fields "operations" and "map" must come before the files.'));
      }
      const chunks: Buffer[] = [];
      pending.push(
        new Promise<void>((done) => {
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('limit', () => {
            finish(refused(413, 'UPLOAD_TOO_LARGE', `The file "${name.slice(0, 40)}" is larger than ${limits.maxFileBytes} bytes.`));
            done();
          });
          stream.on('end', () => {
            files.set(name, new File([Buffer.concat(chunks)], info.filename ?? name, { type: info.mimeType }));
            done();
          });
          stream.on('error', () => done());
        }),
      );
    });
    parser.on('filesLimit', () => finish(refused(413, 'TOO_MANY_FILES', `A request may carry at most ${limits.maxFiles} files.`)));
    parser.on('fieldsLimit', () => finish(refused(400, 'BAD_REQUEST', 'The request has more multipart fields than operations, map and the files.')));
    parser.on('partsLimit', () => finish(refused(413, 'TOO_MANY_FILES', `A request may carry at most ${limits.maxFiles} files.`)));
    parser.on('error', () => finish(refused(400, 'BAD_REQUEST', 'The multipart body is malformed.')));
    parser.on('close', () => {
      void Promise.all(pending).then(() => {
        if (settled) return;
        if (operations === undefined) return finish(refused(400, 'BAD_REQUEST', 'A multipart request needs an "operations" field.'));
        for (const [fileKey, paths] of Object.entries(map ?? {})) {
          const file = files.get(fileKey);
          if (file === undefined) return finish(refused(400, 'BAD_REQUEST', `The map names a file "${fileKey.slice(0, 40)}" the request does not carry.`));
          if (!Array.isArray(paths)) return finish(refused(400, 'BAD_REQUEST', `The map entry "${fileKey.slice(0, 40)}" must be a list of paths.`));
          for (const path of paths) {
            const problem = typeof path === 'string' ? place(operations, path, file) : 'map paths must be strings';
            if (problem !== undefined) return finish(refused(400, 'BAD_REQUEST', `${problem}.`));
          }
        }
        finish({ kind: 'ok', operation: operations });
      });
    });
    req.pipe(parser);
  });
}
