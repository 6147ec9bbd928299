// The create flow: validate, build the upstream body, check its size, start the billed task.
// Everything that is the caller's fault comes back as userErrors; nothing is sent unless all is well.
import type { GatewayContext } from '../context.js';
import { UpstreamInputRejectedError } from '../upstream/errors.js';
import type { CreateVideoInputValue, UserErrorValue } from './input.js';
import { toUpstreamBody } from './to-upstream-body.js';
import { validateCreateInput } from './validate-input.js';

export interface CreatePayloadValue {
  taskId: string | null;
  providerRequestId: string | null;
  userErrors: UserErrorValue[];
}

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

export async function createReferenceVideo(
  input: CreateVideoInputValue,
  ctx: Pick<GatewayContext, 'upstream' | 'limits' | 'signal'>,
): Promise<CreatePayloadValue> {
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

  try {
    const created = await ctx.upstream.createTask(body, ctx.signal);
    return { taskId: created.taskId, providerRequestId: created.providerRequestId, userErrors: [] };
  } catch (error) {
    if (error instanceof UpstreamInputRejectedError) {
      return rejected([{ field: fieldForUpstreamReason(error.reason), code: error.code, message: error.message }]);
    }
    throw error;
  }
}
