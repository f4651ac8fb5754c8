/**
 * ejabberd as the bench runs it: Debian's package (23.01), its own configuration in a temporary directory (never the
 * system service), client connections on 127.0.0.1 only, run as the `ejabberd` user with `erl ... -s ejabberd` in the
 * foreground (what `ejabberdctl foreground` runs, minus the Erlang distribution: no node name, no epmd, nothing but
 * the client port listening), pinned with taskset like the bench's other servers.
 *
 * Message archiving is on the way ejabberd's documentation asks for it: mod_mam with `db_type: sql` on SQLite
 * (mod_mam warns that its Mnesia backend "is not recommended ... for small servers SQLite is a preferred choice"),
 * `default: always` (every message archived, as Knock stores every message), which needs Debian's
 * erlang-p1-sqlite3. Accounts, rosters and the rest stay in Mnesia (the default database). The modules are those of
 * Debian's /etc/ejabberd/ejabberd.yml that act on a 1:1 chat session, without the HTTP, MUC, pubsub and s2s ones
 * (nothing here listens for them). Departures from Debian's file, each so that only the server's capacity limits
 * the load: no shaper (Debian's c2s shaper allows 3,000 bytes/s per user), `auth_password_format: plain`
 * (ejabberd's own default; Debian's file picks SCRAM, which makes each of thousands of logins hash), in-band
 * registration open on loopback with no per-address delay (`registration_timeout: infinity`, the seeding step).
 * `ejabberdMnesiaPeer` is the same with mod_mam's default backend, Mnesia (no db_type): what ejabberd does when
 * nobody syncs each archive row (bench/peers/durability.ts), run when asked for.
 *
 * @example
 *   const peer = await startXmppPeer(ejabberdPeer, { cpus: '0' });
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { readLogs, writeConfigFile, type XmppPeerDefinition } from './xmppPeer.ts';

/** Where Debian puts ejabberd's Erlang applications (ejabberdctl's ERL_LIBS). */
const ERL_LIBS = '/usr/lib/x86_64-linux-gnu';

/** Where mod_mam archives: SQLite (what ejabberd's documentation recommends) or Mnesia (mod_mam's default db_type). */
type ArchiveBackend = 'sqlite' | 'mnesia';

const storageLines: Record<ArchiveBackend, string[]> = {
  sqlite: ['sql_type: sqlite', 'sql_database: <dir>/ejabberd.db', 'mod_mam: { db_type: sql, default: always, assume_mam_usage: true }', 'default_db: mnesia (accounts, rosters)'],
  mnesia: ['default_db: mnesia', 'mod_mam: { default: always, assume_mam_usage: true } (db_type: mnesia, the default)'],
};

function configOf(dir: string, port: number, domain: string, backend: ArchiveBackend): string {
  const sql = backend === 'sqlite' ? `sql_type: sqlite\nsql_database: "${path.join(dir, 'ejabberd.db')}"\n` : '';
  const mamBackend = backend === 'sqlite' ? '    db_type: sql\n' : '';
  return `# Written by bench/peers/ejabberd.ts for one bench run.
hosts: ["${domain}"]
loglevel: warning
log_rotate_count: 0
hide_sensitive_log_data: true
listen:
  - port: ${port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    starttls_required: false
auth_password_format: plain
registration_timeout: infinity
${sql}modules:
  mod_adhoc: {}
  mod_blocking: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_client_state: {}
  mod_disco: {}
  mod_last: {}
  mod_mam:
${mamBackend}    assume_mam_usage: true
    default: always
  mod_offline:
    access_max_user_messages: max_user_offline_messages
  mod_ping: {}
  mod_privacy: {}
  mod_private: {}
  mod_register:
    ip_access: all
  mod_roster:
    versioning: true
  mod_stream_mgmt:
    resend_on_timeout: if_offline
  mod_vcard: {}
  mod_version:
    show_os: false
shaper_rules:
  max_user_offline_messages: 5000
`;
}

/** True when Debian's ejabberd and its SQLite driver are installed. */
function ejabberdInstalled(): boolean {
  try {
    return readdirSync(ERL_LIBS).some((d) => d.startsWith('ejabberd-')) && readdirSync('/usr/lib/erlang/lib').some((d) => d.startsWith('p1_sqlite3-'));
  } catch {
    return false;
  }
}

function ejabberdOn(backend: ArchiveBackend): XmppPeerDefinition {
  return {
    kind: backend === 'sqlite' ? 'ejabberd' : 'ejabberdMnesia',
    label: backend === 'sqlite' ? 'ejabberd (mod_mam on SQLite)' : 'ejabberd (mod_mam on Mnesia)',
    storageLines: storageLines[backend],
    packages: ['ejabberd', 'erlang-p1-sqlite3'],
    installed: ejabberdInstalled,
    user: 'ejabberd',
    configure(dir, port, domain) {
      writeConfigFile(dir, 'ejabberd.yml', configOf(dir, port, domain, backend));
      writeConfigFile(dir, 'mnesia/.keep', '');
    },
    command,
    log: (dir) => readLogs(dir, ['ejabberd.log', 'error.log']),
  };
}

/** As ejabberdctl foreground runs it, without `-sname`: a node that is not distributed needs no epmd. */
function command(dir: string): { program: string; args: string[]; env: Record<string, string> } {
  return {
    program: '/usr/bin/erl',
    args: ['-noinput', '-noshell', '+K', 'true', '+P', '250000', '-mnesia', 'dir', JSON.stringify(path.join(dir, 'mnesia')), '-s', 'ejabberd'],
    env: {
      ERL_LIBS,
      EJABBERD_CONFIG_PATH: path.join(dir, 'ejabberd.yml'),
      EJABBERD_LOG_PATH: path.join(dir, 'ejabberd.log'),
      ERL_CRASH_DUMP_BYTES: '0',
      ERL_MAX_PORTS: '32000',
      ERL_MAX_ETS_TABLES: '1400',
    },
  };
}

/** ejabberd as ejabberd's documentation leads a self-hoster: mod_mam on SQLite. */
export const ejabberdPeer = ejabberdOn('sqlite');
/** ejabberd with mod_mam's default backend, Mnesia (asynchronous log, no fsync per message): run only when asked. */
export const ejabberdMnesiaPeer = ejabberdOn('mnesia');
