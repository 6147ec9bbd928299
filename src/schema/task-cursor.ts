// The opaque cursors of myTasks: where a page starts, as (createdAt, task id) in the history's
// newest-first order. A cursor carries the task id the caller sees, so with client keys it is
// signed per tenant like every task id: an altered cursor, or another tenant's, does not verify.
// Versioned ("v1"), so the format can change without old cursors being misread.
import type { IdScope } from '../auth/caller-owner.js';
import type { TaskIdCodec } from '../auth/task-ids.js';
import type { HistoryCursor } from '../history/task-history.js';
import { badUserInput } from './errors.js';
import { checkTaskId } from './task-id-argument.js';

const VERSION = 'v1';
/** A v1 cursor of the longest id is about 360 characters; anything much longer is not one. */
const CURSOR_MAX_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const EPOCH_MS = /^\d{1,15}$/;

export function encodeTaskCursor(createdAt: Date, publicTaskId: string): string {
  return Buffer.from(`${VERSION}:${createdAt.getTime()}:${publicTaskId}`, 'utf8').toString('base64url');
}

function notACursor(argument: string) {
  return badUserInput(`${argument} is not a cursor that myTasks handed to this caller (malformed, altered, or another caller's).`, argument);
}

/** The position a cursor names, in upstream ids; a BAD_USER_INPUT naming `argument` when it is not a valid cursor of this caller's. */
export function decodeTaskCursor(cursor: string, argument: string, ids: TaskIdCodec, scope: IdScope): HistoryCursor {
  if (cursor.length === 0 || cursor.length > CURSOR_MAX_LENGTH || !BASE64URL.test(cursor)) throw notACursor(argument);
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Only the canonical encoding: a cursor means one thing, whichever way it was spelled.
  if (Buffer.from(text, 'utf8').toString('base64url') !== cursor) throw notACursor(argument);
  const [version, ms, ...rest] = text.split(':');
  const publicId = rest.join(':');
  if (version !== VERSION || ms === undefined || !EPOCH_MS.test(ms) || publicId === '') throw notACursor(argument);
  let upstreamId: string | null;
  try {
    upstreamId = ids.toUpstream(checkTaskId(publicId, argument), scope);
  } catch {
    throw notACursor(argument);
  }
  if (upstreamId === null) throw notACursor(argument);
  return { createdAtMs: Number(ms), taskId: upstreamId };
}
