// A task id given as an argument (task, node, taskUpdates, deleteTask): checked before it costs
// anything, then turned into the upstream id behind it, or null when it is not the caller's.
import type { GatewayContext } from '../context.js';
import { badUserInput } from './errors.js';

/** Upstream ids are short; ids signed for a tenant carry the tenant and a MAC as well. */
const TASK_ID_MAX_LENGTH = 256;

/** Checks an id before it costs an upstream call; ids are otherwise opaque and passed verbatim. */
export function checkTaskId(id: string, argument: string): string {
  if (id.length === 0) throw badUserInput(`${argument} must not be empty.`, argument);
  if (id.length > TASK_ID_MAX_LENGTH) {
    throw badUserInput(`${argument} must be at most ${TASK_ID_MAX_LENGTH} characters.`, argument);
  }
  // Control characters and white space never occur in upstream ids; refusing them keeps logs clean.
  if (/[\s\p{Cc}]/u.test(id)) throw badUserInput(`${argument} must not contain white space or control characters.`, argument);
  return id;
}

/**
 * The upstream id behind the caller's id, or null when the id is not the caller's (another
 * tenant's, or forged): such an id looks exactly like one that does not exist.
 */
export function upstreamTaskId(id: string, argument: string, ctx: Pick<GatewayContext, 'ids' | 'scope'>): string | null {
  return ctx.ids.toUpstream(checkTaskId(id, argument), ctx.scope);
}
