// The response cache is bounded in bytes, not only in entries: a client picks how large a response
// is (aliases × ids) and makes every request a new entry (a new operation name). Unit tests of
// CachedResponses, then a flood over real HTTP against a gateway with a small byte bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedResponses, cachedResponseSize, type CachedResponse } from '../src/response-cache/cached-responses.js';
import { parse } from 'graphql';
import { createParseCaches } from '../src/plugins/parse-caches.js';
import { startStack, TASK_FIELDS, type Stack } from './support/stack.js';

const HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function response(bodyBytes: number): CachedResponse {
  return { body: Buffer.alloc(bodyBytes, 'x'), headers: HEADERS, operation: 'tasks' };
}

describe('CachedResponses', () => {
  it('counts an entry as its body, key and headers plus a small fixed overhead', () => {
    const size = cachedResponseSize('k'.repeat(43), response(10_000));
    expect(size).toBeGreaterThanOrEqual(10_000 + 43 + 'content-type'.length + HEADERS['content-type'].length);
    expect(size).toBeLessThan(10_000 + 1024);
  });

  it('evicts the least recently used entries once the byte bound is reached, whatever the entry bound', () => {
    const cache = new CachedResponses({ maxEntries: 10_000, maxBytes: 10_000, maxEntryBytes: 5_000 });
    for (let i = 0; i < 10; i++) expect(cache.set(`key-${i}`, response(2_000), 60_000)).toBe(true);
    expect(cache.bytes).toBeLessThanOrEqual(10_000);
    expect(cache.size).toBe(3);
    expect(cache.get('key-0')).toBeUndefined();
    expect(cache.get('key-6')).toBeUndefined();
    expect(cache.get('key-9')?.body.length).toBe(2_000);
  });

  it('does not keep a response larger than the entry bound, and keeps the others', () => {
    const cache = new CachedResponses({ maxEntries: 10_000, maxBytes: 100_000, maxEntryBytes: 5_000 });
    cache.set('small', response(1_000), 60_000);
    const before = cache.bytes;
    expect(cache.set('large', response(6_000), 60_000)).toBe(false);
    expect(cache.get('large')).toBeUndefined();
    expect(cache.get('small')).toBeDefined();
    expect(cache.bytes).toBe(before);
    // The capture plugin builds no Buffer for a body that could not be kept.
    expect(cache.maxBodyBytes).toBeLessThan(5_000);
    expect(cache.maxBodyBytes).toBeGreaterThan(4_000);
  });

  it('still bounds the number of entries, and keeps nothing without a lifetime', () => {
    const cache = new CachedResponses({ maxEntries: 2, maxBytes: 1_000_000, maxEntryBytes: 100_000 });
    for (const key of ['a', 'b', 'c']) cache.set(key, response(10), 60_000);
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.set('d', response(10), 0)).toBe(false);
    expect(cache.get('d')).toBeUndefined();
  });
});

describe('response cache under a flood of large, distinct responses (real HTTP)', () => {
  const MAX_BYTES = 200_000;
  const MAX_ENTRY_BYTES = 100_000;
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      env: { TASK_CACHE_MAX_ENTRIES: '10000', RESPONSE_CACHE_MAX_BYTES: String(MAX_BYTES), RESPONSE_CACHE_MAX_ENTRY_BYTES: String(MAX_ENTRY_BYTES) },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** 15 aliases (the default alias limit) of tasks(ids: $ids), under an operation name of its own. */
  function flood(name: string, repeats: number) {
    const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: tasks(ids: $ids) { ${TASK_FIELDS} }`).join('\n');
    return stack.graphql(`query ${name}($ids: [ID!]!) {\n${aliases}\n}`, { ids: Array(repeats).fill('demo-succeeded') });
  }

  async function responseCacheLookups(): Promise<{ hit: number; miss: number }> {
    const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
    const count = (result: string) => Number(new RegExp(`gateway_cache_lookups_total\\{cache="response",result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    return { hit: count('hit'), miss: count('miss') };
  }

  /** The response cache's entries and bytes, as /metrics reports them. */
  async function responseCache(): Promise<{ size: number; bytes: number }> {
    const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`${name}\\{cache="response"\\} (\\d+)`).exec(text)?.[1] ?? Number.NaN);
    return { size: gauge('gateway_cache_entries'), bytes: gauge('gateway_cache_bytes') };
  }

  it('keeps its byte total under the bound while a small repeated query is still answered from cache', async () => {
    const SMALL = 'query Small { task(id: "demo-succeeded") { id status } }';
    const first = await stack.graphql(SMALL);
    expect(first.body.data.task.status).toBe('SUCCEEDED');
    const start = await responseCacheLookups();

    let largeBytes = 0;
    const rounds = 16;
    for (let i = 0; i < rounds; i++) {
      // Even rounds: ~650 KB, over the entry bound (never kept). Odd rounds: ~65 KB, kept, so the
      // byte bound has to push older entries out.
      const { status, text, body } = await flood(`Flood${i}`, i % 2 === 0 ? 100 : 10);
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      if (i % 2 === 0) largeBytes = text.length;
      const cache = await responseCache();
      expect(cache.bytes).toBeGreaterThan(0);
      expect(cache.bytes).toBeLessThanOrEqual(MAX_BYTES);

      const small = await stack.graphql(SMALL);
      expect(small.text).toBe(first.text);
    }
    expect(largeBytes).toBeGreaterThan(MAX_ENTRY_BYTES * 5);

    const end = await responseCacheLookups();
    // Every repeat of the small query was a hit; every flood request a miss.
    expect(end.hit - start.hit).toBe(rounds);
    expect(end.miss - start.miss).toBe(rounds);
    // The kept flood responses pushed each other out: only a couple fit next to the small one.
    const cache = await responseCache();
    expect(cache.size).toBeLessThanOrEqual(4);
    expect(cache.bytes).toBeLessThanOrEqual(MAX_BYTES);
    // The task itself was read from the upstream once at most (the result cache holds it).
    expect(stack.simulator.stats().resultRequests).toBeLessThanOrEqual(1);
  });

  it('answers a repeated over-large response by executing it again, not from cache', async () => {
    const before = await responseCacheLookups();
    const a = await flood('Repeated', 100);
    const b = await flood('Repeated', 100);
    expect(b.text).toBe(a.text);
    const after = await responseCacheLookups();
    expect(after.hit - before.hit).toBe(0);
    expect(after.miss - before.miss).toBe(2);
  });
});

describe('parsed-document caches', () => {
  it('keep sane query texts, never a padded one, and stay bounded in bytes', () => {
    const { documentCache } = createParseCaches();
    const document = parse('{ __typename }');
    documentCache.set('{ __typename }', document);
    expect(documentCache.get('{ __typename }')).toBe(document);
    const padded = `{ __typename } #${'x'.repeat(5 * 1024 * 1024)}`;
    documentCache.set(padded, document);
    expect(documentCache.get(padded)).toBeUndefined();
    // 16 KiB texts at ~32 bytes a character: the 32 MiB bound holds about 60 of them, not 1024.
    const texts = Array.from({ length: 1024 }, (_, i) => `{ __typename } #${String(i).padStart(16 * 1024 - 20, '0')}`);
    for (const text of texts) documentCache.set(text, document);
    const kept = texts.filter((text) => documentCache.get(text) !== undefined).length;
    expect(kept).toBeGreaterThan(10);
    expect(kept).toBeLessThan(100);
  });
});
