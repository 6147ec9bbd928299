// Yoga echoes one allowed origin in Access-Control-Allow-Origin but adds `Vary: Origin` only when
// several origins are configured. Without it a shared cache could hand one origin's answer (with
// its CORS headers, or without them) to a page on another origin.
import type { Plugin } from 'graphql-yoga';

export function useVaryOrigin(): Plugin {
  return {
    onResponse({ request, response }) {
      if (!request.headers.has('origin')) return;
      const vary = response.headers.get('vary');
      if (vary === null) response.headers.set('vary', 'Origin');
      else if (!/(^|,)\s*origin\s*(,|$)/i.test(vary)) response.headers.set('vary', `${vary}, Origin`);
    },
  };
}
