// The trusted-documents manifest: the operations a production frontend was built with, as
// graphql-codegen's client preset writes them with `persistedDocuments: true`
// (persisted-documents.json: `{ "sha256:<hex>": "<document text>" }`). Parsed and checked once at
// start-up (config.ts reads PERSISTED_DOCUMENTS_FILE); looked up by id on every request.
import { parse, Kind } from 'graphql';

export type ParsedPersistedDocuments = { ok: true; documents: Record<string, string> } | { ok: false; problem: string };

// Ids as the GraphQL-over-HTTP persisted-documents appendix spells them: `sha256:<hex>`, `x-…:…`
// or a custom id of unreserved characters (Relay's md5, codegen's sha1). Bounded, so an id is
// never a document in disguise.
const DOCUMENT_ID = /^[A-Za-z0-9._~:-]{1,200}$/;
const SHA256_PREFIX = 'sha256:';
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A JSON object of id → document text, at least one entry, every document a GraphQL document of
 * operations and fragments only. Problems name the entry by position, never its text.
 */
export function parsePersistedDocuments(text: string): ParsedPersistedDocuments {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'is not valid JSON' };
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    return { ok: false, problem: 'must hold a JSON object of document id → document text (graphql-codegen persisted-documents.json)' };
  }
  const entries = Object.entries(manifest);
  if (entries.length === 0) return { ok: false, problem: 'holds no documents' };
  for (const [index, [id, document]] of entries.entries()) {
    const where = `entry ${index + 1}`;
    if (!DOCUMENT_ID.test(id)) return { ok: false, problem: `${where}: the id must be 1-200 letters, digits or . _ ~ : -` };
    if (typeof document !== 'string') return { ok: false, problem: `${where}: the document must be a string` };
    try {
      const parsed = parse(document, { noLocation: true });
      if (!parsed.definitions.every((d) => d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION)) {
        return { ok: false, problem: `${where}: the document may hold only operations and fragments` };
      }
      if (!parsed.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)) {
        return { ok: false, problem: `${where}: the document holds no operation` };
      }
    } catch {
      return { ok: false, problem: `${where}: the document is not valid GraphQL` };
    }
  }
  return { ok: true, documents: manifest as Record<string, string> };
}

/**
 * The documents by id. A `sha256:<hex>` id is also found by its bare hex, which is what Apollo's
 * persisted-query extension (`extensions.persistedQuery.sha256Hash`) carries, and a bare 64-hex id
 * by its `sha256:` form.
 */
export class PersistedDocuments {
  readonly #byId: ReadonlyMap<string, string>;
  readonly #texts: ReadonlySet<string>;

  constructor(documents: Readonly<Record<string, string>>) {
    this.#byId = new Map(Object.entries(documents));
    this.#texts = new Set(this.#byId.values());
  }

  /** Whether this exact text is one of the manifest's documents. */
  holdsText(text: string): boolean {
    return this.#texts.has(text);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** The document text for an id, or undefined when the manifest does not hold it. */
  lookup(id: string): string | undefined {
    const exact = this.#byId.get(id);
    if (exact !== undefined) return exact;
    if (id.startsWith(SHA256_PREFIX)) {
      const hex = id.slice(SHA256_PREFIX.length);
      return SHA256_HEX.test(hex) ? this.#byId.get(hex) : undefined;
    }
    return SHA256_HEX.test(id) ? this.#byId.get(`${SHA256_PREFIX}${id}`) : undefined;
  }
}
