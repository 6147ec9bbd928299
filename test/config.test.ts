import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it.each([
    ['REDIS_URL', 'redis://:hunter2-secret@host:99999'],
    ['REDIS_URL', 'redis://:hunter2%zz-secret@host'],
    ['REDIS_URL', 'redis://:hunter2-secret@/0'],
    ['REDIS_URL', 'redis://:hunter2-secret@host/abc'],
    ['UPSTREAM_BASE_URL', 'https://user:hunter2-secret@api.example.com'],
    ['UPSTREAM_BASE_URL', 'https://user:hunter2-secret@api.example.com:99999'],
  ])('refuses a malformed %s at validation without printing its credentials', (name, value) => {
    const attempt = () => loadConfig({ [name]: value });
    expect(attempt).toThrow(new RegExp(`^Invalid configuration: ${name} `));
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
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

  it('reads client keys from GATEWAY_API_KEYS or a file with comments, never both, and needs an id secret with them', () => {
    const secret = { GATEWAY_ID_SECRET: 's'.repeat(32) };
    expect(loadConfig({ GATEWAY_API_KEYS: 'shop:k-1234567890abcdef, studio:k-abcdef1234567890', ...secret }).auth.clients).toEqual([
      { tenant: 'shop', key: 'k-1234567890abcdef' },
      { tenant: 'studio', key: 'k-abcdef1234567890' },
    ]);
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys.txt');
    writeFileSync(file, '# rotation in progress\nshop:k-1234567890abcdef\nshop:k-abcdef1234567890 # new\n\n');
    expect(loadConfig({ GATEWAY_API_KEYS_FILE: file, ...secret }).auth.clients?.map((c) => c.tenant)).toEqual(['shop', 'shop']);
    expect(() => loadConfig({ GATEWAY_API_KEYS: 'a:k-1234567890abcdef', GATEWAY_API_KEYS_FILE: file, ...secret })).toThrow(/not both/);
    expect(() => loadConfig({ GATEWAY_API_KEYS: 'shop:k-1234567890abcdef' })).toThrow(/GATEWAY_ID_SECRET/);
    for (const bad of ['shop', 'sh op:k-1234567890abcdef', 'shop:short', 'a:k-1234567890abcdef,b:k-1234567890abcdef']) {
      expect(() => loadConfig({ GATEWAY_API_KEYS: bad, ...secret })).toThrow(/^Invalid configuration: GATEWAY_API_KEYS /);
    }
    try {
      loadConfig({ GATEWAY_API_KEYS: 'shop:short-secret', ...secret });
    } catch (error) {
      expect((error as Error).message).not.toContain('short-secret');
    }
  });

  it('refuses an open gateway in production unless GATEWAY_ALLOW_ANONYMOUS=true', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/GATEWAY_ALLOW_ANONYMOUS/);
    expect(loadConfig({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'true' }).auth.clients).toBeUndefined();
    expect(() => loadConfig({ NODE_ENV: 'production', GATEWAY_ALLOW_ANONYMOUS: 'yes' })).toThrow(/GATEWAY_ALLOW_ANONYMOUS must be true or false/);
  });

  it('treats an empty UPSTREAM_API_KEY as unset and strips a trailing slash from the base URL', () => {
    const config = loadConfig({ UPSTREAM_API_KEY: '  ', UPSTREAM_BASE_URL: 'http://127.0.0.1:9/prefix/' });
    expect(config.upstream.apiKey).toBeUndefined();
    expect(config.upstream.baseUrl).toBe('http://127.0.0.1:9/prefix');
  });
});

describe('loadConfig for the standalone simulator', () => {
  it('does not apply the gateway\'s client-key rules', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow();
    expect(loadConfig({ NODE_ENV: 'production' }, { role: 'simulator' }).simulator.port).toBe(4010);
  });
});

describe('PUBLIC_URL', () => {
  it('is unset by default (the gateway then uses the address it listens on), and empty means unset', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined();
    expect(loadConfig({ PUBLIC_URL: '  ' }).publicUrl).toBeUndefined();
  });

  it.each([
    ['http://192.0.2.10:4000', 'http://192.0.2.10:4000'],
    ['https://videos.example.com/', 'https://videos.example.com'],
    ['https://example.com/gw//', 'https://example.com/gw'],
    [' http://[::1]:4000/a/b ', 'http://[::1]:4000/a/b'],
  ])('takes %j as %j (no trailing slash: paths are joined onto it)', (value, expected) => {
    expect(loadConfig({ PUBLIC_URL: value }).publicUrl).toBe(expected);
  });

  it.each([
    'localhost:4000',
    'example.com/gw',
    '/gw',
    'ftp://example.com',
    'https://example.com/gw?x=1',
    'https://example.com/gw?',
    'https://example.com/gw#top',
    'https://user:hunter2-secret@example.com',
  ])('refuses %j with a one-line message naming PUBLIC_URL, never echoing credentials', (value) => {
    const attempt = () => loadConfig({ PUBLIC_URL: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^Invalid configuration: PUBLIC_URL must be an absolute http\(s\) URL/);
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});

describe('video storage and copies', () => {
  it('defaults to a folder under DATA_DIR, copying two at a time, links of an hour, 30 days of retention', () => {
    expect(loadConfig({}).videos).toMatchObject({
      s3: undefined,
      copyConcurrency: 2,
      copyMaxBytes: 512 * 1024 * 1024,
      linkTtlSeconds: 3600,
      retentionDays: 30,
    });
  });

  it('reads s3://bucket/prefix with an endpoint (path style then) and both credentials', () => {
    const config = loadConfig({
      VIDEO_STORAGE_URL: 's3://gateway-videos/prod/eu/',
      VIDEO_STORAGE_S3_ENDPOINT: 'http://127.0.0.1:9000',
      VIDEO_STORAGE_S3_ACCESS_KEY_ID: 'AKIA-TEST',
      VIDEO_STORAGE_S3_SECRET_ACCESS_KEY: 'very-secret',
    });
    expect(config.videos.s3).toEqual({
      bucket: 'gateway-videos',
      prefix: 'prod/eu',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIA-TEST', secretAccessKey: 'very-secret' },
    });
    expect(loadConfig({ VIDEO_STORAGE_URL: 's3://gateway-videos' }).videos.s3).toMatchObject({ prefix: '', endpoint: undefined, forcePathStyle: false, credentials: undefined });
  });

  it.each([
    [{ VIDEO_STORAGE_URL: 'https://bucket.s3.amazonaws.com' }, 'VIDEO_STORAGE_URL'],
    [{ VIDEO_STORAGE_URL: 's3://Upper_Case' }, 'VIDEO_STORAGE_URL'],
    [{ VIDEO_STORAGE_URL: 's3://gateway-videos/a/../b' }, 'VIDEO_STORAGE_URL'],
    [{ VIDEO_STORAGE_S3_ENDPOINT: 'http://127.0.0.1:9000' }, 'VIDEO_STORAGE_S3_ENDPOINT'],
    [{ VIDEO_STORAGE_URL: 's3://gateway-videos', VIDEO_STORAGE_S3_ACCESS_KEY_ID: 'AKIA-TEST' }, 'VIDEO_STORAGE_S3_SECRET_ACCESS_KEY'],
    [{ VIDEO_STORAGE_URL: 's3://gateway-videos', VIDEO_STORAGE_S3_FORCE_PATH_STYLE: 'yes' }, 'VIDEO_STORAGE_S3_FORCE_PATH_STYLE'],
    [{ VIDEO_RETENTION_DAYS: '0' }, 'VIDEO_RETENTION_DAYS'],
    [{ VIDEO_COPY_CONCURRENCY: '-1' }, 'VIDEO_COPY_CONCURRENCY'],
    [{ VIDEO_LINK_TTL_SECONDS: '5' }, 'VIDEO_LINK_TTL_SECONDS'],
  ])('refuses %o naming %s, in one line without the secret', (env, name) => {
    const attempt = () => loadConfig(env);
    expect(attempt).toThrow(new RegExp(`^Invalid configuration: ${name} `));
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
      expect((error as Error).message).not.toContain('very-secret');
    }
  });
});
