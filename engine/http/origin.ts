/**
 * The Origin rule shared by the WebSocket handshake, matchmaking and HTTP API: a browser request must come from a
 * page of this server (its Host, or the configured public URL). Requests without an Origin header come from
 * non-browser clients (CLI, tests, bridges), which cookies cannot be forged for, and are allowed.
 */
export function originChecker(publicUrl: string | undefined): (origin: string | undefined, host: string | undefined) => boolean {
  const publicOrigin = publicUrl ? new URL(publicUrl).origin : null;
  return (origin, host) => {
    if (origin === undefined) return true;
    if (publicOrigin !== null && origin === publicOrigin) return true;
    if (!host) return false;
    return origin === `http://${host}` || origin === `https://${host}`;
  };
}
