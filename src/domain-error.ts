// A refusal or failure meant for the client, raised by domain code (create flow, task reads, live
// updates) in its own terms: a stable code, a safe message and a few extra fields. Domain code
// never builds GraphQL errors; the one masking function at the GraphQL edge (schema/errors.ts)
// turns these into `extensions.code`, as it does for upstream errors.

export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly code: string;
  /** `code` and the extra fields, as the client will see them in `extensions`. */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extensions = { code, ...extra };
  }
}
