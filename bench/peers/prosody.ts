/**
 * Prosody as the bench runs it: Debian's package (0.12), started as the tests start it (test/support/prosody.ts,
 * RECIPES.md "Prosody"): as the `prosody` user, `prosody --config <dir>/prosody.cfg.lua -F`, pidfile, data and log
 * in a temporary directory, client connections only on 127.0.0.1 (no s2s, no TLS, PLAIN allowed on the plain
 * socket), pinned with taskset like the bench's other servers.
 *
 * Message archiving: mod_mam with Prosody's default storage, `internal` (files under the data directory; Debian's
 * /etc/prosody/prosody.cfg.lua leaves `storage = "internal"` and mod_mam's page only shows SQL as an alternative),
 * `default_archive_policy = true` (every message archived, as Knock stores every message). The modules are those
 * Debian's configuration enables, with "mam" uncommented, less tls, dialback, invites and the admin interfaces.
 * Departures, each so that only the server's capacity limits the load or the seeding is quick: mod_limits at
 * 10 MB/s per connection (Debian's file: 10 kB/s), SCRAM at 1,000 iterations (the tests' setting; it only changes
 * what a login costs), in-band registration open (loopback, the seeding step).
 *
 * @example
 *   const peer = await startXmppPeer(prosodyPeer, { cpus: '0' });
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readLogs, writeConfigFile, type XmppPeerDefinition } from './xmppPeer.ts';

function configOf(dir: string, port: number, domain: string): string {
  const q = (s: string) => JSON.stringify(s);
  return `-- Written by bench/peers/prosody.ts for one bench run.
pidfile = ${q(path.join(dir, 'prosody.pid'))}
data_path = ${q(path.join(dir, 'data'))}
certificates = ${q(path.join(dir, 'certs'))}
log = { warn = ${q(path.join(dir, 'prosody.log'))} }
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
modules_enabled = {
  "disco"; "roster"; "saslauth"; "blocklist"; "bookmarks"; "carbons"; "limits"; "pep"; "private"; "smacks";
  "vcard4"; "vcard_legacy"; "csi_simple"; "ping"; "register"; "time"; "uptime"; "version"; "posix";
  "mam";
}
modules_disabled = { "s2s"; "tls" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = true
authentication = "internal_hashed"
default_iteration_count = 1000
storage = "internal"
default_archive_policy = true
archive_expires_after = "1w"
limits = { c2s = { rate = "10mb/s" } }
VirtualHost ${q(domain)}
`;
}

export const prosodyPeer: XmppPeerDefinition = {
  kind: 'prosody',
  label: 'Prosody (mod_mam, internal storage)',
  storageLines: ['storage = "internal"', 'modules_enabled = { ...; "mam" }', 'default_archive_policy = true', 'archive_expires_after = "1w"'],
  packages: ['prosody'],
  installed: () => existsSync('/usr/bin/prosody'),
  user: 'prosody',
  configure(dir, port, domain) {
    writeConfigFile(dir, 'prosody.cfg.lua', configOf(dir, port, domain));
    writeConfigFile(dir, 'data/.keep', '');
    // None: TLS is off; an empty directory keeps Prosody from logging an error.
    writeConfigFile(dir, 'certs/.keep', '');
  },
  command(dir) {
    return { program: '/usr/bin/prosody', args: ['--config', path.join(dir, 'prosody.cfg.lua'), '-F'], env: {} };
  },
  log: (dir) => readLogs(dir, ['prosody.log']),
};
