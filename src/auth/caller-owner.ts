// Whose per-caller limits (rate, subscriptions, pollers, event streams) a request counts against:
// the tenant of its client key, or, on an open gateway, the caller's address.

/** Who is calling, as the HTTP layer or the WebSocket handshake authenticated it. */
export interface AuthenticatedCaller {
  /** The tenant of the client key; null on an open gateway. */
  tenant: string | null;
  /** The peer's address. */
  address: string;
}

export function limitOwnerOf(caller: AuthenticatedCaller | undefined): string {
  if (!caller) return 'address:unknown';
  return caller.tenant === null ? `address:${caller.address}` : `tenant:${caller.tenant}`;
}
