// The Shopify-style UserError that every mutation's payload carries, and its codes.
import { USER_ERROR_CODES, type UserErrorValue } from '../create-video/input.js';
import { builder } from './builder.js';

export const UserErrorCode = builder.enumType('UserErrorCode', {
  description:
    'Why an input was refused. INVALID_INPUT, IMAGE_REJECTED, CONTENT_REFUSED and INSUFFICIENT_BALANCE are refusals by the video service; NOT_FOUND is deleteTask\'s answer for a task the caller\'s history does not hold; every other code is a check the gateway makes before spending credit.',
  values: Object.fromEntries(
    Object.entries(USER_ERROR_CODES).map(([code, description]) => [code, { value: code, description }]),
  ) as { [K in keyof typeof USER_ERROR_CODES]: { value: K; description: string } },
});

export const UserError = builder.objectRef<UserErrorValue>('UserError').implement({
  description:
    'A problem with the input that the caller can fix. Nothing was sent to the video service, or it refused the request (or, for deleteTask, nothing was deleted).',
  fields: (t) => ({
    field: t.exposeStringList('field', {
      nullable: true,
      description: 'Path to the offending input field, e.g. ["input", "subjects", "0", "images", "1"]; null when no single field is to blame.',
    }),
    message: t.exposeString('message', { description: 'What is wrong, for a developer or an end user.' }),
    code: t.expose('code', { type: UserErrorCode, description: 'Stable, machine-readable reason.' }),
  }),
});
