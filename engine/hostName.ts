/**
 * A host name as a TLS handshake (SNI) or a Host header gives it, in the form own domains are stored (issue 21): lower
 * case, without its port or a root dot; null when it is no host name. One rule for the TLS front (engine/tls.ts) and
 * the pages an own domain serves (engine/domainHosts.ts), so both read a name alike.
 *
 * @example
 *   hostName('Alice.Example.:8443') // 'alice.example'
 */
export function hostName(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const name = raw.toLowerCase().replace(/:\d{1,5}$/, '').replace(/\.$/, '');
  return /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name) ? name : null;
}
