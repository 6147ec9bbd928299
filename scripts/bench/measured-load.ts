// One autocannon measurement for the history and stored-video scenarios: a short warm-up, then the
// measured run, and a verdict on every answer, not only on the transport. A GraphQL error comes back
// as HTTP 200 and a refused video could come back as a 200 where a 206 belongs, so a row counts the
// answers whose status is not the expected one and (for GraphQL) whose body is not the expected one.
import autocannon from 'autocannon';

export interface LoadSettings {
  durationSeconds: number;
  connections: number;
}

/** What every answer must be: this status, and (when given) exactly this body. */
export interface ExpectedAnswer {
  status: number;
  body?: string;
}

export interface LoadRow {
  name: string;
  requestsPerSecond: number;
  /** Response bytes per second (headers included), in MB (10^6 bytes). */
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Answers with another status than the expected one (a 200 where a 206 belongs counts here). */
  unexpectedStatus: number;
  /** Answers whose body differs from the expected one (a GraphQL error travels as HTTP 200). */
  mismatches: number;
  /** 'ok' when every answer of the measured run was the expected one, else 'BROKEN'. */
  check: 'ok' | 'BROKEN';
}

export async function measuredLoad(name: string, options: autocannon.Options, expected: ExpectedAnswer, settings: LoadSettings): Promise<LoadRow> {
  const run: autocannon.Options = { ...options, connections: settings.connections, ...(expected.body === undefined ? {} : { expectBody: expected.body }) };
  // A short warm-up first (JIT, connection pools, caches), then the measured run: as main.ts's load().
  await autocannon({ ...run, duration: 2 });
  const result = await autocannon({ ...run, duration: settings.durationSeconds });
  const answered = Object.values(result.statusCodeStats ?? {}).reduce((sum, stats) => sum + (stats.count ?? 0), 0);
  const expectedCount = result.statusCodeStats?.[`${expected.status}`]?.count ?? 0;
  const errors = result.errors + result.timeouts;
  const unexpectedStatus = answered - expectedCount;
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    megabytesPerSecond: Number((result.throughput.average / 1e6).toFixed(1)),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors,
    non2xx: result.non2xx,
    unexpectedStatus,
    mismatches: result.mismatches,
    check: errors === 0 && result.non2xx === 0 && unexpectedStatus === 0 && result.mismatches === 0 && answered > 0 ? 'ok' : 'BROKEN',
  };
}
