// Big-body scenarios of `npm run bench` ("big bodies cost what they weigh"): what a create carrying
// 7 base64 images of 2 MB (an ~18.7 MB body) costs the gateway in time and memory, against a plain
// node:http server that only reads and JSON.parses the same bytes (body-floor-server.ts); sixteen
// such creates at once; and 25 MB of junk, which must be refused without holding many copies of it.
// The gateway and the simulator are separate child processes, as in production (client keys on),
// each measured gateway a fresh process. Everything is on loopback, every loop is bounded and every
// request has a timeout.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32, deflateSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { CLIENT_KEY, ID_SECRET, post, REQUEST_TIMEOUT_MS, type Sent, SIM_KEY, startGatewayChild, startSimulatorChild, TENANT, URL_IN_LOG } from './pair.js';
import { startChild, type Child } from './processes.js';

const MiB = 1024 * 1024;
const IMAGES = 7;
/** Decoded bytes per image: 2 MB, so ~2.67 MB of base64 each and ~18.7 MB of body in all. */
const IMAGE_BYTES = 2_000_000;
/** The gateway's default REQUEST_MAX_BODY_BYTES: the largest body it reads in full. */
const JUNK_BYTES = 25_000_000;
const SIMULATOR_CREATE_PATH = '/v3/async/vidu-q2-reference2video';
/** What the simulator (like the real upstream) accepts at most: MAX_CREATE_BODY_BYTES in src/simulator. */
const UPSTREAM_MAX_BODY_BYTES = 20_000_000;
/** Measured repetitions after one warm-up, for the floor, the simulator and the gateway. */
const REPS = Number(process.env.BENCH_BODIES_REPS ?? 3);
const FLOOR_REPS = Math.max(REPS, 5);
const CONCURRENT = 16;
/** Per-tenant create concurrency is 4 by default (CREATE_MAX_CONCURRENT_PER_TENANT): 16 at once need 4 tenants. */
const TENANTS = 4;
/** Where to write gateway CPU profiles (node --cpu-prof), when set. */
const CPU_PROF_DIR = process.env.BENCH_BODIES_CPU_PROF;

// Targets from the issue.
const TARGET_PEAK_OVER_BODY = 8;
const TARGET_TIME_OVER_FLOOR = 3;
const TARGET_CONCURRENT_PEAK_MIB = 1.5 * 1024;
/** "Refused without holding more than a few copies of it": read here as at most 4 copies. */
const TARGET_JUNK_PEAK_OVER_BODY = 4;

const CREATE = 'mutation Create($input: CreateReferenceVideoInput!) { createReferenceVideo(input: $input) { taskId userErrors { field message code } } }';

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The four tenants of the concurrency scenario; the first is pair.ts's own. */
const tenants = Array.from({ length: TENANTS }, (_, i) => (i === 0 ? { tenant: TENANT, key: CLIENT_KEY } : { tenant: `${TENANT}${i + 1}`, key: `${CLIENT_KEY}-t${i + 1}` }));
const GATEWAY_ENV: Record<string, string> = {
  GATEWAY_API_KEYS: tenants.map(({ tenant, key }) => `${tenant}:${key}`).join(','),
  GATEWAY_ID_SECRET: ID_SECRET,
};

let gatewaysStarted = 0;
function startGateway(simulatorUrl: string): Promise<Child> {
  // --cpu-prof is not allowed in NODE_OPTIONS: it goes on the command line. The profiles (one per
  // thread: tsx's loader runs in a worker) are written when the gateway exits, a directory per gateway.
  const nodeArgs = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}/gateway-${++gatewaysStarted}`] : [];
  return startGatewayChild(simulatorUrl, GATEWAY_ENV, nodeArgs);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, typeAndData, crc]);
}

/**
 * A valid PNG of exactly `size` bytes that the gateway's image checks accept: a 512×512 greyscale
 * IHDR, a black IDAT, and `fill` bytes in a private ancillary chunk (decoders skip it) up to `size`.
 */
function paddedPng(size: number, fill: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(512, 0);
  ihdr.writeUInt32BE(512, 4);
  ihdr[8] = 8; // Bit depth 8; the zeros after it: greyscale, deflate, adaptive filtering, no interlace.
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const head = Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(512 * 513)))]);
  const iend = pngChunk('IEND', Buffer.alloc(0));
  const fillerLength = size - head.length - iend.length - 12; // 12: the filler chunk's length, type and CRC
  return Buffer.concat([head, pngChunk('paDd', Buffer.alloc(fillerLength, fill)), iend]);
}

/** Seven subjects, one 2 MB base64 PNG each (a real header, then filler: see paddedPng). */
function bigCreateInput() {
  const subjects = Array.from({ length: IMAGES }, (_, i) => {
    const bytes = paddedPng(IMAGE_BYTES, i + 1);
    return { id: String(i + 1), images: [`data:image/png;base64,${bytes.toString('base64')}`] };
  });
  const prompt = `${subjects.map((s) => `@${s.id}`).join(' ')} walk into a benchmark together`;
  return { prompt, subjects };
}

/** What a create answer says: a task id, user errors, or an error code. */
function outcomeOf(sent: Sent): string {
  if (sent.status === 'failed') return `failed: ${sent.head}`;
  try {
    const json = JSON.parse(sent.head) as {
      data?: { createReferenceVideo?: { taskId: string | null; userErrors: { code: string }[] } | null };
      errors?: { extensions?: { code?: string } }[];
    };
    const payload = json.data?.createReferenceVideo;
    if (payload?.taskId) return 'created';
    if (payload?.userErrors.length) return `userErrors: ${payload.userErrors.map((e) => e.code).join(',')}`;
    if (json.errors?.length) return `errors: ${json.errors.map((e) => e.extensions?.code ?? '?').join(',')}`;
  } catch {
    // A head cut at 400 bytes or not JSON: shown as it is.
  }
  return sent.head.slice(0, 160);
}

/** The code and the start of the message of an error answer ({"errors":[{"message":…,"extensions":{"code":…}}]}), or the start of the answer. */
function errorCodeOf(sent: Sent): string {
  if (sent.status === 'failed') return sent.head.slice(0, 120);
  const code = /"code":"([A-Z_]+)"/.exec(sent.head)?.[1];
  const message = /"message":"((?:[^"\\]|\\.){0,60})/.exec(sent.head)?.[1];
  return code === undefined ? sent.head.slice(0, 120) : `${code}: ${message ?? ''}`;
}

interface Measured {
  sent: Sent;
  rssBeforeMiB: number;
  peakRssMiB: number;
  peakIncreaseMiB: number;
  /** False where the peak could not be reset (no /proc/<pid>/clear_refs): then it is the peak since start. */
  peakIsPerRequest: boolean;
}

/** One request to `child`, with its peak RSS increase over the RSS just before (the peak reset first). */
async function measure(child: Child, send: () => Promise<Sent>): Promise<Measured> {
  // Let the previous request's work settle first (sockets, timers, lazy sweeping).
  await sleep(1000);
  const peakIsPerRequest = child.resetPeakRss();
  const rssBeforeMiB = child.rssMiB();
  const sent = await send();
  const peakRssMiB = child.peakRssMiB();
  return { sent, rssBeforeMiB, peakRssMiB, peakIncreaseMiB: peakRssMiB - rssBeforeMiB, peakIsPerRequest };
}

function row(label: string, m: Measured, bodyBytes: number) {
  return {
    request: label,
    status: m.sent.status,
    ms: Math.round(m.sent.ms),
    rssBeforeMiB: Math.round(m.rssBeforeMiB),
    peakRssMiB: Math.round(m.peakRssMiB),
    peakIncreaseMiB: Math.round(m.peakIncreaseMiB),
    peakIncreaseOverBody: round((m.peakIncreaseMiB * MiB) / bodyBytes, 2),
    peakIsPerRequest: m.peakIsPerRequest,
  };
}

/** 2. The plain Node floor: read and JSON.parse the same body, one warm-up then FLOOR_REPS. */
async function floorTimes(body: Buffer, agent: Agent) {
  const floor = await startChild('scripts/bench/body-floor-server.ts', {}, URL_IN_LOG);
  try {
    const rows = [];
    const warm = await measure(floor, () => post(floor.url, body, {}, agent));
    if (warm.sent.status !== 200) throw new Error(`body floor refused the create body: ${warm.sent.status} ${warm.sent.head}`);
    rows.push(row('floor: warm-up', warm, body.length));
    for (let i = 0; i < FLOOR_REPS; i++) rows.push(row(`floor: rep ${i + 1}`, await measure(floor, () => post(floor.url, body, {}, agent)), body.length));
    return rows;
  } finally {
    await floor.stop();
  }
}

/** The simulator, called directly with the upstream body the gateway would send: what the upstream hop costs. */
async function directTimes(simulator: Child, upstreamBody: Buffer, agent: Agent) {
  const rows = [];
  const headers = { authorization: `Bearer ${SIM_KEY}` };
  const url = `${simulator.url}${SIMULATOR_CREATE_PATH}`;
  const warm = await measure(simulator, () => post(url, upstreamBody, headers, agent));
  // The check the brief asks for: the simulator accepts a body of this size (it refuses over 20,000,000 bytes).
  if (warm.sent.status !== 200 || !warm.sent.head.includes('task_id')) {
    throw new Error(`the simulator refused a ${upstreamBody.length}-byte create: ${warm.sent.status} ${warm.sent.head.slice(0, 200)}`);
  }
  rows.push(row('simulator direct: warm-up', warm, upstreamBody.length));
  for (let i = 0; i < REPS; i++) rows.push(row(`simulator direct: rep ${i + 1}`, await measure(simulator, () => post(url, upstreamBody, headers, agent)), upstreamBody.length));
  return rows;
}

/** Seconds the gateway has spent in upstream create attempts, from its own /metrics (a histogram's sum). */
async function upstreamCreateSeconds(gateway: Child): Promise<number> {
  const { body } = await request(gateway.url.replace(/\/graphql$/, '/metrics'));
  const text = await body.text();
  // No create yet: the histogram has no series for it.
  return Number(/^gateway_upstream_request_duration_seconds_sum\{endpoint="create"\} (\S+)/m.exec(text)?.[1] ?? 0);
}

/**
 * 1. One big create to a fresh gateway: a cold one (the first the process ever sees), then REPS warm.
 * The gateway's /metrics tell how much of each was the upstream call (sending the body to the
 * simulator and its answer), so the rest is the gateway's own work.
 */
async function singleCreate(simulator: Child, body: Buffer, agent: Agent) {
  const gateway = await startGateway(simulator.url);
  try {
    const headers = { authorization: `Bearer ${CLIENT_KEY}` };
    const rows = [];
    const outcomes: string[] = [];
    for (let i = 0; i <= REPS; i++) {
      const upstreamBefore = await upstreamCreateSeconds(gateway);
      const m = await measure(gateway, () => post(gateway.url, body, headers, agent));
      const upstreamMs = Math.round((1000 * ((await upstreamCreateSeconds(gateway)) - upstreamBefore)));
      outcomes.push(outcomeOf(m.sent));
      const r = row(i === 0 ? 'gateway: cold (first request)' : `gateway: rep ${i}`, m, body.length);
      rows.push({ ...r, upstreamMs, ownMs: r.ms - upstreamMs });
    }
    return { rows, outcomes };
  } finally {
    await gateway.stop();
  }
}

/** 3. Sixteen big creates at once, 4 per tenant (4 tenants: the per-tenant cap stays at its default of 4). */
async function concurrentCreates(simulator: Child, body: Buffer) {
  const gateway = await startGateway(simulator.url);
  const agent = new Agent({ connections: CONCURRENT + 2, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  try {
    // Warm-up: one big create, so the measured burst is not also the process's first.
    const warm = await post(gateway.url, body, { authorization: `Bearer ${CLIENT_KEY}` }, agent);
    if (outcomeOf(warm) !== 'created') throw new Error(`concurrent creates: the warm-up create failed: ${outcomeOf(warm)}`);
    let sent: Sent[] = [];
    const m = await measure(gateway, async () => {
      const started = performance.now();
      sent = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) => post(gateway.url, body, { authorization: `Bearer ${tenants[i % TENANTS]!.key}` }, agent)),
      );
      return { status: 200, ms: performance.now() - started, bytes: 0, head: '' } satisfies Sent;
    });
    const outcomes = new Map<string, number>();
    for (const one of sent) {
      const key = `${one.status} ${outcomeOf(one)}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    const times = sent.map((s) => s.ms);
    return {
      requests: CONCURRENT,
      tenants: TENANTS,
      bodyMiB: round(body.length / MiB, 2),
      created: sent.filter((s) => outcomeOf(s) === 'created').length,
      outcomes: Object.fromEntries(outcomes),
      wallMs: Math.round(m.sent.ms),
      fastestMs: Math.round(Math.min(...times)),
      slowestMs: Math.round(Math.max(...times)),
      rssBeforeMiB: Math.round(m.rssBeforeMiB),
      peakRssMiB: Math.round(m.peakRssMiB),
      peakIncreaseMiB: Math.round(m.peakIncreaseMiB),
      peakIncreaseOverBodies: round((m.peakIncreaseMiB * MiB) / (CONCURRENT * body.length), 2),
      peakIsPerRequest: m.peakIsPerRequest,
    };
  } finally {
    await agent.close();
    await gateway.stop();
  }
}

/** 4. The junk bodies: each is exactly `size` bytes. */
function junkBodies(): { label: string; body: Buffer }[] {
  const unterminated = Buffer.alloc(JUNK_BYTES, 'x');
  unterminated.write('{"query":"');
  const prefix = `{"query":${JSON.stringify(CREATE)},"variables":{"input":{"prompt":"@1 waves","subjects":[{"id":"1","images":["https://example.com/a.png"]}],"resolution":"`;
  const suffix = '"}},"operationName":"Create"}';
  const enumString = Buffer.alloc(JUNK_BYTES, 'X');
  enumString.write(prefix);
  enumString.write(suffix, JUNK_BYTES - suffix.length);
  JSON.parse(enumString.toString()); // it must be valid JSON
  return [
    { label: 'not JSON: 25 MB of random bytes', body: randomBytes(JUNK_BYTES) },
    { label: 'not JSON: {"query":" then 25 MB unterminated', body: unterminated },
    { label: 'JSON: a 25 MB string as input.resolution (an enum)', body: enumString },
    // Just over the limit, for comparison: refused on its Content-Length, before it is read.
    { label: 'over REQUEST_MAX_BODY_BYTES: 25 MiB', body: Buffer.alloc(25 * MiB, 'x') },
  ];
}

/** 4. Each junk body to a fresh gateway (after one small warm-up request), so each peak is its own. */
async function junk(simulator: Child) {
  const rows = [];
  const small = Buffer.from(JSON.stringify({ query: CREATE, variables: { input: { prompt: '@1 warms up', subjects: [{ id: '1', images: ['https://example.com/a.png'] }] } } }));
  const headers = { authorization: `Bearer ${CLIENT_KEY}` };
  for (const { label, body } of junkBodies()) {
    const gateway = await startGateway(simulator.url);
    const agent = new Agent({ connections: 1, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
    try {
      const warm = await post(gateway.url, small, headers, agent);
      if (outcomeOf(warm) !== 'created') throw new Error(`junk: the warm-up create failed: ${outcomeOf(warm)}`);
      const m = await measure(gateway, () => post(gateway.url, body, headers, agent));
      rows.push({ ...row(label, m, body.length), bodyBytes: body.length, answer: errorCodeOf(m.sent), answerBytes: m.sent.bytes });
    } finally {
      await agent.close();
      await gateway.stop();
    }
  }
  return rows;
}

export async function bigBodies() {
  const input = bigCreateInput();
  const body = Buffer.from(JSON.stringify({ query: CREATE, variables: { input }, operationName: 'Create' }));
  // The upstream body as the gateway builds it (toUpstreamBody with the schema's defaults).
  const upstreamBody = Buffer.from(JSON.stringify({ prompt: input.prompt, subjects: input.subjects, duration: 5, resolution: '720p', audio: false, bgm: false, watermark: false }));
  const bodyMiB = body.length / MiB;
  console.log(
    `\nbig bodies: ${IMAGES} base64 PNGs of ${IMAGE_BYTES / 1e6} MB → request ${body.length} bytes (${round(bodyMiB, 2)} MiB); ` +
      `upstream body ${upstreamBody.length} bytes (simulator accepts at most ${UPSTREAM_MAX_BODY_BYTES})`,
  );
  if (upstreamBody.length > UPSTREAM_MAX_BODY_BYTES) throw new Error('the upstream body is over the simulator limit: the scenario is wrong');

  const agent = new Agent({ connections: 2, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  const simulator = await startSimulatorChild(3_600_000);
  try {
    const floorRows = await floorTimes(body, agent);
    console.log('\nplain Node floor (node:http, read + JSON.parse), same body');
    console.table(floorRows);
    const directRows = await directTimes(simulator, upstreamBody, agent);
    console.log('\nsimulator called directly with the upstream body (the hop the gateway adds)');
    console.table(directRows);
    const single = await singleCreate(simulator, body, agent);
    console.log(`\none createReferenceVideo to a fresh gateway (production settings, client key); outcomes: ${single.outcomes.join(' | ')}`);
    console.table(single.rows);

    const floorMs = median(floorRows.filter((r) => r.request.includes('rep')).map((r) => r.ms));
    const directMs = median(directRows.filter((r) => r.request.includes('rep')).map((r) => r.ms));
    const warmGateway = single.rows.filter((r) => r.request.includes('rep'));
    const gatewayMs = median(warmGateway.map((r) => r.ms));
    const gatewayOwnMs = median(warmGateway.map((r) => r.ownMs));
    const gatewayPeakOverBody = Math.max(...warmGateway.map((r) => r.peakIncreaseOverBody));
    const floorPeakOverBody = median(floorRows.filter((r) => r.request.includes('rep')).map((r) => r.peakIncreaseOverBody));
    const createSummary = {
      bodyBytes: body.length,
      floorMedianMs: floorMs,
      simulatorDirectMedianMs: directMs,
      gatewayMedianMs: gatewayMs,
      gatewayOverFloor: round(gatewayMs / floorMs, 2),
      // The gateway's time without its upstream call (per its own metrics): what the gateway itself adds.
      gatewayOwnMedianMs: gatewayOwnMs,
      gatewayOwnOverFloor: round(gatewayOwnMs / floorMs, 2),
      gatewayMinusSimulatorDirectOverFloor: round((gatewayMs - directMs) / floorMs, 2),
      gatewayColdMs: single.rows[0]!.ms,
      gatewayPeakIncreaseMiBMedian: median(warmGateway.map((r) => r.peakIncreaseMiB)),
      gatewayPeakIncreaseOverBodyMax: gatewayPeakOverBody,
      gatewayColdPeakIncreaseOverBody: single.rows[0]!.peakIncreaseOverBody,
      floorPeakIncreaseOverBodyMedian: floorPeakOverBody,
    };
    console.table(createSummary);

    const concurrent = await concurrentCreates(simulator, body);
    console.log(`\n${CONCURRENT} big creates at once, ${CONCURRENT / TENANTS} per tenant over ${TENANTS} tenants (CREATE_MAX_CONCURRENT and _PER_TENANT at their defaults, 16 and 4)`);
    console.table({ ...concurrent, outcomes: JSON.stringify(concurrent.outcomes) });

    const junkRows = await junk(simulator);
    console.log(`\n${JUNK_BYTES}-byte bodies of junk (REQUEST_MAX_BODY_BYTES is ${JUNK_BYTES}), each to a fresh gateway`);
    console.table(junkRows);

    const targets = [
      {
        target: `one create: peak RSS increase ≤ ${TARGET_PEAK_OVER_BODY} × body`,
        value: `warm: at most ${gatewayPeakOverBody} ×; cold (first request of the process): ${createSummary.gatewayColdPeakIncreaseOverBody} ×`,
        // Strict: the cold request counts too.
        met: Math.max(gatewayPeakOverBody, createSummary.gatewayColdPeakIncreaseOverBody) <= TARGET_PEAK_OVER_BODY,
      },
      {
        target: `one create: time ≤ ${TARGET_TIME_OVER_FLOOR} × plain Node floor`,
        value: `${createSummary.gatewayOverFloor} × (${gatewayMs} / ${floorMs} ms); without the upstream call ${createSummary.gatewayOwnOverFloor} ×`,
        met: createSummary.gatewayOverFloor <= TARGET_TIME_OVER_FLOOR,
      },
      { target: `${CONCURRENT} at once: all created`, value: `${concurrent.created} / ${CONCURRENT}`, met: concurrent.created === CONCURRENT },
      { target: `${CONCURRENT} at once: peak RSS < 1.5 GiB`, value: `${concurrent.peakRssMiB} MiB`, met: concurrent.peakRssMiB < TARGET_CONCURRENT_PEAK_MIB },
      ...junkRows.map((r) => ({
        target: `junk: ${r.request}: refused (4xx), peak ≤ ${TARGET_JUNK_PEAK_OVER_BODY} × body`,
        value: `${r.status} ${r.answer}, ${r.ms} ms, ${r.peakIncreaseOverBody} × body`,
        met: typeof r.status === 'number' && r.status >= 400 && r.status < 500 && r.peakIncreaseOverBody <= TARGET_JUNK_PEAK_OVER_BODY,
      })),
    ];
    console.log('\ntargets');
    console.table(targets);
    return { bodyBytes: body.length, upstreamBodyBytes: upstreamBody.length, floor: floorRows, simulatorDirect: directRows, singleCreate: single, createSummary, concurrent, junk: junkRows, targets };
  } finally {
    await agent.close();
    await simulator.stop();
  }
}
