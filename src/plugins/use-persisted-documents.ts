// Persisted operations (trusted documents): with a manifest (PERSISTED_DOCUMENTS_FILE), a client
// names an operation by its id and the gateway runs the manifest's text for it; unless
// PERSISTED_DOCUMENTS_ALLOW_ARBITRARY is true, operations sent as text are refused. The id may come
// the way each client sends it: `documentId` (GraphQL-over-HTTP, urql, codegen), `doc_id` (Relay)
// or `extensions.persistedQuery.sha256Hash` (Apollo's persisted-query link), in a POST body or in
// a GET query string.
//
// Three paths, one rule:
// - HTTP: Yoga's persisted-operations plugin, in onParams (after the HTTP layer's parsed body, and
//   before anything reads the query). A step before it puts the id in one place and lets a known
//   id win over any text sent with it, so the document run is always the manifest's.
// - graphql-ws: Yoga's onParams does not run there (operations go through yoga.getEnveloped), so
//   graphql-ws.ts calls `resolve` before it parses anything.
// - Any other path that reaches envelop without either (a plugin with its own handler): in
//   trusted-only mode a parse of any text that is not a manifest document is refused.
//
// The response cache (http/graphql-request-handler.ts) answers repeats before Yoga runs. That
// never serves an operation the manifest refuses: its key is the exact body (and the tenant), the
// manifest's verdict depends on the body alone, the manifest is fixed for the life of the process
// and the cache is that process's memory, and an entry is only ever written for a request that
// Yoga ran, i.e. one this rule accepted.
import type { GraphQLError } from 'graphql';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { PersistedDocuments } from '../persisted-documents.js';

export interface TrustedDocuments {
  documents: PersistedDocuments;
  /** PERSISTED_DOCUMENTS_ALLOW_ARBITRARY: operations sent as text run too. */
  allowArbitrary: boolean;
}

const ID_FIELDS = 'documentId, doc_id or extensions.persistedQuery.sha256Hash';

/** The id in an unknown place is not worth a lookup: ids are short (see persisted-documents.ts). */
const MAX_ID_LENGTH = 200;

function http(status: number, onHttp: boolean) {
  return onHttp ? { http: { status } } : {};
}

/** Refusals, `onHttp: false` for the WebSocket path, where an HTTP status means nothing. */
export const persistedDocumentErrors = {
  /** Apollo's persisted-query link knows this code: with text allowed it resends the query. */
  notFound: (onHttp = true): GraphQLError =>
    createGraphQLError('No persisted document has this id: it is not in the manifest this gateway was started with.', {
      extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', ...http(404, onHttp) },
    }),
  textNotAllowed: (onHttp = true): GraphQLError =>
    createGraphQLError(`This gateway runs only persisted operations: send the document's id (${ID_FIELDS}) instead of its text.`, {
      extensions: { code: 'PERSISTED_QUERY_ONLY', ...http(400, onHttp) },
    }),
  missing: (allowArbitrary: boolean, onHttp = true): GraphQLError =>
    createGraphQLError(`Send ${allowArbitrary ? 'a query, or ' : ''}a persisted document id (${ID_FIELDS}).`, {
      extensions: { code: 'BAD_REQUEST', ...http(400, onHttp) },
    }),
  /** Without a manifest: Apollo's persisted-query link stops sending bare hashes and sends the query. */
  notSupported: (): GraphQLError =>
    createGraphQLError(`This gateway has no persisted documents (PERSISTED_DOCUMENTS_FILE is not set): send the query.`, {
      extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED', http: { status: 400 } },
    }),
};

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= MAX_ID_LENGTH ? value : undefined;
}

/**
 * The id a request names its document by: `documentId`, Relay's `doc_id`, or Apollo's
 * `extensions.persistedQuery` (version 1) `sha256Hash`; in the body, or for GET in the query string
 * (`search`), where Yoga's own parser keeps only query, variables, operationName and extensions.
 */
export function persistedDocumentId(params: Readonly<Record<string, unknown>>, search?: URLSearchParams): string | undefined {
  const persistedQuery = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | null | undefined)?.persistedQuery;
  return (
    stringOf(params.documentId) ??
    stringOf(params.doc_id) ??
    stringOf(search?.get('documentId')) ??
    stringOf(search?.get('doc_id')) ??
    (persistedQuery?.version === 1 ? stringOf(persistedQuery.sha256Hash) : undefined)
  );
}

/** The GraphQL parameters to run, or the refusal, for a request in the WebSocket's shape. */
export type Resolution<P> = { ok: true; params: P } | { ok: false; error: GraphQLError };

/**
 * The rule for paths that Yoga's onParams does not see (graphql-ws): a known id runs the manifest's
 * document; text runs only when allowed; an unknown id or nothing at all is refused.
 */
export function resolvePersistedOperation<P extends { query?: unknown }>(trusted: TrustedDocuments, params: P): Resolution<P & { query: string }> {
  const id = persistedDocumentId(params as Readonly<Record<string, unknown>>);
  const document = id === undefined ? undefined : trusted.documents.lookup(id);
  if (document !== undefined) return { ok: true, params: { ...params, query: document } };
  if (typeof params.query === 'string' && params.query !== '') {
    return trusted.allowArbitrary ? { ok: true, params: params as P & { query: string } } : { ok: false, error: persistedDocumentErrors.textNotAllowed(false) };
  }
  return { ok: false, error: id === undefined ? persistedDocumentErrors.missing(trusted.allowArbitrary, false) : persistedDocumentErrors.notFound(false) };
}

function searchOf(request: Request): URLSearchParams | undefined {
  if (request.method !== 'GET') return undefined;
  const at = request.url.indexOf('?');
  return at < 0 ? undefined : new URLSearchParams(request.url.slice(at + 1));
}

/** Where the normalising step leaves the id for Yoga's plugin. */
const NORMALISED_ID = 'documentId';

/**
 * Puts the id where Yoga's plugin reads it and drops the fields it came in (Yoga refuses unknown
 * body fields). A known id wins over any text sent with it (Apollo's link over WebSocket and
 * clients that send both): the text that runs is the manifest's, never the client's.
 */
function useNormalisedDocumentId(documents: PersistedDocuments): Plugin {
  return {
    onParams({ params, request, setParams }) {
      const id = persistedDocumentId(params as unknown as Readonly<Record<string, unknown>>, searchOf(request));
      const { documentId: documentIdField, doc_id: docIdField, ...rest } = params as GraphQLParams & { documentId?: unknown; doc_id?: unknown };
      if (id === undefined) {
        if (documentIdField !== undefined || docIdField !== undefined) setParams(rest);
        return;
      }
      const known = documents.lookup(id) !== undefined;
      if (known || typeof rest.query !== 'string' || rest.query === '') {
        const { query: _query, ...withoutQuery } = rest;
        setParams({ ...withoutQuery, [NORMALISED_ID]: id } as GraphQLParams);
      } else {
        setParams(rest);
      }
    },
  };
}

/** In trusted-only mode, the last line: nothing but a manifest document is ever parsed. */
function useOnlyManifestDocumentsParsed(documents: PersistedDocuments): Plugin {
  return {
    onParse({ params }) {
      const text = typeof params.source === 'string' ? params.source : params.source.body;
      if (!documents.holdsText(text)) throw persistedDocumentErrors.textNotAllowed();
    },
  };
}

/** Without a manifest: a request that names an id and sends no text gets a code clients act on. */
function usePersistedDocumentsNotSupported(): Plugin {
  return {
    onParams({ params, request }) {
      if (typeof params.query === 'string' && params.query !== '') return;
      if (persistedDocumentId(params as unknown as Readonly<Record<string, unknown>>, searchOf(request)) !== undefined) {
        throw persistedDocumentErrors.notSupported();
      }
    },
  };
}

/** The plugins for Yoga, in order; `undefined`: no manifest is configured. */
export function usePersistedDocuments(trusted: TrustedDocuments | undefined): Plugin[] {
  if (trusted === undefined) return [usePersistedDocumentsNotSupported()];
  const { documents, allowArbitrary } = trusted;
  return [
    useNormalisedDocumentId(documents),
    usePersistedOperations({
      getPersistedOperation: (id) => documents.lookup(id) ?? null,
      extractPersistedOperationId: (params) => stringOf((params as unknown as Record<string, unknown>)[NORMALISED_ID]) ?? null,
      allowArbitraryOperations: allowArbitrary,
      customErrors: {
        notFound: () => persistedDocumentErrors.notFound(),
        persistedQueryOnly: () => persistedDocumentErrors.textNotAllowed(),
        keyNotFound: () => persistedDocumentErrors.missing(allowArbitrary),
      },
    }) as Plugin,
    ...(allowArbitrary ? [] : [useOnlyManifestDocumentsParsed(documents)]),
  ];
}
