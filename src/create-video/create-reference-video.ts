// The create flow: validate, build the upstream body, check its size, honour an Idempotency-Key,
// admit it under the tenant's rate limit, start the billed task. Everything that is the caller's
// fault comes back as userErrors; nothing is sent upstream unless all is well.
import { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import type { GatewayContext } from '../context.js';
import { badUserInput } from '../schema/errors.js';
import { UpstreamError, UpstreamInputRejectedError } from '../upstream/errors.js';
import type { CreateOutcome, ReplayedError } from './idempotency.js';
import { fingerprintOf } from './idempotency.js';
import type { CreateVideoInputValue, UserErrorValue } from './input.js';
import { toUpstreamBody } from './to-upstream-body.js';
import { validateCreateInput } from './validate-input.js';
import type { CreateTaskBody } from '../upstream/wire.js';

export interface CreatePayloadValue {
  /** The upstream task id; the schema turns it into the id this caller sees. */
  taskId: string | null;
  providerRequestId: string | null;
  userErrors: UserErrorValue[];
}

type CreateContext = Pick<GatewayContext, 'upstream' | 'limits' | 'signal' | 'tenant' | 'createAdmission' | 'idempotency' | 'idempotencyKey' | 'noteTaskExists'>;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function rejected(userErrors: UserErrorValue[]): CreatePayloadValue {
  return { taskId: null, providerRequestId: null, userErrors };
}

/** Where in the input an upstream refusal points, as far as its reason tells. */
function fieldForUpstreamReason(reason: string | undefined): string[] | null {
  switch (reason) {
    case 'ILLEGAL_PROMPT':
      return ['input', 'prompt'];
    case 'ILLEGAL_IMAGE_CONTENT':
    case 'INVALID_IMAGE_FORMAT':
    case 'IMAGE_FILE_EXCEEDS_MAX_SIZE':
    case 'INVALID_IMAGE_SIZE':
      return ['input', 'subjects'];
    case 'INVALID_REQUEST_BODY':
      return ['input'];
    default:
      return null;
  }
}

/**
 * Whether the upstream may have started (and billed) the job although we saw no success: the
 * request was sent and no error answer came back (timeout, connection lost, an unreadable 2xx, the
 * caller leaving). Such a key stays taken, so a retry cannot create a second video.
 */
function outcomeUnknown(error: unknown): boolean {
  if (error instanceof GraphQLError) return false; // refused by us before the upstream was called
  if (!(error instanceof UpstreamError)) return true;
  if (error.neverSent) return false;
  return error.status === undefined || (error.status >= 200 && error.status < 300);
}

async function startCreate(body: CreateTaskBody, ctx: CreateContext): Promise<CreatePayloadValue> {
  const admission = await ctx.createAdmission.tryAdmit(ctx.tenant);
  if (!admission.admitted) {
    throw createGraphQLError(admission.reason, { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: admission.retryAfterSeconds } });
  }
  try {
    const created = await ctx.upstream.createTask(body, ctx.signal);
    ctx.noteTaskExists(created.taskId);
    return { taskId: created.taskId, providerRequestId: created.providerRequestId, userErrors: [] };
  } catch (error) {
    if (error instanceof UpstreamInputRejectedError) {
      return rejected([{ field: fieldForUpstreamReason(error.reason), code: error.code, message: error.message }]);
    }
    throw error;
  } finally {
    admission.release();
  }
}

function replay(outcome: CreateOutcome): CreatePayloadValue {
  if (outcome.kind === 'created') return outcome.payload;
  // Same answer as the first time: a retry must not risk a second billed video.
  throw createGraphQLError(outcome.error.message, { extensions: { code: outcome.error.code } });
}

/** The error a replay repeats: the upstream failure's own code, or plainly "unknown outcome". */
function replayedError(error: unknown): ReplayedError {
  if (error instanceof UpstreamError) return { code: error.code, message: error.message };
  return {
    code: 'CREATE_OUTCOME_UNKNOWN',
    message: 'The first request with this Idempotency-Key ended before the video service answered; whether a video was started is unknown.',
  };
}

export async function createReferenceVideo(input: CreateVideoInputValue, ctx: CreateContext): Promise<CreatePayloadValue> {
  const key = ctx.idempotencyKey;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw badUserInput('The Idempotency-Key header must be 1 to 255 visible ASCII characters.', 'Idempotency-Key');
  }
  const userErrors = validateCreateInput(input, ctx.limits);
  if (userErrors.length > 0) return rejected(userErrors);

  const body = toUpstreamBody(input);
  const bodyBytes = Buffer.byteLength(JSON.stringify(body));
  if (bodyBytes > ctx.limits.createMaxBodyBytes) {
    return rejected([
      {
        field: ['input', 'subjects'],
        code: 'PAYLOAD_TOO_LARGE',
        message: `The request would be ${bodyBytes} bytes; the video service accepts at most ${ctx.limits.createMaxBodyBytes}. Use image URLs instead of base64 data.`,
      },
    ]);
  }
  if (key === undefined) return startCreate(body, ctx);

  const claim = await ctx.idempotency.claim(ctx.tenant, key, fingerprintOf(body));
  if (claim.kind === 'mismatch') {
    return rejected([
      { field: null, code: 'IDEMPOTENCY_KEY_REUSED', message: 'This Idempotency-Key was already used with different input; use a new key.' },
    ]);
  }
  if (claim.kind === 'replay') return replay(claim.outcome);
  if (claim.kind === 'in-progress') {
    throw createGraphQLError('A request with this Idempotency-Key is still in progress; retry shortly.', {
      extensions: { code: 'IDEMPOTENCY_IN_PROGRESS', retryAfterSeconds: claim.retryAfterSeconds },
    });
  }
  if (claim.kind === 'unavailable') {
    throw createGraphQLError('Idempotency-Key records cannot be reached right now; the create was not sent. Retry shortly.', {
      extensions: { code: 'IDEMPOTENCY_UNAVAILABLE' },
    });
  }
  let payload: CreatePayloadValue;
  try {
    payload = await startCreate(body, ctx);
  } catch (error) {
    if (outcomeUnknown(error)) await claim.settle({ kind: 'unknown', error: replayedError(error) });
    else await claim.free();
    throw error;
  }
  // A refusal with an error body (userErrors) frees the key: fixing the input and retrying is fine.
  if (payload.taskId === null) await claim.free();
  else await claim.settle({ kind: 'created', payload });
  return payload;
}
