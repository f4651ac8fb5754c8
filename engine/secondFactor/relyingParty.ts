/**
 * Where a WebAuthn ceremony happens (the relying party): the host name of KNOCK_PUBLIC_URL, with its origin the only
 * one an answer may come from. Without a public URL (local use, tests), the host the request names, over HTTP or
 * HTTPS, as engine/http/origin.ts accepts pages then. A passkey is bound to its RP ID: one made under one public URL
 * does not sign in under another, nor at an owner's own domain (issue 21).
 *
 * @example
 *   relyingPartyOf('https://chat.example.com', '10.0.0.5:8080') // { id: 'chat.example.com', origins: ['https://chat.example.com'] }
 *   relyingPartyOf(undefined, 'localhost:8080')                 // { id: 'localhost', origins: ['http://localhost:8080', 'https://localhost:8080'] }
 */
import { KnockError } from '../errors.ts';
import { hostName } from '../hostName.ts';
import type { RelyingParty } from '../ports/storage.ts';

export function relyingPartyOf(publicUrl: string | undefined, hostHeader: string | undefined): RelyingParty {
  if (publicUrl !== undefined) {
    const url = new URL(publicUrl);
    return { id: url.hostname.toLowerCase(), origins: [url.origin] };
  }
  const id = hostName(hostHeader);
  if (id === null || hostHeader === undefined) throw new KnockError('bad_request', 'The request names no host this server can use for passkeys.');
  const host = hostHeader.toLowerCase();
  return { id, origins: [`http://${host}`, `https://${host}`] };
}
