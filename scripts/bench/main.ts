// npm run bench: gateway vs the same read sent straight to the simulator vs a bare Yoga floor, the
// coalescing of a burst of reads, 1,000 SSE subscribers on one task, and what a client can make the
// gateway hold in memory (memory-scenarios.ts), what big request bodies cost (body-scenarios.ts), and
// myTasks over a long history and stored-video serving (history-scenarios.ts).
// Loopback only; prints tables and writes bench/results.json (BENCH_ONLY=memory: the memory scenarios
// alone, to bench/results-memory.json; BENCH_ONLY=bodies: the big-body scenarios alone, to
// bench/results-bodies.json; BENCH_ONLY=history: the history scenarios alone, to
// bench/results-history.json). Not part of npm test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { SignedTaskIds } from '../../src/auth/task-ids.js';
import { pingRedis } from '../../src/redis-connection.js';
import { bigBodies } from './body-scenarios.js';
import { historyScenarios } from './history-scenarios.js';
import { cacheFlood, errorListCreates } from './memory-scenarios.js';
import { AUTHORIZATION, ID_SECRET, resetSimulatorStats, SIM_KEY, simulatorStats, startGatewayChild, startPair, startSimulatorChild, URL_IN_LOG } from './pair.js';
import { startChild, type Child } from './processes.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
// BENCH_ONLY=memory runs the memory scenarios alone (a minute or two, instead of several).
const ONLY_MEMORY = process.env.BENCH_ONLY === 'memory';
// BENCH_ONLY=bodies runs the big-body scenarios alone (about a minute).
const ONLY_BODIES = process.env.BENCH_ONLY === 'bodies';
// BENCH_ONLY=history runs the history scenarios alone (under two minutes).
const ONLY_HISTORY = process.env.BENCH_ONLY === 'history';
const ONLY_ONE = ONLY_MEMORY || ONLY_BODIES || ONLY_HISTORY;
const QUERY = 'query Read($id: ID!) { task(id: $id) { id status progressPercent etaSeconds videos { url expiresAt } } }';

interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

async function load(name: string, options: autocannon.Options): Promise<LoadResult> {
  // A short warm-up first (JIT, connection pools, caches), then the measured run.
  await autocannon({ ...options, duration: 2, connections: CONNECTIONS });
  const result = await autocannon({ ...options, duration: DURATION_S, connections: CONNECTIONS });
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

function graphqlLoad(url: string, id: string, headers: Record<string, string> = AUTHORIZATION): autocannon.Options {
  return {
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: QUERY, variables: { id }, operationName: 'Read' }),
  };
}

async function createTask(gatewayUrl: string): Promise<string> {
  const { body } = await request(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...AUTHORIZATION },
    body: JSON.stringify({
      query: 'mutation($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { message } } }',
      variables: { input: { prompt: '@1 runs a benchmark', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] } },
    }),
  });
  const json = (await body.json()) as { data: { createReferenceVideo: { taskId: string } } };
  return json.data.createReferenceVideo.taskId;
}

async function throughput() {
  const { simulator, gateway } = await startPair(3_600_000);
  const floor = await startChild('scripts/bench/floor-server.ts', {}, URL_IN_LOG);
  try {
    const pendingId = await createTask(gateway.url);
    const terminalId = 'demo-succeeded';
    const ids = new SignedTaskIds(ID_SECRET);
    const terminalPublicId = ids.toPublic(terminalId, { tenant: 'bench', user: null });
    const pendingUpstreamId = ids.toUpstream(pendingId, { tenant: 'bench', user: null })!;
    const direct = (id: string): autocannon.Options => ({
      url: `${simulator.url}/v3/async/task-result?task_id=${encodeURIComponent(id)}`,
      headers: { authorization: `Bearer ${SIM_KEY}` },
    });
    const results = [
      await load('floor: bare Yoga, constant', graphqlLoad(floor.url, 'floor-task', {})),
      await load('direct: simulator GET, pending', direct(pendingUpstreamId)),
      await load('direct: simulator GET, terminal', direct(terminalId)),
      await load('gateway: task query, pending', graphqlLoad(gateway.url, pendingId)),
      await load('gateway: task query, terminal', graphqlLoad(gateway.url, terminalPublicId)),
    ];
    return { results, gatewayPeakRssMiB: gateway.peakRssMiB() };
  } finally {
    await Promise.all([gateway.stop(), simulator.stop(), floor.stop()]);
  }
}

async function burstOfReads(count: number) {
  const { simulator, gateway } = await startPair(3_600_000);
  const agent = new Agent({ connections: count });
  try {
    const id = await createTask(gateway.url);
    await resetSimulatorStats(simulator.url);
    const body = JSON.stringify({ query: QUERY, variables: { id } });
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: count }, async () => {
        const response = await request(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTHORIZATION }, body, dispatcher: agent });
        await response.body.dump();
        return response.statusCode;
      }),
    );
    const elapsedMs = performance.now() - started;
    const { resultRequests } = await simulatorStats(simulator.url);
    return {
      clientRequests: count,
      ok: statuses.filter((s) => s === 200).length,
      upstreamCalls: resultRequests,
      upstreamPerClientRequest: resultRequests / count,
      elapsedMs: Math.round(elapsedMs),
    };
  } finally {
    await agent.close();
    await Promise.all([gateway.stop(), simulator.stop()]);
  }
}

async function sseSubscribers(count: number, taskDurationMs: number) {
  const { simulator, gateway } = await startPair(taskDurationMs);
  try {
    const result = await followWithSubscribers(simulator, [gateway], count);
    return { ...result, gatewayPeakRssMiB: Math.round(gateway.peakRssMiB()) };
  } finally {
    await Promise.all([gateway.stop(), simulator.stop()]);
  }
}

/** `count` SSE subscribers, spread over the gateways, follow one new task until it completes. */
async function followWithSubscribers(simulator: Child, gateways: Child[], count: number) {
  const agent = new Agent({ connections: count + 10, bodyTimeout: 0 });
  try {
    const id = await createTask(gateways[0]!.url);
    await resetSimulatorStats(simulator.url);
    const started = performance.now();
    const body = JSON.stringify({ query: 'subscription($id: ID!) { taskUpdates(id: $id) { status progressPercent } }', variables: { id } });
    const outcomes = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const response = await request(gateways[i % gateways.length]!.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...AUTHORIZATION },
          body,
          dispatcher: agent,
        });
        let text = '';
        for await (const chunk of response.body) text += String(chunk);
        return { events: (text.match(/event: next/g) ?? []).length, completed: text.includes('event: complete'), succeeded: text.includes('SUCCEEDED') };
      }),
    );
    const elapsedMs = performance.now() - started;
    const { resultRequests } = await simulatorStats(simulator.url);
    // The poller's shortest interval is 1 s by default: more calls than seconds would mean more than one poller.
    const intervals = elapsedMs / 1000;
    return {
      subscribers: count,
      completed: outcomes.filter((o) => o.completed && o.succeeded).length,
      eventsPerSubscriber: Math.round(outcomes.reduce((sum, o) => sum + o.events, 0) / count),
      durationMs: Math.round(elapsedMs),
      upstreamCalls: resultRequests,
      upstreamCallsPerSecond: Number((resultRequests / intervals).toFixed(2)),
    };
  } finally {
    await agent.close();
  }
}

/** 3 replicas on one Redis: subscribers over all three, and task reads of 3 replicas against 1. */
async function replicas(redisUrl: string, taskDurationMs: number) {
  const simulator = await startSimulatorChild(taskDurationMs);
  const env = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `vgw-bench-${Date.now()}:` };
  const gateways = await Promise.all([0, 1, 2].map(() => startGatewayChild(simulator.url, env)));
  try {
    const live = await followWithSubscribers(simulator, gateways, 1000);
    const id = await createTask(gateways[0]!.url);
    const one = await load('1 replica: task query, pending', graphqlLoad(gateways[0]!.url, id));
    // Three load generators at once, one per replica, sharing the same connection budget.
    const perReplica = await Promise.all(
      gateways.map((gateway, i) =>
        autocannon({ ...graphqlLoad(gateway.url, id), duration: DURATION_S, connections: Math.ceil(CONNECTIONS / 3) }).then((r) => ({
          name: `replica ${i + 1}`,
          requestsPerSecond: Math.round(r.requests.average),
        })),
      ),
    );
    const three = perReplica.reduce((sum, r) => sum + r.requestsPerSecond, 0);
    const { resultRequests } = await simulatorStats(simulator.url);
    return {
      live: { ...live, peakRssMiBPerReplica: gateways.map((gateway) => Math.round(gateway.peakRssMiB())) },
      reads: { oneReplicaRequestsPerSecond: one.requestsPerSecond, threeReplicasRequestsPerSecond: three, threeOverOne: ratio(three, one.requestsPerSecond), upstreamCallsDuringReads: resultRequests - live.upstreamCalls },
    };
  } finally {
    await Promise.all([...gateways.map((gateway) => gateway.stop()), simulator.stop()]);
  }
}

function ratio(a: number, b: number): number {
  return Number((a / b).toFixed(2));
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`machine: ${machine}`);

async function speedScenarios() {
  console.log(`load: autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per run after a 2 s warm-up\n`);
  const scenario1 = await throughput();
  const by = (name: string) => scenario1.results.find((r) => r.name.startsWith(name))!;
  const floor = by('floor');
  console.table(scenario1.results.map((r) => ({ ...r, 'vs floor': ratio(r.requestsPerSecond, floor.requestsPerSecond) })));
  const ratios = {
    pendingGatewayOverFloor: ratio(by('gateway: task query, pending').requestsPerSecond, floor.requestsPerSecond),
    terminalGatewayOverFloor: ratio(by('gateway: task query, terminal').requestsPerSecond, floor.requestsPerSecond),
    pendingGatewayOverDirect: ratio(by('gateway: task query, pending').requestsPerSecond, by('direct: simulator GET, pending').requestsPerSecond),
    terminalGatewayOverDirect: ratio(by('gateway: task query, terminal').requestsPerSecond, by('direct: simulator GET, terminal').requestsPerSecond),
  };
  console.table(ratios);

  const scenario2 = await burstOfReads(1000);
  console.log('\n1,000 concurrent task queries for one pending task');
  console.table(scenario2);

  const scenario3 = await sseSubscribers(1000, Number(process.env.BENCH_SSE_TASK_MS ?? 20_000));
  console.log('\n1,000 SSE subscribers to one pending task until it completes');
  console.table(scenario3);

  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
  let scenario4: Awaited<ReturnType<typeof replicas>> | { skipped: string };
  if (await pingRedis(redisUrl)) {
    scenario4 = await replicas(redisUrl, Number(process.env.BENCH_SSE_TASK_MS ?? 20_000));
    console.log('\n3 replicas on one Redis: 1,000 SSE subscribers spread over them');
    console.table(scenario4.live);
    console.log('task query throughput (pending task, shared cache): 3 replicas vs 1');
    console.table(scenario4.reads);
  } else {
    scenario4 = { skipped: `no Redis at ${redisUrl}` };
    console.log(`\n3-replica scenario SKIPPED: no Redis at ${redisUrl} (set REDIS_URL)`);
  }
  return { connections: CONNECTIONS, durationSeconds: DURATION_S, throughput: scenario1, ratios, burstOfReads: scenario2, sseSubscribers: scenario3, replicas: scenario4 };
}

async function memoryScenarios() {
  // Bounded: a fixed number of requests, a few at a time, each with its own timeout.
  const floodRequests = Number(process.env.BENCH_FLOOD_REQUESTS ?? 1500);
  const cacheFloodResult = await cacheFlood(floodRequests, 8);
  console.log(`\nresponse cache flood: ${floodRequests} distinct operations of 15 aliases × tasks(100 × one succeeded id), default cache settings`);
  console.table(cacheFloodResult);
  // The same flood with the heap capped as in a 512 MiB container: what the gateway really holds.
  const cappedHeapMiB = 256;
  const cappedFlood = await cacheFlood(floodRequests, 8, cappedHeapMiB);
  console.log(`\nthe same flood, gateway heap capped at ${cappedHeapMiB} MiB (--max-old-space-size)`);
  console.table(cappedFlood);

  const errorList = await errorListCreates([250_000, 1_000_000]);
  console.log('\ncreates whose images are Array(n).fill("x") (~1 MB and ~4 MB of variables)');
  console.table(errorList);
  return { cacheFlood: cacheFloodResult, cacheFloodCappedHeap: { heapMiB: cappedHeapMiB, ...cappedFlood }, errorListCreates: errorList };
}

const speed = ONLY_ONE ? undefined : await speedScenarios();
const memory = ONLY_ONE && !ONLY_MEMORY ? undefined : await memoryScenarios();
const bodies = ONLY_ONE && !ONLY_BODIES ? undefined : await bigBodies();
const history = ONLY_ONE && !ONLY_HISTORY ? undefined : await historyScenarios({ durationSeconds: DURATION_S, connections: CONNECTIONS });

mkdirSync(new URL('../../bench', import.meta.url), { recursive: true });
// A run of one group does not overwrite the full results.
const resultsFile = ONLY_MEMORY ? 'results-memory.json' : ONLY_BODIES ? 'results-bodies.json' : ONLY_HISTORY ? 'results-history.json' : 'results.json';
const out = new URL(`../../bench/${resultsFile}`, import.meta.url);
writeFileSync(out, `${JSON.stringify({ takenAt: new Date().toISOString(), machine, ...speed, memory, bodies, history }, null, 2)}\n`);
console.log(`\nwrote ${out.pathname}`);
