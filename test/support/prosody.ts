/**
 * A real Prosody for a test file (RECIPES.md "Prosody (XMPP)"): its own configuration, pidfile, data and log in a
 * temporary directory owned by the `prosody` user, client connections only (no s2s, no TLS, plain auth allowed) on
 * 127.0.0.1 and a free port, SCRAM at 1000 iterations so each login costs milliseconds, not a second. It can be
 * stopped (by its PID, waiting for it to exit) and started again on the same port with the same accounts and rosters,
 * which is how the tests play "the XMPP server went away and came back".
 *
 * @example
 *   const prosody = await Prosody.start();
 *   await prosody.register('owner', 'pw');
 *   ... new XmppChannel({ service: prosody.service, jid: `knock@${prosody.domain}`, ... }) ...
 *   await prosody.stop();      // the server is gone
 *   await prosody.restart();   // back, same port and data
 *   await prosody.close();     // stopped and its directory removed
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';

const PROSODY = '/usr/bin/prosody';
const PROSODYCTL = '/usr/bin/prosodyctl';
/** How long Prosody may take to listen, and to exit once told to. */
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

/** The uid/gid to run Prosody as: the `prosody` user when we are root (as root it refuses to run), else ourselves. */
async function prosodyUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const passwd = await readFile('/etc/passwd', 'utf8');
  const fields = passwd.split('\n').find((line) => line.startsWith('prosody:'))?.split(':');
  if (!fields?.[2] || !fields[3]) throw new Error('There is no "prosody" user: is the prosody package installed?');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function configOf(dir: string, port: number, domain: string): string {
  const q = (s: string) => JSON.stringify(s); // a Lua string literal, for the paths we make
  return `-- Written by test/support/prosody.ts for one test file.
pidfile = ${q(path.join(dir, 'prosody.pid'))}
data_path = ${q(path.join(dir, 'data'))}
log = { info = ${q(path.join(dir, 'prosody.log'))}; error = ${q(path.join(dir, 'prosody.err'))} }
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "carbons"; "smacks"; "posix" }
modules_disabled = { "s2s"; "tls" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
default_iteration_count = 1000
storage = "internal"
-- Generous per-connection read rates: the tests flood on purpose and measure Knock's limit, not Prosody's.
limits = { c2s = { rate = "10mb/s" } }
VirtualHost ${q(domain)}
`;
}

/** True when something accepts a TCP connection on 127.0.0.1:port. */
export function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

/** Runs a program to its end; rejects with its output when it fails. */
function run(command: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

export class Prosody {
  /** The XMPP domain of the one virtual host. */
  readonly domain: string;
  /** `xmpp://127.0.0.1:<port>`: what KNOCK_XMPP_SERVICE would say. */
  readonly service: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly user: { uid: number; gid: number } | null,
    domain: string,
  ) {
    this.domain = domain;
    this.service = `xmpp://127.0.0.1:${port}`;
  }

  /** Writes a configuration for a free port and starts Prosody; resolves once it accepts connections. */
  static async start(options: { domain?: string } = {}): Promise<Prosody> {
    if (!existsSync(PROSODY)) {
      throw new Error(`Prosody is not installed (${PROSODY}). Run, as root: apt-get install -y --no-install-recommends prosody (npm test's pretest does it).`);
    }
    const user = await prosodyUser();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'knock-prosody-'));
    await mkdir(path.join(dir, 'data'));
    await mkdir(path.join(dir, 'certs')); // none: TLS is off; an empty directory keeps Prosody from logging an error
    const port = await freePort();
    const domain = options.domain ?? 'localhost';
    await writeFile(path.join(dir, 'prosody.cfg.lua'), configOf(dir, port, domain));
    if (user) {
      for (const p of [dir, path.join(dir, 'data'), path.join(dir, 'certs'), path.join(dir, 'prosody.cfg.lua')]) await chown(p, user.uid, user.gid);
    }
    const prosody = new Prosody(dir, port, user, domain);
    try {
      await prosody.restart();
    } catch (err) {
      await prosody.close();
      throw err;
    }
    return prosody;
  }

  private get config(): string {
    return path.join(this.dir, 'prosody.cfg.lua');
  }

  private spawnOptions(): SpawnOptions {
    // HOME matters to nothing Prosody does here, but root's HOME is not readable by the prosody user.
    return { ...(this.user ?? {}), cwd: this.dir, env: { ...process.env, HOME: this.dir } };
  }

  /** Makes an account `name@domain` (prosodyctl writes it to the data directory; a running Prosody sees it at once). */
  async register(name: string, password: string): Promise<string> {
    await run(PROSODYCTL, ['--config', this.config, 'register', name, this.domain, password], this.spawnOptions());
    return `${name}@${this.domain}`;
  }

  /** Starts Prosody again (after `stop()`) on the same port, with the same accounts and rosters. */
  async restart(): Promise<void> {
    if (this.closed) throw new Error('This Prosody was closed.');
    if (this.child) return;
    const child = spawn(PROSODY, ['--config', this.config, '-F'], { ...this.spawnOptions(), stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await answers(this.port))) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        const log = await this.log();
        await this.stop();
        throw new Error(`Prosody did not start on 127.0.0.1:${this.port}\n${log.slice(-3000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops Prosody by its PID (SIGTERM, SIGKILL after 10 s) and waits until it has exited. Harmless when stopped. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    this.child = null;
  }

  /** Prosody's log so far (info and above), for a failing test's message. */
  async log(): Promise<string> {
    const read = (name: string) => readFile(path.join(this.dir, name), 'utf8').catch(() => '');
    return `${await read('prosody.log')}${await read('prosody.err')}` || '(no log)';
  }

  /** Stops Prosody and removes its directory. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
