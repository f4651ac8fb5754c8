/**
 * What calls cost and how fast they start (issue 4's note), measured with the real parts: Knock as `npm start` runs
 * it (its own process), a real Janus, and Debian's Chromium with a fake camera and microphone driving Knock's UI.
 *
 * 1. Accept to first frame: a visitor calls the owner, the owner clicks "Accept"; the time from that click to the
 *    first video frame decoded (WebRTC getStats, `framesDecoded` > 0), on the owner's page and on the caller's.
 *    `--runs` calls (default 10), one after the other; the median, min and max are reported.
 * 2. Server CPU per conference participant: a call of N devices (a visitor and N-1 devices of the owner) through
 *    Janus; once every page decodes video from all the others, the CPU time of the Knock process and of Janus over
 *    `--seconds` (default 30), from /proc/<pid>/stat, divided by N. An idle window first gives what both use alone.
 *
 *   node --import tsx bench/calls.ts [--runs 10] [--participants 3,4] [--seconds 30] [--out bench/results]
 *
 * The browsers run on the same machine as the servers and use most of its CPU (each page encodes its camera and
 * decodes the others'): the report says how busy the machine was, so the server figures can be read against it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildClient } from '../client/build.ts';
import { CALL_ARGS, CHROMIUM_ARGS, executablePath } from '../test/support/chromium.ts';
import { startJanus, type JanusProcess } from '../test/support/janusProcess.ts';
import { FAST_RATE_LIMITS, KnockProcess } from '../test/support/knockProcess.ts';
import { TEST_PASSWORD } from '../test/support/knockServer.ts';
import { momentsAfter, peerStats, watchMedia } from '../test/support/mediaProbe.ts';
import { CpuMeter, machineInfo } from './lib/procfs.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    participants: { type: 'string', default: '3,4' },
    seconds: { type: 'string', default: '30' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const RUNS = positiveInt(args.runs, '--runs');
const SECONDS = positiveInt(args.seconds, '--seconds');
const PARTICIPANTS = args.participants.split(',').map((n) => positiveInt(n, '--participants'));
if (PARTICIPANTS.some((n) => n < 3 || n > 12)) throw new Error('--participants: conferences of 3 to 12 devices (Janus takes a call from its third).');

const ADMIN_KEY = 'bench-admin-key';
const TOKEN_SECRET = 'bench-token-secret';
const STEP_TIMEOUT_MS = 30_000;

interface AcceptRun {
  /** Accept click -> first frame decoded on the page that accepted. */
  answererMs: number;
  /** Where the answerer's time went: Accept click -> camera and microphone open, -> peer connection made, -> connected. */
  mediaMs: number | null;
  connectionMs: number | null;
  connectedMs: number | null;
  /** Accept click -> first frame decoded on the caller's page. */
  callerMs: number;
}

interface ConferenceRun {
  participants: number;
  seconds: number;
  knockCores: number;
  janusCores: number;
  /** (Knock + Janus) / participants, in cores (1.0 = one core all the time). */
  perParticipantCores: number;
  /** Everything else on the machine (the browsers, mostly), in cores. */
  otherCores: number;
}

async function main(): Promise<void> {
  console.log('Building the browser app…');
  await buildClient({ minify: true });
  const janus = await startJanus({ adminKey: ADMIN_KEY, tokenSecret: TOKEN_SECRET });
  const knock = await KnockProcess.create({
    rateLimits: { ...FAST_RATE_LIMITS, callStarts: { perWindow: 10_000, windowMs: 60_000 }, loginsPerIp: { perWindow: 1000, windowMs: 60_000 } },
    env: {
      KNOCK_JANUS_URL: janus.httpUrl,
      KNOCK_JANUS_PUBLIC_URL: janus.wsUrl,
      KNOCK_JANUS_ADMIN_KEY: ADMIN_KEY,
      KNOCK_JANUS_TOKEN_SECRET: TOKEN_SECRET,
      KNOCK_CALL_MAX_MEMBERS: '12',
    },
  });
  let browser: Browser | null = null;
  // Ctrl-C stops Janus, Knock and Chromium too (they are children of this process, started here).
  const interrupted = () => {
    void Promise.allSettled([browser?.close(), knock.dispose(), janus.stop()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for (let n = 0; n <= PARTICIPANTS.length; n++) await knock.addUser(`bench${n}`, `Owner ${n}`);
    await knock.start();
    browser = await chromium.launch({ executablePath: executablePath(), headless: true, args: [...CHROMIUM_ARGS, ...CALL_ARGS] });

    console.log(`Accept to first frame: ${RUNS} calls…`);
    const accept = await measureAccept(browser, knock, 'bench0');
    console.log(`Server CPU per conference participant: ${PARTICIPANTS.join(', ')} participants, ${SECONDS} s each…`);
    const idle = new CpuMeter({ knock: [knock.pid!], janus: [janus.pid] });
    await sleep(Math.min(10, SECONDS) * 1000);
    const idleRead = idle.read();
    const conferences: ConferenceRun[] = [];
    for (const [i, n] of PARTICIPANTS.entries()) conferences.push(await measureConference(browser, knock, janus, `bench${i + 1}`, n));

    const report = {
      at: new Date().toISOString(),
      machine: machineInfo(),
      accept: { runs: accept, answerer: summary(accept.map((r) => r.answererMs)), caller: summary(accept.map((r) => r.callerMs)) },
      idle: { knockCores: idleRead.cores.knock ?? 0, janusCores: idleRead.cores.janus ?? 0, otherCores: idleRead.otherCores },
      conferences,
    };
    printReport(report);
    await mkdir(args.out, { recursive: true });
    const file = path.join(args.out, `calls-${report.at.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify(report, null, 2));
    console.log(`\nWritten to ${file}`);
  } finally {
    await browser?.close().catch(() => undefined);
    await knock.dispose();
    await janus.stop();
  }
}

// --- 1. Accept to first frame ----------------------------------------------------------------------------------------
async function measureAccept(browser: Browser, knock: KnockProcess, handle: string): Promise<AcceptRun[]> {
  const owner = await ownerPage(browser, knock, handle);
  const visitor = await visitorPage(browser, knock, handle, 'Caller');
  await owner.getByRole('list', { name: 'Conversations' }).getByRole('button').filter({ hasText: 'Caller' }).click();
  const runs: AcceptRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    await button(visitor, 'Video call').click();
    await button(owner, 'Accept').waitFor({ timeout: STEP_TIMEOUT_MS });
    const [answered, callerFrame] = [firstFrameAfterAcceptClick(owner), firstFrame(visitor)];
    await button(owner, 'Accept').click();
    const [{ clickedAt, frameAt }, callerAt] = await withTimeout(Promise.all([answered, callerFrame]), STEP_TIMEOUT_MS, 'the first decoded frames');
    const moments = await momentsAfter(owner, clickedAt);
    const since = (at: number | null) => (at === null ? null : at - clickedAt);
    const run: AcceptRun = {
      answererMs: frameAt - clickedAt,
      mediaMs: since(moments.media),
      connectionMs: since(moments.connection),
      connectedMs: since(moments.connected),
      callerMs: callerAt - clickedAt,
    };
    runs.push(run);
    console.log(
      `  run ${i + 1}: ${run.answererMs} ms (answerer: camera ${run.mediaMs} ms, connection ${run.connectionMs} ms, connected ${run.connectedMs} ms), ${run.callerMs} ms (caller)`,
    );
    await button(visitor, 'Hang up').click();
    await Promise.all([button(visitor, 'Video call').waitFor({ timeout: STEP_TIMEOUT_MS }), button(owner, 'Video call').waitFor({ timeout: STEP_TIMEOUT_MS })]);
  }
  await Promise.all([owner.context().close(), visitor.context().close()]);
  return runs;
}

/*
 * The two probes below run in the page. They use no named inner functions: tsx (esbuild keepNames) would wrap those
 * in a `__name` helper the page does not have.
 */

/** Resolves with the time of the click on "Accept" (caught in the page, capture phase) and of the first decoded frame. */
function firstFrameAfterAcceptClick(page: Page): Promise<{ clickedAt: number; frameAt: number }> {
  return page.evaluate(async () => {
    let clickedAt: number | null = null;
    const listening = new AbortController();
    document.addEventListener(
      'click',
      (e) => {
        const target = e.target instanceof Element ? e.target.closest('button') : null;
        if (target?.textContent?.trim() === 'Accept') clickedAt = Date.now();
      },
      { capture: true, signal: listening.signal },
    );
    for (;;) {
      if (clickedAt !== null) {
        for (const pc of window.__knockMedia?.connections ?? []) {
          if (pc.connectionState === 'closed') continue;
          let found = false;
          (await pc.getStats()).forEach((s: Record<string, unknown>) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video' && ((s.framesDecoded as number) ?? 0) > 0) found = true;
          });
          if (found) {
            listening.abort();
            return { clickedAt, frameAt: Date.now() };
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
}

/** Resolves with the time of the first decoded video frame on a peer connection the page opens from now on. */
function firstFrame(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const known = new Set(window.__knockMedia?.connections ?? []);
    for (;;) {
      for (const pc of window.__knockMedia?.connections ?? []) {
        if (known.has(pc) || pc.connectionState === 'closed') continue;
        let found = false;
        (await pc.getStats()).forEach((s: Record<string, unknown>) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video' && ((s.framesDecoded as number) ?? 0) > 0) found = true;
        });
        if (found) return Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
}

// --- 2. Conference CPU -----------------------------------------------------------------------------------------------
async function measureConference(browser: Browser, knock: KnockProcess, janus: JanusProcess, handle: string, n: number): Promise<ConferenceRun> {
  const visitor = await visitorPage(browser, knock, handle, 'Guest');
  const devices: Page[] = [];
  for (let i = 0; i < n - 1; i++) {
    const page = await ownerPage(browser, knock, handle);
    await page.getByRole('list', { name: 'Conversations' }).getByRole('button').filter({ hasText: 'Guest' }).click();
    devices.push(page);
  }
  const pages = [visitor, ...devices];
  await button(visitor, 'Video call').click();
  await button(devices[0]!, 'Accept').click();
  for (const page of devices.slice(1)) await button(page, 'Join call').click();
  const deadline = Date.now() + 120_000;
  for (const page of pages) {
    while ((await decodingFrom(page)) < n - 1) {
      if (Date.now() > deadline) {
        const seen = await Promise.all(pages.map(async (p) => (await peerStats(p)).map((st) => `${st.state}:${st.framesDecoded.join('/')}`).join(' ')));
        throw new Error(`a page of the ${n}-device conference never decoded video from all the others:\n  ${seen.join('\n  ')}`);
      }
      await sleep(250);
    }
  }
  const meter = new CpuMeter({ knock: [knock.pid!], janus: [janus.pid] });
  await sleep(SECONDS * 1000);
  const read = meter.read();
  const decoding = await Promise.all(pages.map(decodingFrom));
  if (decoding.some((d) => d < n - 1)) console.warn(`  warning: after the window some pages decoded from fewer devices: ${decoding.join(', ')}`);
  const knockCores = read.cores.knock ?? 0;
  const janusCores = read.cores.janus ?? 0;
  const run: ConferenceRun = {
    participants: n,
    seconds: read.seconds,
    knockCores,
    janusCores,
    perParticipantCores: (knockCores + janusCores) / n,
    otherCores: read.otherCores,
  };
  console.log(`  ${n} participants: Knock ${pct(knockCores)}, Janus ${pct(janusCores)}, per participant ${pct(run.perParticipantCores)} of a core`);
  // Everyone hangs up; the call ends when one person is left, so the last buttons may be gone already.
  for (const page of pages) {
    const hangUp = button(page, 'Hang up');
    if (await hangUp.isVisible()) await hangUp.click().catch(() => undefined);
  }
  await Promise.all(pages.map((p) => p.context().close()));
  return run;
}

/** How many inbound video streams of open connections decode frames. */
async function decodingFrom(page: Page): Promise<number> {
  const stats = await peerStats(page);
  return stats.flatMap((s) => s.framesDecoded).filter((f) => f > 0).length;
}

// --- pages -----------------------------------------------------------------------------------------------------------
async function ownerPage(browser: Browser, knock: KnockProcess, handle: string): Promise<Page> {
  const page = await newPage(browser);
  await watchMedia(page);
  await page.goto(`${knock.url}/${handle}`);
  await button(page, 'Owner? Log in').click();
  await page.getByRole('textbox', { name: 'Password' }).fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await button(page, 'Log out').waitFor({ timeout: STEP_TIMEOUT_MS });
  return page;
}

/** A visitor who wrote a first message, so the conversation exists. */
async function visitorPage(browser: Browser, knock: KnockProcess, handle: string, name: string): Promise<Page> {
  const page = await newPage(browser);
  await watchMedia(page);
  await page.goto(`${knock.url}/${handle}`);
  await page.getByRole('textbox', { name: 'Your name' }).fill(name);
  await page.getByRole('textbox', { name: 'Message' }).fill('Hello');
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await button(page, 'Video call').and(page.locator(':enabled')).waitFor({ timeout: STEP_TIMEOUT_MS });
  return page;
}

/** A page in a context of its own (another person or device), whose every step gives up after STEP_TIMEOUT_MS. */
async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  return context.newPage();
}

function button(page: Page, name: string) {
  return page.getByRole('button', { name, exact: true });
}

// --- report ----------------------------------------------------------------------------------------------------------
function summary(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

function printReport(report: {
  machine: ReturnType<typeof machineInfo>;
  accept: { answerer: ReturnType<typeof summary>; caller: ReturnType<typeof summary>; runs: AcceptRun[] };
  idle: { knockCores: number; janusCores: number; otherCores: number };
  conferences: ConferenceRun[];
}): void {
  const { machine, accept, idle, conferences } = report;
  console.log(`\nMachine: ${machine.cpus} × ${machine.model}, Node ${machine.node}, load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`\nAccept → first decoded frame, ${accept.runs.length} calls (p2p):`);
  console.log(`  on the answering page: median ${accept.answerer.median} ms (min ${accept.answerer.min}, max ${accept.answerer.max})`);
  console.log(`  on the caller's page:  median ${accept.caller.median} ms (min ${accept.caller.min}, max ${accept.caller.max})`);
  const medianOf = (pick: (r: AcceptRun) => number | null) => {
    const values = accept.runs.map(pick).filter((v): v is number => v !== null);
    return values.length === 0 ? '-' : `${summary(values).median} ms`;
  };
  console.log(
    `  answerer, medians from the click: camera and microphone open ${medianOf((r) => r.mediaMs)}, peer connection made ${medianOf((r) => r.connectionMs)}, connected ${medianOf((r) => r.connectedMs)}`,
  );
  console.log(`\nServer CPU (1.0 = one core), idle: Knock ${pct(idle.knockCores)}, Janus ${pct(idle.janusCores)}`);
  console.log('  participants | Knock   | Janus   | per participant (Knock + Janus) / N | rest of the machine');
  for (const c of conferences) {
    console.log(
      `  ${String(c.participants).padStart(12)} | ${pct(c.knockCores).padStart(7)} | ${pct(c.janusCores).padStart(7)} | ${pct(c.perParticipantCores).padStart(35)} | ${c.otherCores.toFixed(2)} cores`,
    );
  }
}

function pct(cores: number): string {
  return `${(cores * 100).toFixed(1)}%`;
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number (got "${text}").`);
  return n;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
