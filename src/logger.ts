// Structured JSON logs (pino). Credentials are redacted by path here, and the upstream key never
// enters a log object in the first place (only the upstream client holds it). As a safety net for
// text that did not come through a known path (an error message, an upstream body excerpt), any
// secret passed in `secrets` is censored in every line as it is written.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config.js';
import { requestScope } from './request-scope.js';
import { SecretScrubber } from './upstream/scrub.js';

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

export interface LoggerExtras {
  /** Strings censored wherever they appear in a written line (e.g. the upstream API key). */
  secrets?: readonly (string | undefined)[];
}

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream, extras: LoggerExtras = {}): Logger {
  const scrubber = new SecretScrubber(extras.secrets ?? []);
  const options: LoggerOptions = {
    level: config.logLevel,
    base: { service: 'video-gateway' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Every line written while handling a request carries its id.
    mixin: () => requestScope.getStore() ?? {},
    // The whole serialized line, just before it reaches the stream (child loggers included).
    ...(extras.secrets?.some(Boolean) ? { hooks: { streamWrite: (line: string) => scrubber.scrub(line) } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}
