// Keeps the finished response of a successful task query, for the HTTP layer to answer repeats
// with (see http/graphql-request-handler.ts). Only queries without errors that read at least one
// task, only for as long as the staleest task in them may be served, and only when the body fits
// the cache's per-entry bound.
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { CachedResponses, ResponseCacheSlot } from './cached-responses.js';
import { operationLabel } from '../metrics.js';
import { rootFieldsOf } from '../plugins/use-operation-metrics.js';
import type { ResponseLifetime } from './response-lifetime.js';

/** What this plugin reads of the operation's context: how long its answer may be reused. */
interface LifetimeContext {
  responseLifetime?: ResponseLifetime;
}

interface SlotContext {
  responseCacheSlot?: ResponseCacheSlot;
}

// Headers that belong to one response, not to a reused one.
const PER_RESPONSE_HEADERS = new Set(['date', 'content-length', 'connection', 'keep-alive', 'transfer-encoding']);

export function useResponseCapture(responses: CachedResponses): Plugin {
  return {
    onExecute({ args }) {
      const context = args.contextValue as LifetimeContext & SlotContext;
      const slot = context.responseCacheSlot;
      if (!slot || getOperationAST(args.document, args.operationName)?.operation !== 'query') return undefined;
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result || result.errors?.length) return;
          const ttlMs = context.responseLifetime?.remainingMs() ?? 0;
          if (ttlMs <= 0) return;
          slot.result = result;
          slot.ttlMs = ttlMs;
          slot.operation = operationLabel(rootFieldsOf(args.document, args.operationName));
        },
      };
    },
    onResponse({ response, serverContext }) {
      const slot = (serverContext as SlotContext).responseCacheSlot;
      if (!slot?.result || slot.ttlMs === undefined || response.status !== 200) return;
      // Only a single JSON result is replayed: never an event stream or a multipart answer.
      if (!/^application\/(graphql-response\+)?json/.test(response.headers.get('content-type') ?? '')) return;
      // Yoga has already measured its body: one too large to keep is not serialised a second time.
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > responses.maxBodyBytes) return;
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        if (!PER_RESPONSE_HEADERS.has(name)) headers[name] = value;
      });
      const json = JSON.stringify(slot.result);
      // A UTF-16 length is at most the UTF-8 byte count: an over-long string is dropped before any
      // byte is copied, and only a body that can be kept is turned into a Buffer.
      if (json.length > responses.maxBodyBytes) return;
      const bytes = Buffer.byteLength(json);
      if (bytes > responses.maxBodyBytes) return;
      // Its own allocation, not a slice of Node's shared 8 KiB pool: a small cached body would
      // otherwise keep a whole pool slab alive for as long as it is cached.
      const body = Buffer.allocUnsafeSlow(bytes);
      body.write(json, 'utf8');
      responses.set(slot.key, { body, headers, operation: slot.operation ?? 'other' }, slot.ttlMs);
    },
  };
}
