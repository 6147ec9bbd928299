// How often one owner (a tenant, or a caller address on an open gateway) may make the gateway ask
// the upstream about task ids it has never seen exist. Without it, a client that sends random ids
// turns every id into an upstream call. Ids the gateway signed are authentic by construction, so
// this is only used where ids are taken verbatim (an open gateway).
import { TokenBuckets, type BucketShape, type RateDecision } from '../token-buckets.js';

export class UnknownTaskReads {
  readonly #buckets: TokenBuckets;

  constructor(shape: BucketShape) {
    this.#buckets = new TokenBuckets(shape);
  }

  take(owner: string): RateDecision {
    return this.#buckets.take(owner);
  }
}
