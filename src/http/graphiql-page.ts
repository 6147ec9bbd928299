// The GraphiQL page: a few lines of HTML that load the files of graphiql-assets.ts and hand our
// start-up script the examples it opens with. It holds nothing secret (operations sent from it need
// a client key like any other request), so it is served without one, only when GraphiQL is enabled.
import type { ServerResponse } from 'node:http';
import { GRAPHIQL_DEFAULT_QUERY } from '../graphiql-examples.js';
import type { GraphiQLAssetName, GraphiQLAssets } from './graphiql-assets.js';

const TITLE = 'Reference-to-video gateway · GraphiQL';

// Only files from this origin run, and the page talks only to this origin. GraphiQL sets inline
// styles (and its stylesheet embeds its fonts as data: URLs), hence 'unsafe-inline' for styles only.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The page's HTML. Asset URLs are written relative to the page (`./graphiql/…`), so a proxy that
 * mounts the gateway under a path prefix still serves them. They hold only a hash and a fixed file
 * name, so they need no escaping; the settings travel as a JSON data block, which never runs.
 */
export function renderGraphiQLPage(urls: Readonly<Record<GraphiQLAssetName, string>>): string {
  // `<` escaped, so no text in the examples can close the script element.
  const settings = JSON.stringify({ defaultQuery: GRAPHIQL_DEFAULT_QUERY }).replace(/</g, '\\u003c');
  const script = (name: GraphiQLAssetName) => `<script src=".${urls[name]}"></script>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLE}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href=".${urls['graphiql-css']}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="graphiql-config" type="application/json">${settings}</script>
${script('react')}
${script('react-dom')}
${script('graphiql')}
${script('start')}
</body>
</html>
`;
}

export async function serveGraphiQLPage(res: ServerResponse, assets: GraphiQLAssets): Promise<void> {
  const { urls } = await assets.load();
  const body = renderGraphiQLPage(urls);
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    // Small, and it names the current asset hashes: always asked for again.
    'cache-control': 'no-cache',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
}
