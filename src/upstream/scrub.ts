// Removes secrets (the upstream API key) from text the gateway keeps or writes: error `detail`s,
// body excerpts, and, through the logger, every log line. A misbehaving proxy can echo our
// Authorization header back in a body, so nothing that came from the wire is trusted to be clean.

const REDACTED = '[redacted]';

/** The forms a secret takes in text we handle: as is, inside a JSON string, and URL-encoded. */
function spellings(secret: string): string[] {
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class SecretScrubber {
  /** Undefined when there is nothing to hide: scrubbing is then the identity. */
  readonly #pattern: RegExp | undefined;

  constructor(secrets: readonly (string | undefined)[]) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      // An empty string would "match" everywhere and protects nothing.
      if (secret === undefined || secret === '') continue;
      for (const form of spellings(secret)) forms.add(form);
    }
    // Longest first, so a form that contains another is replaced whole.
    const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.#pattern = alternatives.length === 0 ? undefined : new RegExp(alternatives.join('|'), 'g');
  }

  scrub(text: string): string {
    return this.#pattern === undefined ? text : text.replace(this.#pattern, REDACTED);
  }

  /**
   * The first `maxChars` characters of `text`, secrets removed. Scrubbed before it is cut: cutting
   * first could leave the start of a secret that no longer matches the whole.
   */
  excerpt(text: string, maxChars: number): string {
    return this.scrub(text).slice(0, maxChars);
  }
}
