// The JSON body of a GraphQL POST, parsed once by the HTTP layer (which already holds the bytes)
// and handed to Yoga as parameters, so Yoga never copies or re-reads the body. A parse failure
// says only that the JSON is invalid: the parser's own message quotes the body, and error answers
// never echo what the client sent.

export type JsonBody = { ok: true; value: object } | { ok: false; message: string };

/** `application/json`, `application/graphql+json` and `application/graphql-response+json` bodies. */
export function isJsonContentType(contentType: string | undefined): boolean {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || mediaType === 'application/graphql+json';
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
