/**
 * A real Janus for a test file (RECIPES.md "Janus"): Debian's configuration copied to a temporary directory and
 * narrowed to what Knock uses (HTTP and WebSocket APIs on 127.0.0.1 and free ports, the VideoRoom plugin only, a
 * small RTP port range), started with `janus -C DIR/janus.jcfg -F DIR -L LOG`, and stopped by its PID.
 *
 * @example
 *   const janus = await startJanus({ adminKey: 'room-admin-key', tokenSecret: 'signed-token-secret' });
 *   ... janus.httpUrl, janus.wsUrl ...
 *   await janus.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stopChild } from './childProcess.ts';
import { freePort } from './ports.ts';

const JANUS = '/usr/bin/janus';
const JANUS_CONFIG = '/etc/janus';
const LIBS = '/usr/lib/x86_64-linux-gnu/janus';
/** Everything but the VideoRoom: several of Debian's plugins fail to load or listen on their own. */
const DISABLED_PLUGINS = [
  'audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'streaming', 'textroom', 'videocall', 'voicemail',
].map((p) => `libjanus_${p}.so`);
const DISABLED_TRANSPORTS = ['rabbitmq', 'mqtt', 'nanomsg', 'pfunix'].map((t) => `libjanus_${t}.so`);

export interface JanusOptions {
  /** The VideoRoom plugin's admin_key. */
  adminKey?: string;
  /** The core's token_auth_secret: every request then needs a signed token. */
  tokenSecret?: string;
  /** Runs Janus under `taskset -c <cpu>` (all its threads): a bench pins the SFU to one core. */
  cpu?: number;
  /** Janus's debug_level (4 by default: the test's log says what happened; 3, warnings, costs nothing under load). */
  debugLevel?: number;
  /** Seconds before an idle API session is dropped (Janus's default, 60, when not set; 0 never). */
  sessionTimeout?: number;
}

export interface JanusProcess {
  /** The HTTP API, as Knock's adapter uses it: http://127.0.0.1:PORT/janus */
  httpUrl: string;
  /** The WebSocket API, as browsers use it: ws://127.0.0.1:PORT */
  wsUrl: string;
  pid: number;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export function janusInstalled(): boolean {
  return existsSync(JANUS);
}

export async function startJanus(options: JanusOptions = {}): Promise<JanusProcess> {
  if (!janusInstalled()) {
    throw new Error(`Janus is not installed (${JANUS}). Run, as root: apt-get install -y --no-install-recommends janus (npm test's pretest does it).`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'knock-janus-'));
  await cp(JANUS_CONFIG, dir, { recursive: true });
  const [httpPort, wsPort] = [await freePort(), await freePort()];
  await writeConfig(dir, httpPort, wsPort, options);
  const logFile = path.join(dir, 'janus.log');
  const janusArgs = ['-C', path.join(dir, 'janus.jcfg'), '-F', dir, '-L', logFile];
  const child =
    options.cpu === undefined
      ? spawn(JANUS, janusArgs, { stdio: 'ignore' })
      : spawn('taskset', ['-c', String(options.cpu), JANUS, ...janusArgs], { stdio: 'ignore' }); // taskset execs janus: same pid
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const httpUrl = `http://127.0.0.1:${httpPort}/janus`;
  const log = () => readFile(logFile, 'utf8').catch(() => '(no log)');
  try {
    await waitUntilUp(httpUrl, child, 10_000);
  } catch (err) {
    await stopChild(child, exited);
    throw new Error(`${(err as Error).message}\n${(await log()).slice(-3000)}`);
  }
  let stopped: Promise<void> | null = null;
  return {
    httpUrl,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    pid: child.pid!,
    log,
    stop() {
      stopped ??= (async () => {
        await stopChild(child, exited);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

async function writeConfig(dir: string, httpPort: number, wsPort: number, options: JanusOptions): Promise<void> {
  const general = [
    `configs_folder = "${dir}"`,
    `plugins_folder = "${LIBS}/plugins"`,
    `transports_folder = "${LIBS}/transports"`,
    `events_folder = "${LIBS}/events"`,
    `loggers_folder = "${LIBS}/loggers"`,
    `debug_level = ${options.debugLevel ?? 4}`,
    ...(options.sessionTimeout !== undefined ? [`session_timeout = ${options.sessionTimeout}`] : []),
    ...(options.tokenSecret !== undefined ? ['token_auth = true', `token_auth_secret = "${options.tokenSecret}"`] : []),
  ];
  await writeFile(
    path.join(dir, 'janus.jcfg'),
    [
      `general: {\n\t${general.join('\n\t')}\n}`,
      'media: {\n\trtp_port_range = "20000-20100"\n}',
      'nat: {\n\tnice_debug = false\n\tice_ignore_list = "vmnet"\n}',
      `plugins: {\n\tdisable = "${DISABLED_PLUGINS.join(',')}"\n}`,
      `transports: {\n\tdisable = "${DISABLED_TRANSPORTS.join(',')}"\n}`,
      'events: {\n\tbroadcast = false\n}',
      'loggers: {\n\tdisable = "libjanus_jsonlog.so"\n}',
    ].join('\n'),
  );
  await writeFile(
    path.join(dir, 'janus.transport.http.jcfg'),
    `general: {\n\tjson = "plain"\n\tbase_path = "/janus"\n\thttp = true\n\tport = ${httpPort}\n\tip = "127.0.0.1"\n\thttps = false\n}\nadmin: {\n\tadmin_http = false\n}\n`,
  );
  await writeFile(
    path.join(dir, 'janus.transport.websockets.jcfg'),
    `general: {\n\tjson = "plain"\n\tws = true\n\tws_port = ${wsPort}\n\tws_ip = "127.0.0.1"\n\twss = false\n}\nadmin: {\n\tadmin_ws = false\n}\n`,
  );
  const videoroom = options.adminKey !== undefined ? `\tadmin_key = "${options.adminKey}"\n` : '';
  await writeFile(path.join(dir, 'janus.plugin.videoroom.jcfg'), `general: {\n${videoroom}}\n`);
}

async function waitUntilUp(httpUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`janus exited at start (${child.exitCode ?? child.signalCode})`);
    try {
      const response = await fetch(`${httpUrl}/info`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`janus did not answer at ${httpUrl} within ${timeoutMs} ms`);
}
