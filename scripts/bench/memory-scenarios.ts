// Memory scenarios of `npm run bench`: what a client can make the gateway hold. (a) A flood of
// large task responses, each under an operation name of its own, so that each is a new response
// cache entry; (b) creates whose image list is huge, so that the answer is a list of errors.
// Each runs against a gateway process of its own with default settings and reports its RSS.
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { SignedTaskIds } from '../../src/auth/task-ids.js';
import { AUTHORIZATION, ID_SECRET, post, startPair, TENANT } from './pair.js';
import type { Child } from './processes.js';

const MiB = 1024 * 1024;
const TASK_FIELDS = 'id status isTerminal progressPercent etaSeconds failureReason seed submittedAt completedAt videos { url format expiresAt }';
// The default alias limit (GRAPHQL_MAX_ALIASES) and the most ids tasks() takes.
const ALIASES = 15;
const IDS = 100;

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

/** Memory gauges from the gateway's own /metrics (prom-client defaults), in MiB. */
async function gatewayMemory(gateway: Child): Promise<{ heapUsedMiB: number; externalMiB: number }> {
  const { body } = await request(gateway.url.replace(/\/graphql$/, '/metrics'));
  const text = await body.text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / MiB;
  return { heapUsedMiB: round(gauge('gateway_nodejs_heap_size_used_bytes')), externalMiB: round(gauge('gateway_nodejs_external_memory_bytes')) };
}

async function responseCacheLookups(gateway: Child): Promise<{ hit: number; miss: number }> {
  const { body } = await request(gateway.url.replace(/\/graphql$/, '/metrics'));
  const text = await body.text();
  const count = (result: string) => Number(new RegExp(`gateway_cache_lookups_total\\{cache="response",result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { hit: count('hit'), miss: count('miss') };
}

/**
 * (a) `requests` queries of 15 aliases × tasks(ids) with one succeeded id repeated 100 times, each
 * under a new operation name, `concurrency` at a time. Before the response cache had a byte bound,
 * every answer (~650 KB) stayed cached for ~55 minutes.
 */
/**
 * `heapMiB`: run the gateway with V8's old space capped (--max-old-space-size), as in a small
 * container: with it, RSS shows what the gateway holds rather than garbage not yet collected.
 */
export async function cacheFlood(requests: number, concurrency: number, heapMiB?: number) {
  const { simulator, gateway } = await startPair(3_600_000, heapMiB === undefined ? {} : { NODE_OPTIONS: `--max-old-space-size=${heapMiB}` });
  const agent = new Agent({ connections: concurrency });
  try {
    const ids = Array<string>(IDS).fill(new SignedTaskIds(ID_SECRET).toPublic('demo-succeeded', { tenant: TENANT, user: null }));
    const aliases = Array.from({ length: ALIASES }, (_, i) => `a${i}: tasks(ids: $ids) { ${TASK_FIELDS} }`).join(' ');
    const bodyFor = (name: string) => JSON.stringify({ query: `query ${name}($ids: [ID!]!) { ${aliases} }`, variables: { ids }, operationName: name });

    // Warm-up (JIT, pools) under a name of its own; it also checks the shape is answered in full.
    const warm = await post(gateway.url, bodyFor('Warm'), AUTHORIZATION, agent);
    if (warm.status !== 200 || warm.head.includes('"errors"')) throw new Error(`cache flood: the query shape was refused: ${warm.head}`);
    await sleep(1000);
    const rssBeforeMiB = gateway.rssMiB();
    const memoryBefore = await gatewayMemory(gateway);
    const lookupsBefore = await responseCacheLookups(gateway);

    let next = 0;
    let responseBytes = 0;
    let non200 = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests) {
          const sent = await post(gateway.url, bodyFor(`Flood${next++}`), AUTHORIZATION, agent);
          responseBytes += sent.bytes;
          if (sent.status !== 200) non200++;
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    const rssAfterMiB = gateway.rssMiB();
    // Idle a while: memory the gateway still holds then is held by something, not in flight.
    await sleep(5000);
    const lookupsAfter = await responseCacheLookups(gateway);
    const memoryAfter = await gatewayMemory(gateway);
    return {
      requests,
      concurrency,
      requestBytes: Buffer.byteLength(bodyFor(`Flood${requests - 1}`)),
      responseBytesPerRequest: Math.round(responseBytes / requests),
      non200,
      elapsedMs: Math.round(elapsedMs),
      responseCacheHits: lookupsAfter.hit - lookupsBefore.hit,
      rssBeforeMiB: Math.round(rssBeforeMiB),
      rssAfterMiB: Math.round(rssAfterMiB),
      rssAfterIdle5sMiB: Math.round(gateway.rssMiB()),
      peakRssMiB: Math.round(gateway.peakRssMiB()),
      heapUsedBeforeMiB: memoryBefore.heapUsedMiB,
      heapUsedAfterIdleMiB: memoryAfter.heapUsedMiB,
      // Buffers (cached response bodies among them) live outside the JS heap.
      externalBeforeMiB: memoryBefore.externalMiB,
      externalAfterIdleMiB: memoryAfter.externalMiB,
    };
  } finally {
    await agent.close();
    await Promise.all([gateway.stop(), simulator.stop()]);
  }
}

const CREATE = `mutation Create($input: CreateReferenceVideoInput!) {
  createReferenceVideo(input: $input) { taskId userErrors { field message code } }
}`;

/**
 * (b) One create per entry of `imageCounts`, whose subject has that many images, each the string
 * "x" (4 bytes of JSON each: 250,000 is ~1 MB). An answer with an error per image would be many
 * times the request.
 */
export async function errorListCreates(imageCounts: readonly number[]) {
  const { simulator, gateway } = await startPair(3_600_000);
  const agent = new Agent({ connections: 1 });
  try {
    const results = [];
    for (const count of imageCounts) {
      const body = JSON.stringify({ query: CREATE, variables: { input: { prompt: '@1 waves', subjects: [{ id: '1', images: Array<string>(count).fill('x') }] } } });
      await sleep(500);
      const peakReset = gateway.resetPeakRss();
      const rssBeforeMiB = gateway.rssMiB();
      const started = performance.now();
      const outcome = await post(gateway.url, body, AUTHORIZATION, agent);
      results.push({
        images: count,
        requestMiB: round(Buffer.byteLength(body) / MiB, 2),
        status: outcome.status,
        responseBytes: outcome.bytes,
        wallMs: Math.round(performance.now() - started),
        rssBeforeMiB: Math.round(rssBeforeMiB),
        // Since the reset just before this request (or since start, where the reset is not possible).
        peakRssMiB: Math.round(gateway.peakRssMiB()),
        peakIsPerRequest: peakReset,
        answer: outcome.head.slice(0, 160),
      });
    }
    return results;
  } finally {
    await agent.close();
    await Promise.all([gateway.stop(), simulator.stop()]);
  }
}
