// The JSON body of a GraphQL POST, parsed once by the HTTP layer (which already holds the bytes)
// and handed to Yoga as parameters, so Yoga never copies or re-reads the body. A parse failure
// says only that the JSON is invalid: the parser's own message quotes the body, and error answers
// never echo what the client sent.

export type JsonBody = { ok: true; value: object } | { ok: false; message: string };

/** `application/json`, `application/graphql+json` and `application/graphql-response+json` bodies. */
/** A GraphQL multipart request (uploads). */
export function isMultipart(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase() === 'multipart/form-data';
}

export function isJsonContentType(contentType: string | undefined): boolean {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || mediaType === 'application/graphql+json';
}

const STRUCTURAL_BYTES = [0x2c, 0x3a, 0x5b, 0x7b]; // , : [ {

/**
 * Whether the body holds more than `max` JSON separators and openers, counted on the bytes before
 * parsing. JSON.parse takes time in proportion to the values it builds, not the bytes: 25 MB of
 * nested objects or tiny list items blocks the event loop for seconds, while 25 MB of base64 images
 * parses quickly. Each count is a native byte search, and the walk stops once past `max`.
 */
export function exceedsJsonValues(body: Buffer, max: number): boolean {
  let count = 0;
  for (const byte of STRUCTURAL_BYTES) {
    for (let at = body.indexOf(byte); at !== -1; at = body.indexOf(byte, at + 1)) {
      if (++count > max) return true;
    }
  }
  return false;
}

export function parseJsonBody(body: Buffer): JsonBody {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, message: 'The request body is not valid JSON.' };
  }
  if (value === null || typeof value !== 'object') {
    return { ok: false, message: 'The request body must be a JSON object with a "query".' };
  }
  return { ok: true, value };
}
