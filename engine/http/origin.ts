/**
 * The Origin rule shared by the WebSocket handshake, matchmaking (its CORS answer and the rooms' own check) and the
 * HTTP API's writes: a browser request must come from a page of this server. Requests without an Origin header come
 * from non-browser clients (CLI, tests, bridges), which cookies cannot be forged for, and are allowed.
 *
 * Which pages are "of this server": with a public URL configured (KNOCK_PUBLIC_URL), its origin and nothing else.
 * Without one, whatever host the request names (Origin equal to Host), which is all Knock can know then; but under
 * DNS rebinding an attacker's name points at this server, and the attacker's page then sends Origin and Host both
 * naming the attacker's host, so the Host rule accepts it. That is why the README asks every deployment reachable
 * from a browser to set KNOCK_PUBLIC_URL.
 *
 * An owner's own domain (issue 21) is a host of this server too once it is active (delegated to Knock's name servers,
 * which an attacker's rebinding name is not): a page there asking its own host is accepted.
 *
 * Several processes (README "Running several processes"): a page served by one process opens room sockets at
 * another, so pages served at any live process's own public address are accepted too (`isProcessPage`,
 * engine/http/processAddresses.ts: from each process's configuration, never from the request).
 *
 * @example
 *   const allowed = originChecker('https://chat.example.com');
 *   allowed('https://chat.example.com', '127.0.0.1:8080'); // true (the proxy rewrote the Host)
 *   allowed('http://rebound.example', 'rebound.example');   // false
 */
export function originChecker(
  publicUrl: string | undefined,
  isProcessPage: (origin: string) => boolean = () => false,
  isOwnDomain: (host: string) => boolean = () => false,
): (origin: string | undefined, host: string | undefined) => boolean {
  const publicOrigin = publicUrl ? new URL(publicUrl).origin : null;
  return (origin, host) => {
    if (origin === undefined) return true;
    if (isProcessPage(origin)) return true;
    // A page of an owner's active domain (issue 21), asking its own host: delegated to Knock, so no rebinding.
    if (host && isOwnDomain(host) && (origin === `https://${host}` || origin === `http://${host}`)) return true;
    if (publicOrigin !== null) return origin === publicOrigin;
    if (!host) return false;
    return origin === `http://${host}` || origin === `https://${host}`;
  };
}
