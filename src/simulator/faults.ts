// Scripted misbehaviour for the simulator: what a test can ask for, how it is checked, the FIFO queue
// that hands faults out to matching requests, and the canned answer each kind of fault produces.
// The answers imitate what a client really meets in front of an upstream: error JSON, a proxy's
// HTML page, an empty body, a truncated body, a dropped connection, or plain latency.
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';

/**
 * What a fault applies to: an upstream endpoint ('any' matches both), or 'video', a download of a
 * finished task's video (only ever matched by name: 'any' leaves downloads alone).
 */
export type FaultEndpoint = 'create' | 'result' | 'video' | 'any';

/** The two endpoints a request can actually hit. */
export type ApiEndpoint = Exclude<FaultEndpoint, 'any'>;

export type FaultResponse =
  /** JSON error body `{code: status, reason, message, metadata: {}}`, optional Retry-After header. */
  | { kind: 'error'; status: number; reason?: string; message?: string; retryAfter?: string }
  /** An HTML page as a proxy would send (text/html). */
  | { kind: 'html'; status: number }
  /** No body at all. */
  | { kind: 'empty'; status: number }
  /** HTTP 200, application/json, a truncated JSON body. */
  | { kind: 'malformed-json' }
  /** Exactly this JSON body (odd-but-valid shapes, e.g. an unknown status). */
  | { kind: 'json'; status: number; body: unknown }
  /** Destroy the socket without any response. */
  | { kind: 'reset' }
  /** Handle the request normally (use with delayMs for pure latency). */
  | { kind: 'pass' };

export type Fault = FaultResponse & {
  endpoint: FaultEndpoint;
  /** How many matching requests it applies to, default 1. */
  times?: number;
  /** Wait this long before answering (or before resetting). */
  delayMs?: number;
  /**
   * For 'create' faults other than 'pass': whether the task is really created before the faulty
   * answer (models "request reached the upstream, answer lost"). Default false.
   */
  createTaskAnyway?: boolean;
};

// Statuses a fault may answer with: 1xx are not final answers, and nothing above 599 is defined.
const httpStatus = z.int({ error: 'must be an integer HTTP status between 200 and 599' }).min(200).max(599);

// Header values go on the wire as-is: no control characters (Node would throw on CR/LF anyway).
const headerValue = z
  .string({ error: 'must be a string' })
  .regex(/^[\x20-\x7e]*$/, { error: 'must be printable ASCII (it is sent as a header)' });

// Shared by every kind; strict objects below so a typo such as `delay` is refused, not ignored.
const common = {
  endpoint: z.enum(['create', 'result', 'video', 'any'], { error: 'must be one of create, result, video, any' }),
  times: z.int({ error: 'must be a whole number from 1 to 1000000' }).min(1).max(1_000_000).optional(),
  delayMs: z.int({ error: 'must be a whole number of milliseconds from 0 to 600000' }).min(0).max(600_000).optional(),
  createTaskAnyway: z.boolean({ error: 'must be a boolean' }).optional(),
};

const faultSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      kind: z.literal('error'),
      status: httpStatus,
      reason: z.string({ error: 'must be a string' }).optional(),
      message: z.string({ error: 'must be a string' }).optional(),
      retryAfter: headerValue.optional(),
      ...common,
    }),
    z.strictObject({ kind: z.literal('html'), status: httpStatus, ...common }),
    z.strictObject({ kind: z.literal('empty'), status: httpStatus, ...common }),
    z.strictObject({ kind: z.literal('malformed-json'), ...common }),
    z.strictObject({
      kind: z.literal('json'),
      status: httpStatus,
      // `undefined` (or a BigInt, or a cycle) has no JSON form; refuse it when the fault is queued
      // rather than when a request finds it.
      body: z.unknown().refine((body) => body !== undefined && isJsonSerialisable(body), {
        error: 'is required and must be JSON-serialisable',
      }),
      ...common,
    }),
    z.strictObject({ kind: z.literal('reset'), ...common }),
    z.strictObject({ kind: z.literal('pass'), ...common }),
  ],
  {
    error: (issue) =>
      typeof issue.input === 'object' && issue.input !== null
        ? 'must be one of error, html, empty, malformed-json, json, reset, pass'
        : 'must be a JSON object',
  },
);

// Compile-time guard: the schema and the hand-written type (the one other code reads) must agree.
type ParsedFault = z.output<typeof faultSchema>;
type Agrees = [ParsedFault] extends [Fault] ? ([Fault] extends [ParsedFault] ? true : false) : false;
const schemaAgreesWithType: Agrees = true;
void schemaAgreesWithType;

function isJsonSerialisable(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}

export type FaultParseResult = { ok: true; fault: Fault } | { ok: false; message: string };

/** Checks a fault from either the in-process API or `POST /__sim/faults`. */
export function parseFault(input: unknown): FaultParseResult {
  const parsed = faultSchema.safeParse(input);
  if (parsed.success) return { ok: true, fault: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'fault';
  return { ok: false, message: `${where}: ${issue?.message ?? 'is invalid'}` };
}

interface QueuedFault {
  fault: Fault;
  remaining: number;
}

/** Faults waiting for requests; a request takes the oldest one that matches its endpoint. */
export class FaultQueue {
  readonly #queue: QueuedFault[] = [];

  add(fault: Fault): void {
    this.#queue.push({ fault, remaining: fault.times ?? 1 });
  }

  clear(): void {
    this.#queue.length = 0;
  }

  /** Number of faults still queued (each counted once, whatever its remaining `times`). */
  get size(): number {
    return this.#queue.length;
  }

  /** The fault this request must suffer, if any; uses up one of its `times`. */
  take(endpoint: ApiEndpoint): Fault | undefined {
    const index = this.#queue.findIndex(({ fault }) => fault.endpoint === endpoint || (fault.endpoint === 'any' && endpoint !== 'video'));
    const entry = this.#queue[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#queue.splice(index, 1);
    return entry.fault;
  }
}

/** A complete HTTP answer, ready to write. */
export interface CannedReply {
  status: number;
  headers: Record<string, string>;
  /** Omitted: no body at all. */
  body?: string;
}

/** Content type of every JSON answer (JSON is UTF-8 by definition, so no charset parameter). */
const JSON_CONTENT_TYPE = 'application/json';

/** The upstream's error shape: `{code, reason, message, metadata: {}}`. */
export function errorReply(status: number, reason: string, message: string, headers: Record<string, string> = {}): CannedReply {
  return jsonReply(status, { code: status, reason, message, metadata: {} }, headers);
}

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): CannedReply {
  return { status, headers: { 'Content-Type': JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(body) };
}

/** What a faulty answer looks like; 'reset' means drop the connection, undefined means 'pass'. */
export function faultReply(fault: Fault, endpoint: ApiEndpoint): CannedReply | 'reset' | undefined {
  switch (fault.kind) {
    case 'pass':
      return undefined;
    case 'reset':
      return 'reset';
    case 'error':
      return errorReply(
        fault.status,
        fault.reason ?? defaultReason(fault.status, endpoint),
        fault.message ?? 'simulated fault',
        fault.retryAfter === undefined ? {} : { 'Retry-After': fault.retryAfter },
      );
    case 'html':
      return { status: fault.status, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: proxyErrorPage(fault.status) };
    case 'empty':
      return { status: fault.status, headers: {}, body: undefined };
    case 'malformed-json':
      return { status: 200, headers: { 'Content-Type': JSON_CONTENT_TYPE }, body: truncatedBody(endpoint) };
    case 'json':
      return jsonReply(fault.status, fault.body);
  }
}

// The reason the real upstream would most likely give for this status (contract §3).
function defaultReason(status: number, endpoint: ApiEndpoint): string {
  if (status === 400) return 'INVALID_REQUEST_BODY';
  if (status === 401 || status === 403) return 'INVALID_API_KEY';
  if (status === 404) return endpoint === 'result' ? 'TASK_NOT_FOUND' : 'NOT_FOUND';
  if (status === 429) return 'RATE_LIMIT_EXCEEDED';
  if (status >= 500) return endpoint === 'create' ? 'CREATE_TASK_FAILED' : 'GET_RESULT_FAILED';
  return 'SIMULATED_FAULT';
}

// What nginx in front of an API sends when the service behind it is down.
function proxyErrorPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

// The start of a genuine answer for that endpoint, cut off mid-string: valid UTF-8, invalid JSON.
function truncatedBody(endpoint: ApiEndpoint): string {
  return endpoint === 'create'
    ? '{"task_id":"3f2c1a9e-5b7d-4c'
    : '{"task":{"task_id":"3f2c1a9e-5b7d-4c1e-9a0b-2d6f8e4c7a1b","task_type":"vidu-q2-reference2video","status":"TASK_STATUS_PROC';
}
