// Starts and stops the whole gateway: the upstream (or the embedded simulator when no key is
// configured), the parts the composition root (gateway.ts) builds, and the HTTP and WebSocket server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { composeGateway } from './gateway.js';
import { attachGraphQLWebSocket } from './graphql-ws.js';
import { answerClientError } from './http/client-error-answer.js';
import { simulatorVideoBaseUrl } from './http/simulator-video-route.js';
import type { TaskWatchHub } from './live/task-watch-hub.js';
import type { Logger } from './logger.js';
import { startSimulator, type Simulator } from './simulator/server.js';

export interface RunningGateway {
  /** Base URL, e.g. http://127.0.0.1:4000 (GraphQL at `${url}/graphql`). */
  url: string;
  /** Where browsers reach it: PUBLIC_URL, or else `url`. The embedded simulator's video links start with it. */
  publicUrl: string;
  /** The embedded simulator, when the gateway runs without an upstream key. */
  simulator: Simulator | undefined;
  /** Shared pollers; exposed for tests. */
  live: TaskWatchHub;
  /**
   * Graceful stop: report not-ready, stop accepting, complete subscriptions, give in-flight
   * requests SHUTDOWN_GRACE_MS, then cut what is left. Resolves with whether anything was cut.
   */
  close(): Promise<{ cutOff: boolean }>;
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  // Links handed to browsers are built on this: PUBLIC_URL, or else the address the gateway listens
  // on, which with PORT=0 is known only once it is bound (no link is asked for before that).
  let publicUrl = config.publicUrl;
  let simulator: Simulator | undefined;
  let upstreamConfig: Config['upstream'] & { apiKey: string };
  if (config.upstream.apiKey === undefined) {
    simulator = await startSimulator({
      apiKey: config.simulator.apiKey,
      host: '127.0.0.1',
      port: 0,
      taskDurationMs: config.simulator.taskDurationMs,
      // Its videos are served on the gateway's port and origin (the simulator's own is loopback only).
      videoBaseUrl: () => simulatorVideoBaseUrl(publicUrl ?? ''),
    });
    upstreamConfig = { ...config.upstream, apiKey: simulator.apiKey, baseUrl: simulator.url };
    logger.warn(
      { simulatorUrl: simulator.url },
      'UPSTREAM_API_KEY is not set: running the embedded simulator (fake videos, no credit spent). Set UPSTREAM_API_KEY to use the real video service.',
    );
  } else {
    upstreamConfig = { ...config.upstream, apiKey: config.upstream.apiKey };
    logger.info({ upstreamBaseUrl: config.upstream.baseUrl }, 'using the real video service');
  }

  const gateway = await composeGateway(
    config,
    logger,
    upstreamConfig,
    // No link is asked for before the gateway listens, and publicUrl is set from then on.
    { publicUrl: () => publicUrl ?? '', simulatorVideos: simulator?.serveVideo },
  ).catch(async (error: unknown) => {
    // The task history could not open: nothing else holds on, but the simulator already listens.
    await simulator?.close();
    throw error;
  });
  const { handle, live, yoga, authenticator, upstream, persistedDocuments } = gateway;
  const server = createServer(
    {
      // A socket must send its headers this soon after it connects (idle sockets included), and its
      // whole request, body included, within requestTimeout. The check runs every second rather than
      // Node's default 30 s, so the bounds hold to about a second.
      headersTimeout: Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs),
      requestTimeout: config.http.requestTimeoutMs,
      keepAliveTimeout: config.http.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'request handler failed');
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"message":"Unexpected error.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}');
      });
    },
  );
  // Past the cap, new connections are closed at once: the process keeps file descriptors and memory
  // for the ones it serves.
  server.maxConnections = config.http.maxConnections;
  // Requests Node's parser refuses (malformed, headers too large, too slow) get a coded JSON answer too.
  server.on('clientError', answerClientError);
  const webSocket = attachGraphQLWebSocket(server, yoga, {
    authenticator,
    tokenClockToleranceMs: config.auth.jwtClockToleranceSeconds * 1000,
    maxPayloadBytes: config.http.wsMaxPayloadBytes,
    unauthenticatedMaxPayloadBytes: config.http.wsUnauthenticatedMaxPayloadBytes,
    maxSubscriptionsPerConnection: config.live.maxSubscriptionsPerConnection,
    maxVariableValues: config.graphqlLimits.maxVariableValues,
    maxQueryChars: config.graphqlLimits.maxQueryChars,
    persistedDocuments,
    corsOrigins: config.exposure.corsOrigins,
    logger,
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${displayHost(config.host)}:${port}`;
  publicUrl ??= url;
  // Links can be built from here on: resume following the history's unfinished tasks.
  gateway.startFollowing();

  return {
    url,
    publicUrl,
    simulator,
    live,
    async close() {
      gateway.startDraining();
      // Open subscriptions complete first, so clients see a clean end rather than a cut.
      live.close();
      await webSocket.close();
      let cutOff = false;
      const started = Date.now();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets would hold close() open until their own timeout: close each one as soon
        // as it is idle (when its in-flight request has finished). In-flight requests get the grace period.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const deadline = setTimeout(() => {
          cutOff = true;
          logger.warn({ graceMs: config.shutdownGraceMs }, 'shutdown deadline reached: cutting the remaining connections');
          server.closeAllConnections();
        }, config.shutdownGraceMs);
        server.once('close', () => {
          clearInterval(sweep);
          clearTimeout(deadline);
        });
      });
      // Reads that no client waits for any more (shared reads, polls) get what is left of the grace period.
      const upstreamCut = await upstream.close(Math.max(0, config.shutdownGraceMs - (Date.now() - started)));
      await simulator?.close();
      await gateway.close();
      return { cutOff: cutOff || upstreamCut };
    },
  };
}
