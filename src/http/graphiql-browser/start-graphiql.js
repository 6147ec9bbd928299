// Runs in the browser, on the GraphiQL page the gateway serves (src/http/graphiql-page.ts), after
// React, ReactDOM and GraphiQL's UMD builds. It renders GraphiQL with a fetcher of our own:
// queries and mutations are a JSON POST, subscriptions a JSON POST answered as a server-sent event
// stream. Every request carries what the Headers tab holds, so `Authorization` reaches a keyed
// gateway. Plain JavaScript on purpose: it is served as it is, without a build step.
'use strict';

(function startGraphiQL() {
  const config = JSON.parse(document.getElementById('graphiql-config').textContent);
  // The page is served at the GraphQL endpoint itself, so its own path is the endpoint (also behind
  // a proxy that mounts the gateway under a prefix).
  const endpoint = window.location.pathname;

  /** 'query', 'mutation' or 'subscription' for the operation about to run; undefined if unknown. */
  function operationType(params, documentAST) {
    if (!documentAST) return undefined;
    const operations = documentAST.definitions.filter((definition) => definition.kind === 'OperationDefinition');
    const chosen = params.operationName
      ? operations.find((operation) => operation.name && operation.name.value === params.operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
    return chosen && chosen.operation;
  }

  /** One server-sent event block (the lines between two blank lines) as its event type and data. */
  function parseEvent(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue; // a keep-alive comment
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    return { type, data: data.length > 0 ? data.join('\n') : undefined };
  }

  /**
   * The event stream as an async iterator of GraphQL results, written by hand rather than as an async
   * generator: GraphiQL's Stop button calls `return()`, and a generator parked in an `await` would
   * only notice once the next event arrived. Here `return()` aborts the request at once.
   */
  function eventStream(response, controller) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const ready = [];
    let buffer = '';
    let finished = false;
    // Stopped by the user: the request is aborted, and the server ends the subscription.
    const stop = () => {
      finished = true;
      controller.abort();
    };
    // The server says the subscription is over and closes the stream itself: read it to its end
    // rather than abort, which browsers would report as a failed request.
    const complete = () => {
      finished = true;
      const drain = () => reader.read().then((chunk) => (chunk.done ? undefined : drain()), () => undefined);
      drain();
    };
    const iterator = {
      [Symbol.asyncIterator]() {
        return iterator;
      },
      async next() {
        for (;;) {
          if (ready.length > 0) return { value: ready.shift(), done: false };
          if (finished) return { value: undefined, done: true };
          let chunk;
          try {
            chunk = await reader.read();
          } catch (error) {
            // Stopped by the user while waiting: that is an end, not an error to show.
            if (finished) return { value: undefined, done: true };
            throw error;
          }
          if (chunk.done) {
            finished = true;
            continue;
          }
          buffer = (buffer + chunk.value).replace(/\r\n/g, '\n');
          for (let end = buffer.indexOf('\n\n'); end >= 0 && !finished; end = buffer.indexOf('\n\n')) {
            const event = parseEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (event.type === 'complete') complete();
            else if (event.data !== undefined && (event.type === 'next' || event.type === 'message')) ready.push(JSON.parse(event.data));
          }
        }
      },
      async return() {
        if (!finished) stop();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  async function fetcher(params, options) {
    const subscription = operationType(params, options && options.documentAST) === 'subscription';
    const controller = new AbortController();
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: subscription ? 'text/event-stream' : 'application/graphql-response+json, application/json',
        // What the Headers tab holds (e.g. Authorization), over our defaults.
        ...((options && options.headers) || {}),
      },
      body: JSON.stringify(params),
      signal: controller.signal,
    });
    if ((response.headers.get('content-type') || '').startsWith('text/event-stream')) return eventStream(response, controller);
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      // Not from the gateway (a proxy's error page, say): show what came back rather than a parse error.
      throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
  }

  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: config.defaultQuery,
      // Headers typed in the Headers tab (a client key) stay in this tab, never in localStorage.
      shouldPersistHeaders: false,
    }),
  );
})();
