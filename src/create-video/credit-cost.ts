// What a create costs in credit units: its length in seconds times a weight for its resolution, so
// budgets track what the upstream bills (more pixels, more seconds, more money). Weights are keyed
// by the internal resolution value, which is the upstream string (see schema/enums.ts).

/** Credit units per second of video, per resolution. Whole numbers: budgets count whole units. */
export interface CreditWeights {
  '540p': number;
  '720p': number;
  '1080p': number;
}

/** A resolution that has a weight: the internal values of the VideoResolution enum. */
export type CreditResolution = keyof CreditWeights;

export const DEFAULT_CREDIT_WEIGHTS: Readonly<CreditWeights> = Object.freeze({ '540p': 1, '720p': 2, '1080p': 4 });

// The same defaults the create applies when the request leaves a field out (to-upstream-body.ts
// for the duration, the schema's defaultValue for the resolution): a create is charged for what
// it will actually produce.
const DEFAULT_DURATION_SECONDS = 5;
const DEFAULT_RESOLUTION: CreditResolution = '720p';

function isCreditResolution(value: string, weights: CreditWeights): value is CreditResolution {
  return Object.hasOwn(weights, value);
}

/**
 * The units a create costs. `resolution` is a string because that is how the create input carries
 * it; a value without a weight throws a RangeError rather than being charged a guess (it can only
 * mean a resolution was added to the schema without a weight).
 */
export function creditCost(input: { durationSeconds?: number | null; resolution?: string | null }, weights: CreditWeights): number {
  const seconds = input.durationSeconds ?? DEFAULT_DURATION_SECONDS;
  const resolution = input.resolution ?? DEFAULT_RESOLUTION;
  if (!isCreditResolution(resolution, weights)) throw new RangeError(`No credit weight for resolution "${resolution}".`);
  return seconds * weights[resolution];
}
