// An embedded fake of the upstream video API: the same REST contract (shared/upstream-contract.md),
// tasks that move through their lifecycle in a few seconds, a video to download, and scripted
// faults so the gateway's error handling can be exercised. Nothing listens until `startSimulator`
// is called, and every piece of state belongs to the simulator it returns.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readBody, type BodyRead } from '../read-body.js';
import { errorReply, FaultQueue, faultReply, jsonReply, parseFault, type ApiEndpoint, type CannedReply, type Fault } from './faults.js';
import { MAX_CREATE_BODY_BYTES, validateCreateBody } from './request-validation.js';
import { TaskStore } from './tasks.js';
import { sendSampleVideo } from './video-file.js';

export type { Fault, FaultEndpoint, FaultResponse } from './faults.js';

export interface SimulatorOptions {
  /** The only Bearer key accepted. */
  apiKey: string;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Create -> SUCCEED, default 8000; 0 means succeed at once. */
  taskDurationMs?: number;
  /**
   * Where video links point: `${videoBaseUrl()}/<task id>.mp4`. Default: this simulator's own
   * `/videos`. Read for every answer, so an embedding server can settle it once it knows its own
   * address (it serves the videos through `serveVideo`).
   */
  videoBaseUrl?: () => string;
}

/** Why a video could not be served: the HTTP status, and headers that go with it (Content-Range on 416). */
export interface VideoRefusal {
  status: number;
  headers: Record<string, string>;
}

export interface SimulatorStats {
  createRequests: number;
  resultRequests: number;
  videoRequests: number;
}

export interface Simulator {
  /** 'http://127.0.0.1:PORT', no trailing slash. */
  readonly url: string;
  readonly apiKey: string;
  /** Queued; faults matching a request are consumed in FIFO order. Throws TypeError on a bad fault. */
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** Counted on arrival, faulted requests included (auth failures too). */
  stats(): SimulatorStats;
  resetStats(): void;
  /**
   * Tasks created since start (demo tasks excluded), including those whose answer a fault replaced:
   * the only way to see that a create whose answer was lost really happened. Not reset by resetStats.
   */
  createdTaskCount(): number;
  /** The JSON bodies of accepted creates, oldest first (the newest 100): to check what a client sent. */
  acceptedCreateBodies(): unknown[];
  /**
   * Answers a GET or HEAD for a finished task's video on another server's request (Range, HEAD and
   * conditional requests as on `/videos/`), so the embedding server can serve the videos on its own
   * port. The task id is still percent-encoded, as in the link. A refusal (404 for an unknown id or
   * an unfinished task, 416, 500) is left to `onRefused`, which writes it in its own format.
   */
  serveVideo(req: IncomingMessage, res: ServerResponse, encodedTaskId: string, onRefused: (refusal: VideoRefusal) => void): void;
  /** Closes the server and any open sockets (held requests included), cancels pending delays. */
  close(): Promise<void>;
}

const CREATE_PATH = '/v3/async/vidu-q2-reference2video';
const RESULT_PATH = '/v3/async/task-result';
const VIDEO_PATH = /^\/videos\/([^/]+)\.mp4$/;
const FAULTS_PATH = '/__sim/faults';
const STATS_PATH = '/__sim/stats';
const STATS_RESET_PATH = '/__sim/stats/reset';

// Enough recent create bodies for a test to inspect, without growing through a benchmark.
const MAX_KEPT_CREATE_BODIES = 100;
// A fault is a few hundred bytes; this only stops a runaway client.
const MAX_CONTROL_BODY_BYTES = 1_000_000;
const DEFAULT_TASK_DURATION_MS = 8000;

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new TypeError('apiKey must be a non-empty string');
  const taskDurationMs = options.taskDurationMs ?? DEFAULT_TASK_DURATION_MS;
  if (!Number.isFinite(taskDurationMs) || taskDurationMs < 0) throw new RangeError('taskDurationMs must be a finite number >= 0');

  const delays = new PendingDelays();
  // The handler needs the URL for video links, and the URL needs the bound port: fill it in once
  // listening (no request can arrive before that).
  let url = '';
  const tasks = new TaskStore({ durationMs: taskDurationMs });
  const handler = new SimulatorRequestHandler({
    apiKey: options.apiKey,
    tasks,
    delays,
    videoUrlFor: (taskId) => `${options.videoBaseUrl?.() ?? `${url}/videos`}/${encodeURIComponent(taskId)}.mp4`,
  });
  const server = createServer((req, res) => handler.handle(req, res));

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the simulator is not listening on a TCP port');
  url = `http://${hostForUrl(host)}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    apiKey: options.apiKey,
    injectFault(fault) {
      const parsed = parseFault(fault);
      if (!parsed.ok) throw new TypeError(`Invalid fault: ${parsed.message}`);
      handler.faults.add(parsed.fault);
    },
    clearFaults: () => handler.faults.clear(),
    stats: () => ({ ...handler.stats }),
    resetStats: () => handler.resetStats(),
    createdTaskCount: () => tasks.createdCount,
    acceptedCreateBodies: () => [...handler.acceptedCreateBodies],
    serveVideo: (req, res, encodedTaskId, onRefused) => handler.serveVideo(req, res, encodedTaskId, onRefused),
    close() {
      closing ??= new Promise<void>((resolve) => {
        delays.cancelAll();
        server.close(() => resolve());
        // Held (delayed) requests and keep-alive sockets would otherwise keep close() waiting.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

// Wildcard addresses are not reachable as such: point clients at loopback instead.
function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

interface HandlerDependencies {
  apiKey: string;
  tasks: TaskStore;
  delays: PendingDelays;
  videoUrlFor: (taskId: string) => string;
}

/** Routes requests; owns the fault queue and the request counters. */
class SimulatorRequestHandler {
  readonly faults = new FaultQueue();
  readonly stats: SimulatorStats = { createRequests: 0, resultRequests: 0, videoRequests: 0 };
  readonly acceptedCreateBodies: unknown[] = [];
  readonly #deps: HandlerDependencies;

  constructor(deps: HandlerDependencies) {
    this.#deps = deps;
  }

  resetStats(): void {
    this.stats.createRequests = 0;
    this.stats.resultRequests = 0;
    this.stats.videoRequests = 0;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#route(req, res).catch((error: unknown) => {
      // A bug in the simulator: say so without details, and do not take the process down.
      console.error('simulator: request failed:', error);
      if (!res.headersSent) writeReply(res, errorReply(500, 'SIMULATOR_ERROR', 'the simulator failed to handle this request'));
      else res.destroy();
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const method = req.method ?? 'GET';
    const path = url.pathname;

    if (path === CREATE_PATH) {
      if (method !== 'POST') return writeReply(res, methodNotAllowed('POST'));
      return this.#create(req, res);
    }
    if (path === RESULT_PATH) {
      if (method !== 'GET') return writeReply(res, methodNotAllowed('GET'));
      return this.#result(req, res, url);
    }
    const video = VIDEO_PATH.exec(path);
    if (video !== null) {
      if (method !== 'GET' && method !== 'HEAD') return writeReply(res, methodNotAllowed('GET, HEAD'));
      return this.serveVideo(req, res, video[1] ?? '', (refusal) => writeReply(res, videoRefusalReply(refusal)));
    }
    if (path === FAULTS_PATH) {
      if (method === 'POST') return this.#injectFault(req, res);
      if (method === 'DELETE') {
        this.faults.clear();
        return writeReply(res, { status: 204, headers: {} });
      }
      return writeReply(res, methodNotAllowed('POST, DELETE'));
    }
    if (path === STATS_PATH) {
      if (method !== 'GET') return writeReply(res, methodNotAllowed('GET'));
      return writeReply(res, jsonReply(200, this.stats));
    }
    if (path === STATS_RESET_PATH) {
      if (method !== 'POST') return writeReply(res, methodNotAllowed('POST'));
      this.resetStats();
      return writeReply(res, { status: 204, headers: {} });
    }
    return writeReply(res, errorReply(404, 'NOT_FOUND', `no route for ${method} ${path}`));
  }

  async #create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.createRequests += 1;
    // Taken on arrival, so faults are handed out in the order requests come in.
    const fault = this.faults.take('create');
    // The whole request reaches the upstream before anything is decided, as on the real service;
    // so a client that gives up while the answer is held does not undo the work.
    const body = await readBody(req, MAX_CREATE_BODY_BYTES);
    if (body.kind === 'aborted') return;
    await this.#answer('create', req, res, fault, () => this.#processCreate(req, body));
  }

  #processCreate(req: IncomingMessage, body: Exclude<BodyRead, { kind: 'aborted' }>): CannedReply {
    const refused = this.#checkAuth(req);
    if (refused !== undefined) return refused;
    if (body.kind === 'too-large') {
      return errorReply(400, 'INVALID_REQUEST_BODY', `body: must be at most ${MAX_CREATE_BODY_BYTES} bytes`);
    }
    const text = body.body.toString('utf8');
    const validation = validateCreateBody(text);
    if (!validation.ok) return errorReply(400, 'INVALID_REQUEST_BODY', validation.message);
    const { taskId } = this.#deps.tasks.create(validation.request);
    this.acceptedCreateBodies.push(JSON.parse(text) as unknown);
    if (this.acceptedCreateBodies.length > MAX_KEPT_CREATE_BODIES) this.acceptedCreateBodies.shift();
    return jsonReply(200, { task_id: taskId, provider_request_id: `sim-${randomUUID()}` });
  }

  async #result(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.stats.resultRequests += 1;
    const fault = this.faults.take('result');
    await this.#answer('result', req, res, fault, () => this.#processResult(req, url));
  }

  #processResult(req: IncomingMessage, url: URL): CannedReply {
    const refused = this.#checkAuth(req);
    if (refused !== undefined) return refused;
    const taskId = url.searchParams.get('task_id') ?? '';
    if (taskId === '') return errorReply(400, 'INVALID_REQUEST_BODY', 'task_id: is required');
    const result = this.#deps.tasks.result(taskId, this.#deps.videoUrlFor);
    if (result === undefined) return errorReply(404, 'TASK_NOT_FOUND', 'task not found');
    return jsonReply(200, result);
  }

  /**
   * Answers an API request, through its fault if it has one. 'pass' (or no fault): the normal answer,
   * held for delayMs. Any other fault: the faulty answer after delayMs; on create with
   * createTaskAnyway the request is processed first and its real answer thrown away.
   */
  async #answer(
    endpoint: ApiEndpoint,
    req: IncomingMessage,
    res: ServerResponse,
    fault: Fault | undefined,
    processRequest: () => CannedReply,
  ): Promise<void> {
    const faulty = fault === undefined ? undefined : faultReply(fault, endpoint);
    // Processed before the delay: the upstream did the work, its answer is slow to come back.
    const normal = faulty === undefined || (endpoint === 'create' && fault?.createTaskAnyway === true) ? processRequest() : undefined;
    if (!(await this.#deps.delays.wait(fault?.delayMs ?? 0))) return; // the simulator closed meanwhile
    if (faulty === 'reset') {
      // RST rather than FIN: the client sees ECONNRESET, as when a connection is really cut.
      if (!req.socket.destroyed) req.socket.resetAndDestroy();
      return;
    }
    const reply = faulty ?? normal;
    if (reply !== undefined) writeReply(res, reply);
  }

  #checkAuth(req: IncomingMessage): CannedReply | undefined {
    const authorization = req.headers.authorization;
    if (authorization === undefined || authorization.trim() === '') {
      return errorReply(400, 'MISSING_API_KEY', 'the Authorization header is required: "Authorization: Bearer <API key>"');
    }
    // Never echo what was presented: it may be somebody's real key.
    if (authorization !== `Bearer ${this.#deps.apiKey}`) return errorReply(403, 'INVALID_API_KEY', 'the API key is invalid');
    return undefined;
  }

  // No auth: the URL models a signed download link, not an API call. Faults queued for 'video' apply
  // (a slow, failing or non-video download, as a CDN can answer).
  serveVideo(req: IncomingMessage, res: ServerResponse, encodedTaskId: string, onRefused: (refusal: VideoRefusal) => void): void {
    this.stats.videoRequests += 1;
    const fault = this.faults.take('video');
    if (fault === undefined) return this.#serveVideoFile(req, res, encodedTaskId, onRefused);
    void this.#deps.delays.wait(fault.delayMs ?? 0).then((open) => {
      if (!open || res.destroyed) return;
      const faulty = faultReply(fault, 'video');
      if (faulty === undefined) return this.#serveVideoFile(req, res, encodedTaskId, onRefused);
      if (faulty === 'reset') return void (req.socket.destroyed || req.socket.resetAndDestroy());
      writeReply(res, faulty);
    });
  }

  #serveVideoFile(req: IncomingMessage, res: ServerResponse, encodedTaskId: string, onRefused: (refusal: VideoRefusal) => void): void {
    let taskId: string;
    try {
      taskId = decodeURIComponent(encodedTaskId);
    } catch {
      return onRefused({ status: 404, headers: {} });
    }
    if (!this.#deps.tasks.hasVideo(taskId)) return onRefused({ status: 404, headers: {} });
    sendSampleVideo(req, res, onRefused);
  }

  async #injectFault(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_CONTROL_BODY_BYTES);
    if (body.kind === 'aborted') return;
    if (body.kind === 'too-large') {
      return writeReply(res, errorReply(400, 'INVALID_REQUEST_BODY', `body: must be at most ${MAX_CONTROL_BODY_BYTES} bytes`));
    }
    let json: unknown;
    try {
      json = JSON.parse(body.body.toString('utf8'));
    } catch {
      return writeReply(res, errorReply(400, 'INVALID_REQUEST_BODY', 'body: must be valid JSON'));
    }
    const parsed = parseFault(json);
    if (!parsed.ok) return writeReply(res, errorReply(400, 'INVALID_REQUEST_BODY', parsed.message));
    this.faults.add(parsed.fault);
    writeReply(res, jsonReply(200, { queued: this.faults.size }));
  }
}

function videoRefusalReply({ status, headers }: VideoRefusal): CannedReply {
  if (status === 404) return errorReply(404, 'NOT_FOUND', 'no video for this task');
  const reason = status === 416 ? 'RANGE_NOT_SATISFIABLE' : 'SIMULATOR_ERROR';
  return errorReply(status, reason, 'cannot serve the video', headers);
}

function methodNotAllowed(allowed: string): CannedReply {
  return errorReply(405, 'METHOD_NOT_ALLOWED', `use ${allowed}`, { Allow: allowed });
}

function writeReply(res: ServerResponse, reply: CannedReply): void {
  // The client may have gone, or a fault already answered.
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string> = { ...reply.headers };
  // 204 and 304 must not carry a Content-Length.
  if (reply.status !== 204 && reply.status !== 304) headers['Content-Length'] = String(Buffer.byteLength(reply.body ?? ''));
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

/** Timers for held answers, so close() can cancel them all; a cancelled wait resolves to false. */
class PendingDelays {
  readonly #pending = new Map<NodeJS.Timeout, () => void>();
  #cancelled = false;

  wait(ms: number): Promise<boolean> {
    if (this.#cancelled) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        resolve(true);
      }, ms);
      this.#pending.set(timer, () => resolve(false));
    });
  }

  cancelAll(): void {
    this.#cancelled = true;
    for (const [timer, cancel] of this.#pending) {
      clearTimeout(timer);
      cancel();
    }
    this.#pending.clear();
  }
}
