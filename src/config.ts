// The one place that reads the environment. Every setting has a default, is validated at start-up,
// and a bad value stops the process with a one-line message naming the variable.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseClientKeys, type ClientKey } from './auth/client-keys.js';
import { parseJwtProviders, type JwtProvider } from './auth/jwt-providers.js';
import { parsePersistedDocuments } from './persisted-documents.js';

const MiB = 1024 * 1024;

/** Thrown by `loadConfig`; `message` is one line that names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function int(min: number, max: number, fallback: number) {
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, { error: `must be a whole number between ${min} and ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }))
    .default(fallback);
}

/** A whole number, or unset (undefined); empty counts as unset. */
function optionalInt(min: number, max: number) {
  return z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === '' ? undefined : value))
    .pipe(
      z
        .string()
        .regex(/^\d+$/, { error: `must be a whole number between ${min} and ${max}` })
        .transform(Number)
        .pipe(z.number().int().min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }))
        .optional(),
    );
}

function parsedUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function httpUrl(fallback: string) {
  return z
    .string()
    .trim()
    .refine(
      (value) => {
        const url = parsedUrl(value);
        return url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '';
      },
      { error: 'must be an http(s) URL without query or fragment' },
    )
    // The key goes in UPSTREAM_API_KEY; credentials in the URL would end up wherever URLs are printed.
    .refine((value) => parsedUrl(value)?.username === '' && parsedUrl(value)?.password === '', {
      error: 'must not hold credentials (put the key in UPSTREAM_API_KEY)',
    })
    // Paths are joined onto it, so a trailing slash would double up.
    .transform((value) => value.replace(/\/+$/, ''))
    .default(fallback);
}

/**
 * Where browsers reach the gateway (PUBLIC_URL): links handed to them are built on it, so it must be
 * a plain absolute http(s) URL. A path prefix is kept (a proxy that strips it); unset or empty means
 * "the address the gateway listens on", which only server.ts knows once it is bound.
 */
const publicUrl = z
  .string()
  .trim()
  .optional()
  .refine(
    (value) => {
      if (value === undefined || value === '') return true;
      const url = parsedUrl(value);
      return (
        url !== undefined &&
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        url.search === '' &&
        url.hash === '' &&
        !value.includes('?') &&
        !value.includes('#') &&
        url.username === '' &&
        url.password === ''
      );
    },
    { error: 'must be an absolute http(s) URL without query, fragment or credentials, e.g. https://videos.example.com/gw' },
  )
  // Paths are joined onto it, so a trailing slash would double up.
  .transform((value) => (value === undefined || value === '' ? undefined : value.replace(/\/+$/, '')));

/** What ioredis can connect to: checked here, so a bad URL never reaches it (it would print the URL). */
function isRedisUrl(value: string): boolean {
  const url = parsedUrl(value);
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') return false;
  if (!/^(\/\d{0,2})?$/.test(url.pathname)) return false;
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return false;
  }
  return true;
}

/**
 * What the task history can connect to: a postgres:// or postgresql:// URL with a host (or a
 * `host` parameter naming a socket folder) and a database. Checked here, so a bad URL stops the
 * start with a line that never shows it (it may hold a password).
 */
function isPostgresUrl(value: string): boolean {
  const url = parsedUrl(value);
  if (url === undefined || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) return false;
  if (url.hostname === '' && !url.searchParams.get('host')) return false;
  if (!/^\/[^/]+$/.test(url.pathname)) return false;
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    decodeURIComponent(url.pathname);
  } catch {
    return false;
  }
  return true;
}

const optionalSecret = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { error: 'must be one of development, production, test' }).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  HOST: z.string().trim().min(1, { error: 'must not be empty' }).default('0.0.0.0'),
  PORT: int(0, 65_535, 4000),
  PUBLIC_URL: publicUrl,
  SHUTDOWN_GRACE_MS: int(0, 600_000, 10_000),
  // Bounds on what one client can hold open (see README, "Limits").
  HTTP_MAX_CONNECTIONS: int(1, 1_000_000, 4096),
  HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000, 10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 3_600_000, 120_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(1000, 600_000, 5_000),
  OPERATION_DEADLINE_MS: int(1000, 600_000, 30_000),

  GATEWAY_API_KEYS: optionalSecret,
  GATEWAY_API_KEYS_FILE: z.string().trim().optional(),
  // End-user sign-in: a JSON file of identity providers (issuer, JWKS URL, audience, tenant).
  AUTH_JWT_PROVIDERS_FILE: z.string().trim().optional(),
  // A provider's key set is fetched again for an unknown `kid` at most this often (a flood of bad
  // kids cannot hammer it); tokens' exp/nbf are allowed this much clock skew.
  AUTH_JWKS_REFETCH_FLOOR_MS: int(100, 3_600_000, 30_000),
  AUTH_JWT_CLOCK_TOLERANCE_SECONDS: int(0, 300, 30),
  GATEWAY_ALLOW_ANONYMOUS: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true'),
  GATEWAY_ID_SECRET: optionalSecret,
  METRICS_TOKEN: optionalSecret,

  UPSTREAM_API_KEY: optionalSecret,
  UPSTREAM_BASE_URL: httpUrl('https://api.highwayapi.ai'),
  UPSTREAM_TIMEOUT_MS: int(100, 600_000, 30_000),
  UPSTREAM_CONNECT_TIMEOUT_MS: int(100, 120_000, 10_000),
  UPSTREAM_MAX_CONNECTIONS: int(1, 1024, 64),
  UPSTREAM_MAX_RESPONSE_BYTES: int(1024, 64 * MiB, 2 * MiB),
  UPSTREAM_READ_RETRIES: int(0, 10, 3),
  UPSTREAM_RETRY_BASE_DELAY_MS: int(0, 60_000, 250),
  UPSTREAM_RETRY_MAX_DELAY_MS: int(0, 120_000, 4_000),
  UPSTREAM_RETRY_AFTER_CAP_MS: int(0, 300_000, 10_000),
  UPSTREAM_DEADLINE_MS: int(100, 600_000, 20_000),
  UPSTREAM_DEGRADED_AFTER_TIMEOUTS: int(1, 1000, 5),

  GRAPHQL_MAX_DEPTH: int(1, 100, 8),
  GRAPHQL_MAX_ALIASES: int(0, 1000, 15),
  GRAPHQL_MAX_TOKENS: int(50, 100_000, 2000),
  GRAPHQL_MAX_DIRECTIVES: int(0, 1000, 10),
  GRAPHQL_MAX_COST: int(1, 1_000_000, 5000),
  OPERATION_MAX_TASK_READS: int(1, 1000, 100),
  GRAPHQL_MAX_VARIABLE_VALUES: int(1, 1_000_000, 1000),
  GRAPHQL_MAX_QUERY_CHARS: int(100, 10_000_000, 100_000),
  CORS_ORIGINS: z.string().trim().optional(),
  GRAPHIQL_ENABLED: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  // Trusted documents: the operations a manifest holds (see README, "Persisted operations").
  PERSISTED_DOCUMENTS_FILE: z.string().trim().optional(),
  PERSISTED_DOCUMENTS_ALLOW_ARBITRARY: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),

  CREATE_RATE_LIMIT_PER_MINUTE: int(1, 100_000, 60),
  CREATE_USER_RATE_LIMIT_PER_MINUTE: int(1, 100_000, 10),
  CREATE_USER_RATE_LIMIT_BURST: int(1, 100_000, 5),
  CREATE_RATE_LIMIT_BURST: int(1, 100_000, 30),
  CREATE_MAX_CONCURRENT: int(1, 10_000, 16),
  CREATE_MAX_CONCURRENT_PER_TENANT: int(1, 10_000, 4),
  IDEMPOTENCY_MAX_KEYS: int(1, 10_000_000, 100_000),

  REDIS_URL: z
    .string()
    .trim()
    .optional()
    .refine((value) => value === undefined || value === '' || isRedisUrl(value), {
      error: 'must be a redis:// or rediss:// URL with a host, an optional port and an optional database number',
    }),
  REDIS_KEY_PREFIX: z.string().trim().regex(/^[A-Za-z0-9:_-]{1,64}$/, { error: 'must be 1-64 letters, digits, :, _ or -' }).default('vgw:'),
  REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000, 1000),
  IDEMPOTENCY_WAIT_MS: int(0, 120_000, 10_000),

  // The durable task history: a SQLite file under DATA_DIR, or PostgreSQL when DATABASE_URL is set.
  DATA_DIR: z.string().trim().min(1, { error: 'must not be empty' }).default('./data'),
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .refine((value) => value === undefined || value === '' || isPostgresUrl(value), {
      error: 'must be a postgres:// or postgresql:// URL with a host and a database name, e.g. postgres://user:password@db.example.com:5432/gateway',
    })
    .transform((value) => (value === undefined || value === '' ? undefined : value)),

  // Copies of finished videos (src/videos/): a folder under DATA_DIR, or S3-compatible storage
  // (VIDEO_STORAGE_URL=s3://bucket/prefix) for many replicas; see VideoConfig for each setting.
  VIDEO_STORAGE_URL: z
    .string()
    .trim()
    .optional()
    .refine((value) => value === undefined || value === '' || parseS3Url(value) !== undefined, {
      error: 'must be s3://bucket or s3://bucket/prefix (bucket: 3-63 lower-case letters, digits, dots or hyphens)',
    })
    .transform((value) => (value === undefined || value === '' ? undefined : value)),
  VIDEO_STORAGE_S3_ENDPOINT: httpUrl('').optional(),
  VIDEO_STORAGE_S3_REGION: z.string().trim().regex(/^[a-z0-9-]{1,40}$/, { error: 'must be a region name such as us-east-1' }).default('us-east-1'),
  VIDEO_STORAGE_S3_ACCESS_KEY_ID: z.string().trim().min(1).optional(),
  VIDEO_STORAGE_S3_SECRET_ACCESS_KEY: z.string().trim().min(1).optional(),
  VIDEO_STORAGE_S3_FORCE_PATH_STYLE: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  VIDEO_COPY_CONCURRENCY: int(0, 64, 2),
  VIDEO_COPY_MAX_BYTES: int(1024, 4096 * MiB, 512 * MiB),
  VIDEO_COPY_TIMEOUT_MS: int(100, 3_600_000, 300_000),
  VIDEO_COPY_RESCAN_INTERVAL_MS: int(100, 86_400_000, 30_000),
  VIDEO_COPY_RETRY_MAX_DELAY_MS: int(100, 7 * 86_400_000, 3_600_000),
  VIDEO_LINK_TTL_SECONDS: int(10, 7 * 86_400, 3600),
  WATCH_LINK_TTL_SECONDS: int(10, 7 * 86_400, 3600),
  WATCH_LINK_MAX_STREAMS: int(1, 100_000, 20),
  VIDEO_RETENTION_DAYS: int(1, 36_500, 30),
  VIDEO_RETENTION_SWEEP_INTERVAL_MS: int(1000, 86_400_000, 3_600_000),

  // Credit budgets (src/create-video/budget-ledger.ts): what a create costs, and daily limits per
  // tenant and per signed-in user; BUDGETS_FILE sets them per tenant.
  CREDIT_WEIGHTS: z
    .string()
    .trim()
    .regex(/^540p:\d{1,6},720p:\d{1,6},1080p:\d{1,6}$/, { error: 'must be 540p:<units>,720p:<units>,1080p:<units> (whole units per second of video)' })
    .default('540p:1,720p:2,1080p:4'),
  BUDGET_TENANT_DAILY_UNITS: optionalInt(0, 1_000_000_000),
  BUDGET_USER_DAILY_UNITS: optionalInt(0, 1_000_000_000),
  BUDGETS_FILE: z.string().trim().optional(),

  IMAGE_MAX_DECODED_BYTES: int(1024, 50 * MiB, 10 * MiB),
  // Multipart uploads: files per request (a create takes at most 7 images), and the size of each of
  // the `operations` and `map` fields. Each file's cap is IMAGE_MAX_DECODED_BYTES.
  UPLOAD_MAX_FILES: int(1, 100, 7),
  UPLOAD_MAX_FIELD_BYTES: int(1024, 100 * MiB, 1 * MiB),
  // The upstream refuses bodies over 20 MB; we check before sending so no credit is at stake.
  CREATE_MAX_BODY_BYTES: int(1024, 20_000_000, 20_000_000),
  // Yoga has no request body limit of its own; a create carries at most ~20 MB of images.
  REQUEST_MAX_BODY_BYTES: int(1024, 100_000_000, 25_000_000),

  LIVE_POLL_MIN_INTERVAL_MS: int(100, 60_000, 1_000),
  LIVE_POLL_MAX_INTERVAL_MS: int(100, 300_000, 10_000),
  LIVE_POLL_JITTER_PERCENT: int(0, 50, 20),
  LIVE_MAX_CONSECUTIVE_FAILURES: int(1, 100, 3),
  // Server-side following of every task created through the gateway (src/live/task-follower.ts):
  // tasks followed at once (0: none), how often the history is scanned for unfollowed unfinished
  // tasks, and the longest rest of a task whose following ended in an error before it is retried.
  FOLLOW_MAX_TASKS: int(0, 1_000_000, 10_000),
  FOLLOW_RESCAN_INTERVAL_MS: int(100, 86_400_000, 60_000),
  FOLLOW_RETRY_MAX_DELAY_MS: int(100, 7 * 86_400_000, 3_600_000),
  TASK_CACHE_PENDING_TTL_MS: int(0, 60_000, 1_000),
  TASK_CACHE_FAILED_TTL_MS: int(0, 86_400_000, 600_000),
  TASK_CACHE_URL_EXPIRY_MARGIN_MS: int(0, 86_400_000, 300_000),
  TASK_CACHE_MAX_ENTRIES: int(0, 10_000_000, 10_000),
  TASK_CACHE_MAX_BYTES: int(1024, 4096 * MiB, 32 * MiB),
  RESPONSE_CACHE_MAX_BYTES: int(1024, 4096 * MiB, 32 * MiB),
  RESPONSE_CACHE_MAX_ENTRY_BYTES: int(256, 64 * MiB, 256 * 1024),
  TASK_UNKNOWN_ID_READS_PER_MINUTE: int(1, 1_000_000, 120),
  TASK_UNKNOWN_ID_READS_BURST: int(1, 1_000_000, 200),

  WS_MAX_PAYLOAD_BYTES: int(1024, 100_000_000, 1 * MiB),
  WS_UNAUTHENTICATED_MAX_PAYLOAD_BYTES: int(1024, 100_000_000, 64 * 1024),
  LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1, 100_000, 100),
  LIVE_MAX_SUBSCRIPTIONS_PER_TENANT: int(1, 10_000_000, 1000),
  LIVE_MAX_POLLERS_PER_TENANT: int(1, 10_000_000, 500),
  // Apollo's multipart subscriptions: an idle stream sends a `{}` part this often (Apollo Router: 5 s).
  LIVE_MULTIPART_HEARTBEAT_MS: int(100, 60_000, 5_000),
  // graphql-sse single-connection mode: streams one tenant (or caller address) may hold, reserved or
  // open, and how long a reserved stream waits for its event stream before it is dropped.
  LIVE_MAX_SSE_STREAMS_PER_TENANT: int(1, 10_000_000, 1000),
  LIVE_SSE_STREAM_CONNECT_TIMEOUT_MS: int(100, 600_000, 10_000),

  SIMULATOR_HOST: z.string().trim().min(1, { error: 'must not be empty' }).default('127.0.0.1'),
  SIMULATOR_PORT: int(0, 65_535, 4010),
  SIMULATOR_API_KEY: z.string().trim().min(8, { error: 'must be at least 8 characters' }).default('sim-local-key'),
  SIMULATOR_TASK_DURATION_MS: int(0, 86_400_000, 8_000),
});

type Env = z.infer<typeof envSchema>;

export interface UpstreamConfig {
  /** Undefined means: run the embedded simulator and point the gateway at it. */
  apiKey: string | undefined;
  baseUrl: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  maxConnections: number;
  maxResponseBytes: number;
  readRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  retryAfterCapMs: number;
  /** One call, all its attempts and waits included, ends with UPSTREAM_TIMEOUT after this long. */
  deadlineMs: number;
  /** Consecutive timed-out attempts after which /ready reports the upstream as degraded. */
  degradedAfterTimeouts: number;
}

export interface SimulatorConfig {
  host: string;
  port: number;
  apiKey: string;
  taskDurationMs: number;
}

export interface LiveConfig {
  pollMinIntervalMs: number;
  pollMaxIntervalMs: number;
  /** Each interval is stretched or shrunk by up to this share, so tasks do not poll in lockstep. */
  pollJitter: number;
  /** Consecutive failed polls after which a subscription gets the error and ends. */
  maxConsecutiveFailures: number;
  /** Open subscriptions on one WebSocket. */
  maxSubscriptionsPerConnection: number;
  /** Open subscriptions of one tenant (one caller address on an open gateway), over SSE and WebSocket. */
  maxSubscriptionsPerTenant: number;
  /** Distinct tasks one tenant may have polled for its subscriptions at once. */
  maxPollersPerTenant: number;
}

/** Following every task created through the gateway to its end, server-side. */
export interface FollowConfig {
  /** Tasks followed at once in this process; more wait in the history for a place. 0: following is off. */
  maxTasks: number;
  /** How often the history is scanned for unfinished tasks nobody here follows (other replicas', waiting, resting). */
  rescanIntervalMs: number;
  /** A task whose following ended in an error rests before it is followed again: doubling from the rescan interval up to this. */
  retryMaxDelayMs: number;
}

/** The HTTP subscription transports besides Yoga's own SSE: Apollo's multipart, graphql-sse's single connection. */
export interface StreamTransportsConfig {
  /** Interval of the `{}` heartbeat parts of Apollo's multipart subscriptions. */
  multipartHeartbeatMs: number;
  /** graphql-sse single-connection streams (reserved or open) of one tenant (one caller address on an open gateway). */
  maxSseStreamsPerTenant: number;
  /** A reserved graphql-sse stream whose event stream has not connected within this is dropped. */
  sseStreamConnectTimeoutMs: number;
  /** A Task.watchUrl (SSE for EventSource) lives at least this long from the read that made it (at most twice). */
  watchLinkTtlSeconds: number;
  /** Streams one watch link may hold open at once (they count against the tenant's subscription limits). */
  watchLinkMaxStreams: number;
}

export interface TaskCacheConfig {
  /** How long a non-terminal result may be served to queries; never longer than the shortest poll interval. */
  pendingTtlMs: number;
  failedTtlMs: number;
  /** Terminal successes are dropped this long before their earliest video URL expires. */
  urlExpiryMarginMs: number;
  /** 0 turns the cache off (every read goes upstream; in-flight reads are still shared). */
  maxEntries: number;
  /** The task cache's size bound, in (estimated) bytes. */
  maxBytes: number;
  /** The response cache's size bound, in bytes, and the largest response it keeps. */
  responseMaxBytes: number;
  responseMaxEntryBytes: number;
  /** Reads of task ids this gateway has never seen exist: a token bucket per tenant (or caller address). */
  unknownIdReadsPerMinute: number;
  unknownIdReadsBurst: number;
}

export interface AuthConfig {
  /** Undefined: the gateway is open (no client keys). */
  clients: ClientKey[] | undefined;
  /** Signs the task ids handed to tenants and users; set whenever clients or providers are. */
  idSecret: string | undefined;
  /** Identity providers whose JWTs sign users in (AUTH_JWT_PROVIDERS_FILE); undefined: none. */
  jwtProviders: JwtProvider[] | undefined;
  jwksRefetchFloorMs: number;
  jwtClockToleranceSeconds: number;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
}

export interface GraphQLLimitsConfig {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxCost: number;
  /** Distinct tasks one operation may read, whatever its shape: the bound on upstream reads per operation. */
  maxTaskReads: number;
  /** Values (list items, object fields, scalars) in one operation's variables, counted before coercion. */
  maxVariableValues: number;
  /** Length of the query document, checked before it is parsed. */
  maxQueryChars: number;
}

export interface HttpExposureConfig {
  /** Origins allowed by CORS; undefined means loopback origins only (development). */
  corsOrigins: string[] | undefined;
  graphiql: boolean;
  introspection: boolean;
}

export interface CreateLimitsConfig {
  /** Token bucket per tenant: refill rate and size. */
  perMinute: number;
  burst: number;
  /** Token bucket per signed-in user (beside the tenant's): refill rate and size. */
  userPerMinute: number;
  userBurst: number;
  /** Upstream creates in flight at once in this process, and for one tenant. */
  maxConcurrent: number;
  maxConcurrentPerTenant: number;
  /** Idempotency records kept (each for 24 h). */
  idempotencyMaxKeys: number;
  /** How long a request waits for another one holding the same Idempotency-Key (shared store only). */
  idempotencyWaitMs: number;
}

/** What one client can hold open, and for how long. */
export interface HttpLimitsConfig {
  maxConnections: number;
  /** Time to send the request headers, from the connection's start (idle sockets included). */
  headersTimeoutMs: number;
  /** Time to send the whole request, body included. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** A query or mutation, all upstream calls and retries included, answers within this. */
  operationDeadlineMs: number;
  /** WebSocket frames: after a key came with the upgrade (or on an open gateway), and before. */
  wsMaxPayloadBytes: number;
  wsUnauthenticatedMaxPayloadBytes: number;
}

/** Where copies of finished videos are kept, and the bounds of copying and serving them. */
export interface VideoConfig {
  /** Undefined: a folder under DATA_DIR (`<DATA_DIR>/videos`). */
  s3: S3StorageConfig | undefined;
  /** Copies made at once in this process; 0: videos are not copied (links stay the upstream's). */
  copyConcurrency: number;
  /** A video larger than this is not copied. */
  copyMaxBytes: number;
  /** One download, headers and body, must finish within this. */
  copyTimeoutMs: number;
  /** How often the history is scanned for copies due (new, retried, or left by a process that died). */
  copyRescanIntervalMs: number;
  /** Retries of a failed copy back off, doubling, up to this. */
  copyRetryMaxDelayMs: number;
  /** A stored video's link is valid for at least this long from the read that made it (at most twice it). */
  linkTtlSeconds: number;
  /** Records and copies older than this many days are removed. */
  retentionDays: number;
  /** How often the retention sweep runs. */
  retentionSweepIntervalMs: number;
}

export interface S3StorageConfig {
  bucket: string;
  /** Object names start with `<prefix>/`; '' for none. */
  prefix: string;
  /** An S3-compatible server (MinIO, R2, …); undefined: AWS S3 itself. */
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Undefined: the AWS SDK's default credential chain (environment, profile, instance role). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/** Daily credit limits; undefined: unlimited. */
export interface BudgetLimitsConfig {
  tenantDaily: number | undefined;
  userDaily: number | undefined;
}

/** What creates cost, and how much a tenant and each of its signed-in users may spend per UTC day. */
export interface BudgetConfig {
  weights: { '540p': number; '720p': number; '1080p': number };
  /** For every tenant not named in `perTenant` (and the open gateway's one shared budget). */
  defaults: BudgetLimitsConfig;
  /** From BUDGETS_FILE: a tenant's own limits (a limit it leaves out is the default's). */
  perTenant: Record<string, BudgetLimitsConfig>;
}

/** Where the durable task history lives. */
export interface HistoryConfig {
  /** The SQLite file goes here (created if missing) when `databaseUrl` is unset. */
  dataDir: string;
  /** A PostgreSQL URL (it may carry a password: never log it); undefined: SQLite under `dataDir`. */
  databaseUrl: string | undefined;
}

export interface RedisConfig {
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
}

export interface PersistedDocumentsConfig {
  /** PERSISTED_DOCUMENTS_FILE, for log lines. */
  file: string;
  /** Document id → document text, as graphql-codegen's client preset writes them. */
  documents: Record<string, string>;
  /** Whether operations sent as text still run; false: only the manifest's operations do. */
  allowArbitrary: boolean;
}

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  host: string;
  port: number;
  /** Where browsers reach this gateway (PUBLIC_URL, no trailing slash); undefined: the address it listens on. */
  publicUrl: string | undefined;
  /** On shutdown, in-flight requests get this long to finish before their connections are cut. */
  shutdownGraceMs: number;
  http: HttpLimitsConfig;
  auth: AuthConfig;
  graphqlLimits: GraphQLLimitsConfig;
  createLimits: CreateLimitsConfig;
  /** Undefined: all shared state stays in this process's memory. */
  redis: RedisConfig | undefined;
  history: HistoryConfig;
  videos: VideoConfig;
  budgets: BudgetConfig;
  exposure: HttpExposureConfig;
  upstream: UpstreamConfig;
  limits: {
    imageMaxDecodedBytes: number;
    uploadMaxFiles: number;
    uploadMaxFieldBytes: number;
    createMaxBodyBytes: number;
    requestMaxBodyBytes: number;
  };
  live: LiveConfig;
  follow: FollowConfig;
  streams: StreamTransportsConfig;
  taskCache: TaskCacheConfig;
  simulator: SimulatorConfig;
  /** Undefined: any operation may be sent as text (no manifest). */
  persistedDocuments: PersistedDocumentsConfig | undefined;
}

/** Rules between settings, checked after each one is valid on its own. */
function crossCheck(e: Env, set: ReadonlySet<string>): string | undefined {
  if (e.LIVE_POLL_MAX_INTERVAL_MS < e.LIVE_POLL_MIN_INTERVAL_MS) {
    return `LIVE_POLL_MAX_INTERVAL_MS must be at least LIVE_POLL_MIN_INTERVAL_MS (${e.LIVE_POLL_MIN_INTERVAL_MS})`;
  }
  // A cached pending result older than a poll interval would hide changes the pollers already saw.
  if (e.TASK_CACHE_PENDING_TTL_MS > e.LIVE_POLL_MIN_INTERVAL_MS) {
    return `TASK_CACHE_PENDING_TTL_MS must be at most LIVE_POLL_MIN_INTERVAL_MS (${e.LIVE_POLL_MIN_INTERVAL_MS})`;
  }
  // A WebSocket frame must not carry more than an HTTP request may (defaults shrink to fit instead).
  if (e.WS_MAX_PAYLOAD_BYTES > e.REQUEST_MAX_BODY_BYTES && set.has('WS_MAX_PAYLOAD_BYTES')) {
    return `WS_MAX_PAYLOAD_BYTES must be at most REQUEST_MAX_BODY_BYTES (${e.REQUEST_MAX_BODY_BYTES})`;
  }
  if (e.WS_UNAUTHENTICATED_MAX_PAYLOAD_BYTES > e.WS_MAX_PAYLOAD_BYTES && set.has('WS_UNAUTHENTICATED_MAX_PAYLOAD_BYTES')) {
    return `WS_UNAUTHENTICATED_MAX_PAYLOAD_BYTES must be at most WS_MAX_PAYLOAD_BYTES (${e.WS_MAX_PAYLOAD_BYTES})`;
  }
  if (e.RESPONSE_CACHE_MAX_ENTRY_BYTES > e.RESPONSE_CACHE_MAX_BYTES && set.has('RESPONSE_CACHE_MAX_ENTRY_BYTES')) {
    return `RESPONSE_CACHE_MAX_ENTRY_BYTES must be at most RESPONSE_CACHE_MAX_BYTES (${e.RESPONSE_CACHE_MAX_BYTES})`;
  }
  return undefined;
}

const ID_SECRET_MIN_LENGTH = 32;

function loadPersistedDocuments(e: Env): PersistedDocumentsConfig | undefined {
  if (!e.PERSISTED_DOCUMENTS_FILE) {
    // Alone it would change nothing, so whoever set it expected a manifest that is not there.
    if (e.PERSISTED_DOCUMENTS_ALLOW_ARBITRARY !== undefined) {
      throw new ConfigError('Invalid configuration: PERSISTED_DOCUMENTS_ALLOW_ARBITRARY needs PERSISTED_DOCUMENTS_FILE (the manifest)');
    }
    return undefined;
  }
  const file = e.PERSISTED_DOCUMENTS_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`Invalid configuration: PERSISTED_DOCUMENTS_FILE cannot be read (${JSON.stringify(file)})`);
  }
  const parsed = parsePersistedDocuments(text);
  if (!parsed.ok) throw new ConfigError(`Invalid configuration: PERSISTED_DOCUMENTS_FILE ${parsed.problem} (${JSON.stringify(file)})`);
  return { file, documents: parsed.documents, allowArbitrary: e.PERSISTED_DOCUMENTS_ALLOW_ARBITRARY === 'true' };
}

function loadAuth(e: Env): AuthConfig {
  if (e.GATEWAY_API_KEYS !== undefined && e.GATEWAY_API_KEYS_FILE) {
    throw new ConfigError('Invalid configuration: set GATEWAY_API_KEYS or GATEWAY_API_KEYS_FILE, not both');
  }
  let source: { name: string; text: string } | undefined;
  if (e.GATEWAY_API_KEYS !== undefined) source = { name: 'GATEWAY_API_KEYS', text: e.GATEWAY_API_KEYS };
  if (e.GATEWAY_API_KEYS_FILE) {
    try {
      source = { name: 'GATEWAY_API_KEYS_FILE', text: readFileSync(e.GATEWAY_API_KEYS_FILE, 'utf8') };
    } catch {
      throw new ConfigError(`Invalid configuration: GATEWAY_API_KEYS_FILE cannot be read (${JSON.stringify(e.GATEWAY_API_KEYS_FILE)})`);
    }
  }
  const jwtProviders = loadJwtProviders(e);
  if (jwtProviders !== undefined && (e.GATEWAY_ID_SECRET === undefined || e.GATEWAY_ID_SECRET.length < ID_SECRET_MIN_LENGTH)) {
    // A user's task ids carry the user under this secret: without it, users could read each other's tasks.
    throw new ConfigError(`Invalid configuration: GATEWAY_ID_SECRET must be set to at least ${ID_SECRET_MIN_LENGTH} characters when AUTH_JWT_PROVIDERS_FILE is set`);
  }
  if (source === undefined) {
    if (jwtProviders !== undefined) return { clients: undefined, idSecret: e.GATEWAY_ID_SECRET, metricsToken: e.METRICS_TOKEN, jwtProviders, ...jwtTiming(e) };
    if (e.NODE_ENV === 'production' && !e.GATEWAY_ALLOW_ANONYMOUS) {
      throw new ConfigError(
        'Invalid configuration: NODE_ENV=production needs client keys (GATEWAY_API_KEYS or GATEWAY_API_KEYS_FILE), or GATEWAY_ALLOW_ANONYMOUS=true for an open gateway',
      );
    }
    return { clients: undefined, idSecret: e.GATEWAY_ID_SECRET, metricsToken: e.METRICS_TOKEN, jwtProviders, ...jwtTiming(e) };
  }
  const parsed = parseClientKeys(source.text, { comments: source.name === 'GATEWAY_API_KEYS_FILE' });
  if (!parsed.ok) throw new ConfigError(`Invalid configuration: ${source.name} ${parsed.problem}`);
  // Ids must verify after a restart and on every replica, so the secret cannot be made up here.
  if (e.GATEWAY_ID_SECRET === undefined || e.GATEWAY_ID_SECRET.length < ID_SECRET_MIN_LENGTH) {
    throw new ConfigError(`Invalid configuration: GATEWAY_ID_SECRET must be set to at least ${ID_SECRET_MIN_LENGTH} characters when client keys are set`);
  }
  return { clients: parsed.keys, idSecret: e.GATEWAY_ID_SECRET, metricsToken: e.METRICS_TOKEN, jwtProviders, ...jwtTiming(e) };
}

function jwtTiming(e: Env): Pick<AuthConfig, 'jwksRefetchFloorMs' | 'jwtClockToleranceSeconds'> {
  return { jwksRefetchFloorMs: e.AUTH_JWKS_REFETCH_FLOOR_MS, jwtClockToleranceSeconds: e.AUTH_JWT_CLOCK_TOLERANCE_SECONDS };
}

function loadJwtProviders(e: Env): JwtProvider[] | undefined {
  if (!e.AUTH_JWT_PROVIDERS_FILE) return undefined;
  let text: string;
  try {
    text = readFileSync(e.AUTH_JWT_PROVIDERS_FILE, 'utf8');
  } catch {
    throw new ConfigError(`Invalid configuration: AUTH_JWT_PROVIDERS_FILE cannot be read (${JSON.stringify(e.AUTH_JWT_PROVIDERS_FILE)})`);
  }
  const parsed = parseJwtProviders(text);
  if (!parsed.ok) throw new ConfigError(`Invalid configuration: AUTH_JWT_PROVIDERS_FILE ${parsed.problem}`);
  return parsed.providers;
}

const budgetLimit = z.int().min(0).max(1_000_000_000).nullable().optional();
const budgetsFileSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'tenant names are letters, digits, _ or -' }),
  z.strictObject({ tenantDaily: budgetLimit, userDaily: budgetLimit }),
);

function loadBudgets(e: Env): BudgetConfig {
  const [w540, w720, w1080] = (e.CREDIT_WEIGHTS.match(/\d+/g) ?? []).filter((_, i) => i % 2 === 1).map(Number);
  const defaults = { tenantDaily: e.BUDGET_TENANT_DAILY_UNITS, userDaily: e.BUDGET_USER_DAILY_UNITS };
  const perTenant: Record<string, BudgetLimitsConfig> = {};
  if (e.BUDGETS_FILE) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(e.BUDGETS_FILE, 'utf8'));
    } catch {
      throw new ConfigError(`Invalid configuration: BUDGETS_FILE cannot be read as JSON (${JSON.stringify(e.BUDGETS_FILE)})`);
    }
    const checked = budgetsFileSchema.safeParse(parsed);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new ConfigError(`Invalid configuration: BUDGETS_FILE ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'is not valid'} (expected { "<tenant>": { "tenantDaily": n, "userDaily": n } })`);
    }
    for (const [tenant, limits] of Object.entries(checked.data)) {
      // null: unlimited for this tenant; left out: the default.
      perTenant[tenant] = {
        tenantDaily: limits.tenantDaily === undefined ? defaults.tenantDaily : (limits.tenantDaily ?? undefined),
        userDaily: limits.userDaily === undefined ? defaults.userDaily : (limits.userDaily ?? undefined),
      };
    }
  }
  return { weights: { '540p': w540 ?? 1, '720p': w720 ?? 2, '1080p': w1080 ?? 4 }, defaults, perTenant };
}

/** `s3://bucket[/prefix]` → its parts; undefined when it is not one. */
function parseS3Url(value: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value);
  if (!match?.[1]) return undefined;
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  // Object names are joined onto it; `..` or empty segments would make names no store agrees on.
  if (prefix !== '' && prefix.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) return undefined;
  return { bucket: match[1], prefix };
}

function loadS3Storage(e: Env): S3StorageConfig | undefined {
  const s3Settings = ['VIDEO_STORAGE_S3_ENDPOINT', 'VIDEO_STORAGE_S3_ACCESS_KEY_ID', 'VIDEO_STORAGE_S3_SECRET_ACCESS_KEY', 'VIDEO_STORAGE_S3_FORCE_PATH_STYLE'] as const;
  const location = e.VIDEO_STORAGE_URL === undefined ? undefined : parseS3Url(e.VIDEO_STORAGE_URL);
  if (location === undefined) {
    const stray = s3Settings.find((name) => e[name] !== undefined && e[name] !== '');
    // Alone they change nothing, so whoever set one expected S3 storage that is not configured.
    if (stray) throw new ConfigError(`Invalid configuration: ${stray} needs VIDEO_STORAGE_URL (s3://bucket/prefix)`);
    return undefined;
  }
  const accessKeyId = e.VIDEO_STORAGE_S3_ACCESS_KEY_ID;
  const secretAccessKey = e.VIDEO_STORAGE_S3_SECRET_ACCESS_KEY;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError(
      `Invalid configuration: ${accessKeyId === undefined ? 'VIDEO_STORAGE_S3_ACCESS_KEY_ID' : 'VIDEO_STORAGE_S3_SECRET_ACCESS_KEY'} must be set together with ${accessKeyId === undefined ? 'VIDEO_STORAGE_S3_SECRET_ACCESS_KEY' : 'VIDEO_STORAGE_S3_ACCESS_KEY_ID'}`,
    );
  }
  const endpoint = e.VIDEO_STORAGE_S3_ENDPOINT === '' ? undefined : e.VIDEO_STORAGE_S3_ENDPOINT;
  return {
    ...location,
    endpoint,
    region: e.VIDEO_STORAGE_S3_REGION,
    // S3-compatible servers mostly want bucket-in-path; AWS itself wants virtual hosts.
    forcePathStyle: e.VIDEO_STORAGE_S3_FORCE_PATH_STYLE === undefined ? endpoint !== undefined : e.VIDEO_STORAGE_S3_FORCE_PATH_STYLE === 'true',
    credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : undefined,
  };
}

export interface LoadOptions {
  /** 'simulator': the standalone simulator, which serves no clients and needs no client keys. */
  role?: 'gateway' | 'simulator';
}

/** Reads and validates the settings; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    const raw = env[name];
    // Never echo secrets back, even in an error message: nor a URL that may carry a password.
    const shown = /KEY|SECRET|TOKEN|REDIS_URL|DATABASE_URL/.test(name) || raw === undefined || raw.includes('@') ? '' : ` (got ${JSON.stringify(raw)})`;
    throw new ConfigError(`Invalid configuration: ${name} ${issue?.message ?? 'is invalid'}${shown}`);
  }
  const e = parsed.data;
  const conflict = crossCheck(e, new Set(Object.keys(env).filter((name) => env[name] !== undefined && env[name] !== '')));
  // Limits left at their defaults shrink to fit a smaller limit they depend on, rather than refuse to start.
  const wsMaxPayloadBytes = Math.min(e.WS_MAX_PAYLOAD_BYTES, e.REQUEST_MAX_BODY_BYTES);
  const wsUnauthenticatedMaxPayloadBytes = Math.min(e.WS_UNAUTHENTICATED_MAX_PAYLOAD_BYTES, wsMaxPayloadBytes);
  if (conflict !== undefined) throw new ConfigError(`Invalid configuration: ${conflict}`);
  const auth: AuthConfig = options.role === 'simulator' ? { clients: undefined, idSecret: undefined, metricsToken: undefined, jwtProviders: undefined, ...jwtTiming(e) } : loadAuth(e);
  const persistedDocuments = options.role === 'simulator' ? undefined : loadPersistedDocuments(e);
  return {
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    http: {
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      operationDeadlineMs: e.OPERATION_DEADLINE_MS,
      wsMaxPayloadBytes,
      wsUnauthenticatedMaxPayloadBytes,
    },
    auth,
    persistedDocuments,
    graphqlLimits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxCost: e.GRAPHQL_MAX_COST,
      maxTaskReads: e.OPERATION_MAX_TASK_READS,
      maxVariableValues: e.GRAPHQL_MAX_VARIABLE_VALUES,
      maxQueryChars: e.GRAPHQL_MAX_QUERY_CHARS,
    },
    createLimits: {
      perMinute: e.CREATE_RATE_LIMIT_PER_MINUTE,
      burst: e.CREATE_RATE_LIMIT_BURST,
      userPerMinute: e.CREATE_USER_RATE_LIMIT_PER_MINUTE,
      userBurst: e.CREATE_USER_RATE_LIMIT_BURST,
      maxConcurrent: e.CREATE_MAX_CONCURRENT,
      // Never above the process cap, whichever was set.
      maxConcurrentPerTenant: Math.min(e.CREATE_MAX_CONCURRENT_PER_TENANT, e.CREATE_MAX_CONCURRENT),
      idempotencyMaxKeys: e.IDEMPOTENCY_MAX_KEYS,
      idempotencyWaitMs: e.IDEMPOTENCY_WAIT_MS,
    },
    redis: e.REDIS_URL ? { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS } : undefined,
    history: { dataDir: e.DATA_DIR, databaseUrl: e.DATABASE_URL },
    budgets: loadBudgets(e),
    videos: {
      s3: loadS3Storage(e),
      copyConcurrency: e.VIDEO_COPY_CONCURRENCY,
      copyMaxBytes: e.VIDEO_COPY_MAX_BYTES,
      copyTimeoutMs: e.VIDEO_COPY_TIMEOUT_MS,
      copyRescanIntervalMs: e.VIDEO_COPY_RESCAN_INTERVAL_MS,
      copyRetryMaxDelayMs: e.VIDEO_COPY_RETRY_MAX_DELAY_MS,
      linkTtlSeconds: e.VIDEO_LINK_TTL_SECONDS,
      retentionDays: e.VIDEO_RETENTION_DAYS,
      retentionSweepIntervalMs: e.VIDEO_RETENTION_SWEEP_INTERVAL_MS,
    },
    exposure: {
      // Unset: loopback origins (http://localhost:*) in development, none in production. Set: exactly these.
      corsOrigins:
        e.CORS_ORIGINS === undefined || e.CORS_ORIGINS === ''
          ? e.NODE_ENV === 'production'
            ? []
            : undefined
          : e.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean),
      // Production hides the schema browser and introspection unless asked for explicitly.
      graphiql: e.GRAPHIQL_ENABLED === undefined ? e.NODE_ENV !== 'production' : e.GRAPHIQL_ENABLED === 'true',
      introspection: e.GRAPHQL_INTROSPECTION === undefined ? e.NODE_ENV !== 'production' : e.GRAPHQL_INTROSPECTION === 'true',
    },
    upstream: {
      apiKey: e.UPSTREAM_API_KEY,
      baseUrl: e.UPSTREAM_BASE_URL,
      timeoutMs: e.UPSTREAM_TIMEOUT_MS,
      connectTimeoutMs: e.UPSTREAM_CONNECT_TIMEOUT_MS,
      maxConnections: e.UPSTREAM_MAX_CONNECTIONS,
      maxResponseBytes: e.UPSTREAM_MAX_RESPONSE_BYTES,
      readRetries: e.UPSTREAM_READ_RETRIES,
      retryBaseDelayMs: e.UPSTREAM_RETRY_BASE_DELAY_MS,
      retryMaxDelayMs: e.UPSTREAM_RETRY_MAX_DELAY_MS,
      retryAfterCapMs: e.UPSTREAM_RETRY_AFTER_CAP_MS,
      deadlineMs: e.UPSTREAM_DEADLINE_MS,
      degradedAfterTimeouts: e.UPSTREAM_DEGRADED_AFTER_TIMEOUTS,
    },
    limits: {
      imageMaxDecodedBytes: e.IMAGE_MAX_DECODED_BYTES,
      uploadMaxFiles: e.UPLOAD_MAX_FILES,
      uploadMaxFieldBytes: e.UPLOAD_MAX_FIELD_BYTES,
      createMaxBodyBytes: e.CREATE_MAX_BODY_BYTES,
      requestMaxBodyBytes: e.REQUEST_MAX_BODY_BYTES,
    },
    live: {
      pollMinIntervalMs: e.LIVE_POLL_MIN_INTERVAL_MS,
      pollMaxIntervalMs: e.LIVE_POLL_MAX_INTERVAL_MS,
      pollJitter: e.LIVE_POLL_JITTER_PERCENT / 100,
      maxConsecutiveFailures: e.LIVE_MAX_CONSECUTIVE_FAILURES,
      maxSubscriptionsPerConnection: e.LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxSubscriptionsPerTenant: e.LIVE_MAX_SUBSCRIPTIONS_PER_TENANT,
      maxPollersPerTenant: e.LIVE_MAX_POLLERS_PER_TENANT,
    },
    follow: { maxTasks: e.FOLLOW_MAX_TASKS, rescanIntervalMs: e.FOLLOW_RESCAN_INTERVAL_MS, retryMaxDelayMs: e.FOLLOW_RETRY_MAX_DELAY_MS },
    streams: {
      multipartHeartbeatMs: e.LIVE_MULTIPART_HEARTBEAT_MS,
      maxSseStreamsPerTenant: e.LIVE_MAX_SSE_STREAMS_PER_TENANT,
      sseStreamConnectTimeoutMs: e.LIVE_SSE_STREAM_CONNECT_TIMEOUT_MS,
      watchLinkTtlSeconds: e.WATCH_LINK_TTL_SECONDS,
      watchLinkMaxStreams: e.WATCH_LINK_MAX_STREAMS,
    },
    taskCache: {
      pendingTtlMs: e.TASK_CACHE_PENDING_TTL_MS,
      failedTtlMs: e.TASK_CACHE_FAILED_TTL_MS,
      urlExpiryMarginMs: e.TASK_CACHE_URL_EXPIRY_MARGIN_MS,
      maxEntries: e.TASK_CACHE_MAX_ENTRIES,
      maxBytes: e.TASK_CACHE_MAX_BYTES,
      responseMaxBytes: e.RESPONSE_CACHE_MAX_BYTES,
      responseMaxEntryBytes: Math.min(e.RESPONSE_CACHE_MAX_ENTRY_BYTES, e.RESPONSE_CACHE_MAX_BYTES),
      unknownIdReadsPerMinute: e.TASK_UNKNOWN_ID_READS_PER_MINUTE,
      unknownIdReadsBurst: e.TASK_UNKNOWN_ID_READS_BURST,
    },
    simulator: {
      host: e.SIMULATOR_HOST,
      port: e.SIMULATOR_PORT,
      apiKey: e.SIMULATOR_API_KEY,
      taskDurationMs: e.SIMULATOR_TASK_DURATION_MS,
    },
  };
}
