// Proxies such as nginx buffer responses by default, which holds Server-Sent Events back until the
// buffer fills. `X-Accel-Buffering: no` on event streams tells them to pass each event at once.
import type { Plugin } from 'graphql-yoga';

export function useNoProxyBuffering(): Plugin {
  return {
    onResponse({ response }) {
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        response.headers.set('x-accel-buffering', 'no');
      }
    },
  };
}
