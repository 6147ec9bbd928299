// Cross-site request forgery, as it applies to this gateway (README, "CSRF"): the gateway holds no
// cookie or other credential a browser attaches by itself. A client key travels in the
// Authorization header, which a page on another site cannot set without a CORS preflight, and the
// preflight succeeds only for allowed origins. So the one thing a forged request could still do is
// spend the gateway's own upstream credit on an open gateway (no client keys), through a request a
// browser sends cross-site without asking: a form post or a plain GET.
//
// The guard is therefore narrow. Queries and subscriptions run whatever the request looks like:
// they change nothing, and a cross-site page cannot read their answers (CORS). That keeps GET
// queries (urql's default), GET subscriptions (GraphiQL, a browser EventSource) and every client's
// defaults working without a special header. A mutation runs only in a request that a browser could
// not have sent cross-site without a preflight: a content type other than the three a form can send,
// or an Authorization header, or one of the headers clients add to force a preflight. Mutations over
// GET are already refused by Yoga (405).
import { getOperationAST } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** The content types an HTML form (or a fetch in no-cors mode) can send without a preflight. */
const FORM_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * Headers that a cross-site page cannot set without a preflight, and that clients send on purpose:
 * Yoga's and Apollo's CSRF headers, Apollo's operation name header, and the client key itself.
 */
const PREFLIGHT_HEADERS = ['authorization', 'x-graphql-yoga-csrf', 'apollo-require-preflight', 'x-apollo-operation-name'];

/** Whether a browser may have sent this request cross-site without a CORS preflight. */
export function couldBeForged(headers: Headers): boolean {
  if (PREFLIGHT_HEADERS.some((name) => headers.has(name))) return false;
  const contentType = (headers.get('content-type') ?? '').trim().toLowerCase();
  return contentType === '' || FORM_CONTENT_TYPES.some((formType) => contentType.startsWith(formType));
}

export function useMutationPreflightGuard(): Plugin<{ request?: Request }> {
  return {
    onExecute({ args }) {
      const request = args.contextValue.request;
      // Operations over WebSocket carry no fetch Request; the upgrade's Origin is checked instead.
      if (request === undefined || !couldBeForged(request.headers)) return;
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      throw createGraphQLError(
        'A mutation must be sent with Content-Type: application/json (or with an Authorization header): a request a browser can send from another site without a CORS preflight cannot run one.',
        { extensions: { code: 'PREFLIGHT_REQUIRED', http: { status: 403 } } },
      );
    },
  };
}
