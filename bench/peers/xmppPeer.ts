/**
 * What the two XMPP peers of the bench (ejabberd, Prosody) share: their Debian package installed when missing (as
 * root, like the tests' packages), a temporary directory owned by the daemon's own user, the daemon started as that
 * user pinned to the server CPUs and registered with the bench's other children (killed by pid), readiness as "the
 * client port accepts", memory as RSS from /proc (no GC can be forced in Erlang or Lua from outside: the figure is
 * what the process holds), and the accounts registered in-band (XEP-0077) before the load, on several streams at once.
 *
 * @example
 *   const peer = await startXmppPeer(prosodyPeer, { cpus: '0' });
 *   const accounts = await peer.register(['p0a', 'p0b'], 16);
 *   ... PairSpec { endpoint: peer.server.endpoints[0], xmpp: [accounts[0], accounts[1]] } ...
 *   await peer.server.stop();
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { XmppAccount } from '../load/messages.ts';
import { XmppConnection, xmppAddress } from '../load/xmppClient.ts';
import { rssBytes } from '../lib/procfs.ts';
import { baseEnv, freePort, sleep, spawnPinnedProgram, type Pinned } from '../lib/processes.ts';
import type { PeerKind, RunningServer } from '../targets.ts';
import { answers } from '../../test/support/prosody.ts';

const START_TIMEOUT_MS = 60_000;
const REGISTER_TIMEOUT_MS = 30_000;
/** Every bench account's password (loopback only, thrown away with the server's directory). */
export const BENCH_XMPP_PASSWORD = 'bench-secret';
/** Another install (a second checkout's, the tests' pretest) may hold dpkg's lock: wait for it. */
const APT_WAIT_FOR_LOCK = ['-o', 'DPkg::Lock::Timeout=600'];

/** How one XMPP server is installed, configured and started. */
export interface XmppPeerDefinition {
  kind: PeerKind;
  label: string;
  /** The configuration lines that decide how messages are stored (shown in the report). */
  storageLines: string[];
  /** Debian packages it needs, and whether they are installed. */
  packages: string[];
  installed(): boolean;
  /** The Unix user it runs as (it refuses root, or should not have it). */
  user: string;
  /** Writes its configuration into `dir` (owned by `user`) for a client port on 127.0.0.1. */
  configure(dir: string, port: number, domain: string): void;
  /** The program and arguments to run it in the foreground from `dir`, and its environment. */
  command(dir: string): { program: string; args: string[]; env: Record<string, string> };
  /** Its log so far, for a failure's message. */
  log(dir: string): string;
}

export interface StartedXmppPeer {
  server: RunningServer;
  domain: string;
  /** The Debian package's version, for the report. */
  version: string;
  /** Registers the accounts (in-band, on `concurrency` streams at once); each one's failure is an error. */
  register(usernames: string[], concurrency: number): Promise<XmppAccount[]>;
}

/** Installs the peer's packages when they are missing and we are root; otherwise says what to run. */
export function ensurePeerInstalled(peer: XmppPeerDefinition): void {
  if (peer.installed()) return;
  const command = `apt-get install -y --no-install-recommends ${peer.packages.join(' ')}`;
  if (process.getuid?.() !== 0) throw new Error(`${peer.label} is not installed. Run: sudo apt-get update && sudo ${command}`);
  console.log(`installing Debian's ${peer.packages.join(', ')} for the ${peer.kind} peer (the system service is not started)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', [...APT_WAIT_FOR_LOCK, 'update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', [...APT_WAIT_FOR_LOCK, 'install', '-y', '-qq', '--no-install-recommends', ...peer.packages], { stdio: 'inherit', env });
  if (!peer.installed()) throw new Error(`${peer.packages.join(' ')} installed, but ${peer.label} is still not found`);
}

function packageVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function systemUser(name: string): { uid: number; gid: number } {
  const fields = readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith(`${name}:`))?.split(':');
  if (!fields?.[2] || !fields[3]) throw new Error(`There is no "${name}" user: is its Debian package installed?`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Gives the whole tree to the daemon's user (it writes its data, logs and pidfile there). */
function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) chownTree(p, owner);
    else chownSync(p, owner.uid, owner.gid);
  }
}

async function waitForPort(port: number, proc: Pinned, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  void proc.exited.then(() => (gone = true));
  while (!(await answers(port))) {
    if (gone) throw new Error(`${proc.name} exited while starting:\n${proc.output()}\n${log().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms:\n${log().slice(-3000)}`);
    await sleep(50);
  }
}

/**
 * Registers accounts one after the other on one unauthenticated stream (both servers take several XEP-0077
 * registrations on one stream, which saves a connection and a stream per account).
 */
async function registerOnOneStream(endpoint: string, domain: string, next: () => XmppAccount | undefined): Promise<void> {
  const connection = await XmppConnection.open(xmppAddress(endpoint, domain), REGISTER_TIMEOUT_MS);
  try {
    for (let account = next(); account; account = next()) await connection.register(account.username, account.password, REGISTER_TIMEOUT_MS);
  } finally {
    connection.close();
  }
}

/** Starts the peer in a fresh directory; resolves once its client port accepts connections. */
export async function startXmppPeer(peer: XmppPeerDefinition, opts: { cpus: string; domain?: string }): Promise<StartedXmppPeer> {
  ensurePeerInstalled(peer);
  const owner = systemUser(peer.user);
  const domain = opts.domain ?? 'localhost';
  const dir = mkdtempSync(path.join(os.tmpdir(), `knock-bench-${peer.kind}-`));
  let proc: Pinned | null = null;
  try {
    const port = await freePort();
    peer.configure(dir, port, domain);
    chownTree(dir, owner);
    const { program, args, env } = peer.command(dir);
    // HOME: the daemon's user cannot read root's.
    proc = spawnPinnedProgram({ name: peer.kind, cpus: opts.cpus, program, args, env: { ...baseEnv(), HOME: dir, ...env }, cwd: dir, user: owner });
    const started = proc;
    await waitForPort(port, started, () => peer.log(dir));
    const endpoint = `xmpp://127.0.0.1:${port}`;
    const server: RunningServer = {
      kind: peer.kind,
      label: peer.label,
      protocol: 'xmpp',
      endpoints: [endpoint],
      procs: [started],
      dataDir: dir,
      memory: async () => {
        const rss = rssBytes(started.pid);
        if (rss === null) throw new Error(`${peer.kind} is gone:\n${peer.log(dir).slice(-2000)}`);
        return { rssBytes: rss, heapUsedBytes: null, externalBytes: null, gc: false };
      },
      stop: async () => {
        await started.stop(10_000);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    const register = async (usernames: string[], concurrency: number): Promise<XmppAccount[]> => {
      const accounts = usernames.map((username) => ({ domain, username, password: BENCH_XMPP_PASSWORD }));
      let i = 0;
      const next = () => accounts[i++];
      await Promise.all(Array.from({ length: Math.min(concurrency, accounts.length) }, () => registerOnOneStream(endpoint, domain, next)));
      return accounts;
    };
    return { server, domain, version: packageVersion(peer.packages[0]!), register };
  } catch (err) {
    await proc?.stop(2000);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Writes a file of the peer's directory (the caller chowns the tree afterwards). */
export function writeConfigFile(dir: string, name: string, text: string): void {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** The tail of the log files that exist, for error messages. */
export function readLogs(dir: string, names: string[]): string {
  return names.map((n) => path.join(dir, n)).filter((f) => existsSync(f)).map((f) => readFileSync(f, 'utf8')).join('\n') || '(no log)';
}
