import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has working defaults for every setting', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 4000,
      upstream: { apiKey: undefined, baseUrl: 'https://api.highwayapi.ai', timeoutMs: 30_000 },
    });
    expect(config.upstream.readRetries).toBeGreaterThanOrEqual(2);
    expect(config.upstream.readRetries).toBeLessThanOrEqual(5);
    expect(config.upstream.retryAfterCapMs).toBe(10_000);
  });

  it('names the variable in a one-line message for a bad value', () => {
    const bad: Record<string, string> = {
      PORT: 'abc',
      UPSTREAM_TIMEOUT_MS: '-5',
      UPSTREAM_BASE_URL: 'ftp://example.com',
      NODE_ENV: 'prod',
      UPSTREAM_READ_RETRIES: '99',
    };
    for (const [name, value] of Object.entries(bad)) {
      const attempt = () => loadConfig({ [name]: value });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(new RegExp(`^Invalid configuration: ${name} `));
      try {
        attempt();
      } catch (error) {
        expect((error as Error).message).not.toContain('\n');
      }
    }
  });

  it('never echoes a secret in its error message', () => {
    expect(() => loadConfig({ SIMULATOR_API_KEY: 'short' })).toThrow(/SIMULATOR_API_KEY/);
    try {
      loadConfig({ SIMULATOR_API_KEY: 'short' });
    } catch (error) {
      expect((error as Error).message).not.toContain('short');
    }
  });

  it('treats an empty UPSTREAM_API_KEY as unset and strips a trailing slash from the base URL', () => {
    const config = loadConfig({ UPSTREAM_API_KEY: '  ', UPSTREAM_BASE_URL: 'http://127.0.0.1:9/prefix/' });
    expect(config.upstream.apiKey).toBeUndefined();
    expect(config.upstream.baseUrl).toBe('http://127.0.0.1:9/prefix');
  });
});
