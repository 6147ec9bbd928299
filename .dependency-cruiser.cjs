// The layering of src/, checked by `npm test` (dependency-cruiser). From the top down:
//   main.ts → server.ts → gateway.ts (the one composition root)
//   → graphql-ws.ts, http/ (transports) → yoga.ts → schema/, plugins/, response-cache/
//   → context.ts (per-request context) → videos/ (copies of finished videos), create-video/, live/
//   → tasks/ (domain services) → history/ (the durable task history, below every other domain service)
//   → upstream/, auth/ and the single-file infrastructure modules (config, logger, metrics,
//     request-scope, redis-connection, read-body, token-buckets, domain-error, error-details, operation-deadline,
//     persisted-documents) at the bottom.
// The simulator stands apart: only server.ts starts it. Type-only imports count too.
const infra = '^src/(config|logger|metrics|request-scope|redis-connection|read-body|token-buckets|domain-error|error-details|operation-deadline|persisted-documents)[.]ts$|^src/(auth|upstream)/';
const domain = '^src/(create-video|live|tasks|history|videos)/';
const api = '^src/(schema|plugins|response-cache|http)/|^src/(context|yoga|graphql-ws|graphiql-examples)[.]ts$';
const root = '^src/(main|server|gateway)[.]ts$';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycles, type-only ones included.', from: {}, to: { circular: true } },
    {
      name: 'infrastructure-stays-at-the-bottom',
      severity: 'error',
      comment: 'Config, logging, metrics, Redis, the upstream client and auth import nothing above them.',
      from: { path: infra },
      to: { path: `${domain}|${api}|${root}|^src/simulator/` },
    },
    {
      name: 'domain-knows-no-graphql-or-transport',
      severity: 'error',
      comment: 'Domain services raise DomainError; they never import the schema, plugins, HTTP, Yoga, the context or graphql itself.',
      from: { path: domain },
      to: { path: `${api}|${root}|^src/simulator/|(^|/)node_modules/graphql/` },
    },
    {
      name: 'tasks-below-live-and-create',
      severity: 'error',
      comment: 'Reading tasks is shared by queries, live updates and the create flow; it depends on none of them.',
      from: { path: '^src/tasks/' },
      to: { path: '^src/(live|create-video)/' },
    },
    {
      name: 'history-below-the-other-domains',
      severity: 'error',
      comment: 'The task history is read and written by tasks, live updates and the create flow; it imports only infrastructure (task snapshot types, logger, config types).',
      from: { path: '^src/history/' },
      to: { path: '^src/', pathNot: `${infra}|^src/history/` },
    },
    {
      name: 'videos-above-the-task-services',
      severity: 'error',
      comment: 'Video copies read tasks and the history; reading tasks, live updates, the create flow and the history know nothing of them.',
      from: { path: '^src/(tasks|live|create-video|history)/' },
      to: { path: '^src/videos/' },
    },
    {
      name: 'only-the-root-chooses-the-video-store',
      severity: 'error',
      comment: 'A folder or S3 is decided in gateway.ts alone; everything else depends on the VideoStore interface.',
      from: { pathNot: '^src/(gateway[.]ts|videos/open-video-store[.]ts)$' },
      to: { path: '^src/videos/(open-video-store|folder-video-store|s3-video-store)[.]ts$' },
    },
    {
      name: 'aws-sdk-only-behind-the-s3-store',
      severity: 'error',
      from: { pathNot: '^src/videos/s3-video-store[.]ts$' },
      to: { path: '(^|/)node_modules/@aws-sdk/' },
    },
    {
      name: 'live-and-create-apart',
      severity: 'error',
      comment: 'Live updates and the create flow are separate features.',
      from: { path: '^src/(live|create-video)/' },
      to: { path: '^src/(live|create-video)/', pathNot: '^src/$1/' },
    },
    {
      name: 'yoga-imports-no-domain',
      severity: 'error',
      comment: 'yoga.ts builds Yoga from what it is handed (schema, context factory, masker).',
      from: { path: '^src/yoga[.]ts$' },
      to: { path: `${domain}|^src/(schema|upstream|auth)/|^src/context[.]ts$` },
    },
    {
      name: 'only-the-root-chooses-redis',
      severity: 'error',
      comment: 'In-memory or Redis is decided in gateway.ts alone; everything else depends on the interfaces.',
      from: { pathNot: '^src/gateway[.]ts$' },
      to: { path: '^src/(tasks|create-video|live)/redis-' },
    },
    {
      name: 'only-the-root-chooses-the-history-store',
      severity: 'error',
      comment: 'SQLite or PostgreSQL is decided in gateway.ts alone; everything else depends on the TaskHistory interface.',
      from: { pathNot: '^src/(gateway[.]ts|history/)' },
      to: { path: '^src/history/(open-task-history|sql-task-history|history-migrations)[.]ts$' },
    },
    {
      name: 'sql-drivers-only-behind-the-history-store',
      severity: 'error',
      comment: 'Kysely, pg and better-sqlite3 are the SQL implementation\'s business.',
      from: { pathNot: '^src/history/(open-task-history|sql-task-history|history-migrations)[.]ts$' },
      to: { path: '(^|/)node_modules/(kysely|pg|better-sqlite3)/' },
    },
    {
      name: 'redis-only-behind-its-implementations',
      severity: 'error',
      from: { pathNot: '^src/(gateway[.]ts|(tasks|create-video|live)/redis-|create-video/create-rate-limit[.]ts)' },
      to: { path: '^src/redis-connection[.]ts$' },
    },
    {
      name: 'only-the-server-starts-the-simulator',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(server[.]ts|simulator/)' },
      to: { path: '^src/simulator/' },
    },
    {
      name: 'api-layer-below-transports',
      severity: 'error',
      comment: 'Schema, plugins, the response cache and the context never import the transports or the root.',
      from: { path: '^src/(schema|plugins|response-cache)/|^src/context[.]ts$' },
      to: { path: `^src/http/|^src/(graphql-ws|yoga)[.]ts$|${root}` },
      // The capture plugin and schema files name Yoga's server-context type only.
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    exclude: { path: '^src/simulator/assets/' },
  },
};
