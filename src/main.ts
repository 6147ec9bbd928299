// Entry point: read config, start the gateway, stop cleanly on SIGINT/SIGTERM.
import { ConfigError, loadConfig, type Config } from './config.js';
import { firstLineOf } from './error-details.js';
import { createLogger } from './logger.js';
import { startGateway } from './server.js';

/** What stopped the start, in one line that names the setting to change. */
function startFailure(error: unknown, { host, port }: Config): string {
  switch ((error as { code?: unknown }).code) {
    case 'EADDRINUSE':
      return `Cannot start: PORT ${port} on ${host} is already in use (set PORT to another port).`;
    case 'EACCES':
      return `Cannot start: PORT ${port} needs privileges this process does not have (set PORT to 1024 or above).`;
    case 'EADDRNOTAVAIL':
      return `Cannot start: HOST ${host} is not an address of this machine (set HOST, e.g. to 0.0.0.0 or 127.0.0.1).`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Cannot start: HOST ${host} does not resolve to an address (set HOST, e.g. to 0.0.0.0 or 127.0.0.1).`;
    default:
      return `Cannot start: ${firstLineOf(error)}`;
  }
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

// The upstream key is censored from every line as a last line of defence; nothing should log it anyway.
const logger = createLogger(config, undefined, { secrets: [config.upstream.apiKey, config.videos.s3?.credentials?.secretAccessKey] });
let gateway: Awaited<ReturnType<typeof startGateway>>;
try {
  gateway = await startGateway(config, logger);
} catch (error) {
  // One line, like a configuration error, naming the setting to change where there is one.
  console.error(startFailure(error, config));
  process.exit(1);
}
logger.info({ url: `${gateway.url}/graphql` }, `GraphQL and GraphiQL at ${gateway.url}/graphql`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    gateway.close().then(
      ({ cutOff }) => {
        logger.info({ cutOff }, 'stopped');
        process.exit(cutOff ? 1 : 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
