// The files the GraphiQL page loads, served by the gateway itself (no CDN: it works offline and
// behind strict proxies): React 18, ReactDOM and GraphiQL 3 as their UMD builds from node_modules,
// GraphiQL's stylesheet, and our start-up script. The list below is the whole of it: a request names
// an entry of that list or gets 404, and no part of a request's path ever reaches the file system.
//
// Each URL carries a hash of the file's bytes (`/graphiql/<hash>/<name>`), so browsers may keep the
// files for a year and a new version can never be mixed with an old one. The files are read (and
// gzipped) once, on first use, so a gateway that never serves GraphiQL never holds them.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { GRAPHIQL_ASSET_PREFIX } from './request-target.js';

const JAVASCRIPT = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The name each asset is known by in the page. */
export type GraphiQLAssetName = 'react' | 'react-dom' | 'graphiql' | 'graphiql-css' | 'start';

interface AssetSource {
  /** Last segment of the URL: what a developer sees in the browser's network tab. */
  fileName: string;
  contentType: string;
  /** The file on disk, decided here and nowhere else. */
  path: () => string;
}

const require = createRequire(import.meta.url);
// These packages do not export their UMD files, so they are found next to their package.json.
const inPackage = (name: string, file: string) => () => join(dirname(require.resolve(`${name}/package.json`)), file);

const SOURCES: Readonly<Record<GraphiQLAssetName, AssetSource>> = {
  react: { fileName: 'react.production.min.js', contentType: JAVASCRIPT, path: inPackage('react', 'umd/react.production.min.js') },
  'react-dom': { fileName: 'react-dom.production.min.js', contentType: JAVASCRIPT, path: inPackage('react-dom', 'umd/react-dom.production.min.js') },
  graphiql: { fileName: 'graphiql.min.js', contentType: JAVASCRIPT, path: inPackage('graphiql', 'graphiql.min.js') },
  'graphiql-css': { fileName: 'graphiql.min.css', contentType: CSS, path: inPackage('graphiql', 'graphiql.min.css') },
  start: {
    fileName: 'start-graphiql.js',
    contentType: JAVASCRIPT,
    path: () => fileURLToPath(new URL('./graphiql-browser/start-graphiql.js', import.meta.url)),
  },
};

interface LoadedAsset {
  url: string;
  contentType: string;
  /** Part of the URL and of the ETag. */
  hash: string;
  body: Buffer;
  gzipped: Buffer;
}

/** The loaded assets: their URLs for the page, and the files by URL for the asset route. */
export interface GraphiQLAssetSet {
  urls: Readonly<Record<GraphiQLAssetName, string>>;
  byUrl: ReadonlyMap<string, LoadedAsset>;
}

async function loadAsset(source: AssetSource): Promise<LoadedAsset> {
  const body = await readFile(source.path());
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return {
    url: `${GRAPHIQL_ASSET_PREFIX}${hash}/${source.fileName}`,
    contentType: source.contentType,
    hash,
    body,
    // Level 9: done once per process, and the files are a megabyte and a half.
    gzipped: await promisify(gzip)(body, { level: 9 }),
  };
}

async function loadAssets(): Promise<GraphiQLAssetSet> {
  const names = Object.keys(SOURCES) as GraphiQLAssetName[];
  const loaded = await Promise.all(names.map((name) => loadAsset(SOURCES[name])));
  const urls = Object.fromEntries(names.map((name, i) => [name, loaded[i]!.url])) as Record<GraphiQLAssetName, string>;
  return { urls, byUrl: new Map(loaded.map((asset) => [asset.url, asset])) };
}

/** Whether the client takes gzip: named (or `*`) with a q-value other than 0; an explicit gzip entry wins over `*`. */
function acceptsGzip(header: string | undefined): boolean {
  const quality = new Map<string, number>();
  for (const part of (header ?? '').split(',')) {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    quality.set(coding.trim(), q === undefined ? 1 : Number(q.slice(2)));
  }
  const q = quality.get('gzip') ?? quality.get('*') ?? 0;
  return q > 0;
}

/** Whether an If-None-Match header (a list, weak tags allowed) names this tag. */
function matchesETag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

export type AssetAnswer = 'served' | 'not-found' | 'method-not-allowed';

export interface GraphiQLAssets {
  /** Reads the files on first call; later calls share that one read. */
  load(): Promise<GraphiQLAssetSet>;
  /** Answers a request under GRAPHIQL_ASSET_PREFIX with the named file; the caller answers the refusals. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<AssetAnswer>;
}

export function createGraphiQLAssets(): GraphiQLAssets {
  let loading: Promise<GraphiQLAssetSet> | undefined;
  const load = () => (loading ??= loadAssets());
  return {
    load,
    async serve(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return 'method-not-allowed';
      const asset = (await load()).byUrl.get(path);
      if (asset === undefined) return 'not-found';
      const gzipped = acceptsGzip(req.headers['accept-encoding']);
      // Each encoding is a representation of its own, with a tag of its own.
      const etag = gzipped ? `"${asset.hash}-gzip"` : `"${asset.hash}"`;
      const headers: Record<string, string | number> = {
        'content-type': asset.contentType,
        // The URL changes with the bytes, so the bytes under one URL never change.
        'cache-control': 'public, max-age=31536000, immutable',
        etag,
        vary: 'Accept-Encoding',
        'x-content-type-options': 'nosniff',
      };
      if (matchesETag(req.headers['if-none-match'], etag)) {
        res.writeHead(304, headers);
        res.end();
        return 'served';
      }
      const body = gzipped ? asset.gzipped : asset.body;
      res.writeHead(200, { ...headers, ...(gzipped ? { 'content-encoding': 'gzip' } : {}), 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
      return 'served';
    },
  };
}
