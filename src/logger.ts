// Structured JSON logs (pino). Credentials are redacted by path here, and the upstream key never
// enters a log object in the first place (only the upstream client holds it).
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';
import { requestScope } from './request-scope.js';

export type { Logger };

const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  'apiKey',
  '*.apiKey',
  'upstream.apiKey',
  'config.upstream.apiKey',
];

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'video-gateway' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Every line written while handling a request carries its id.
    mixin: () => requestScope.getStore() ?? {},
  };
  return destination ? pino(options, destination) : pino(options);
}
