/**
 * An XMPP server a self-hoster would run instead of Knock (ejabberd, Prosody: bench/peers/), measured with the same
 * workload as Knock in the same run: idle logged-in users for memory per idle connection (the connections scenario's
 * ramp), then chat pairs of logged-in users relaying 1:1 messages, closed loop for saturation and open loop at
 * Knock's rates and at a fraction of its own saturation (the throughput scenario). The accounts are registered
 * in-band before any of it (the seeding step, as bench/seed.ts is for Knock).
 *
 * @example
 *   report.peers.push(await measureXmppPeer(ctx, report, prosodyPeer, rates));
 */
import type { IdleSpec, PairSpec, XmppAccount } from '../load/messages.ts';
import { durabilityOf } from '../peers/durability.ts';
import { startXmppPeer, type StartedXmppPeer, type XmppPeerDefinition } from '../peers/xmppPeer.ts';
import type { BenchReport, PeerRun } from '../results.ts';
import { closeIdle, memoryRamp } from './connections.ts';
import type { BenchContext } from './context.ts';
import { measureThroughput } from './throughput.ts';

/** In-band registrations in flight while seeding. */
const REGISTER_CONCURRENCY = 32;
const WARMUP_USERS = 20;
/** A step may wait this long for its backlog (the drain ends as soon as every message arrived). */
const PEER_DRAIN_MS = 30_000;
/** Open-loop rates above twice the server's own saturation only grow a queue: not run. */
const MAX_RATE_OVER_SATURATION = 2;
/** The open-loop step every peer runs at a fraction of its own saturation. */
const OWN_FRACTION = 0.5;

interface Seeded {
  started: StartedXmppPeer;
  startMs: number;
  account(name: string): XmppAccount;
  registered: number;
  registerSeconds: number;
}

/** Starts a fresh server of this peer and registers `names` on it. */
async function startSeeded(ctx: BenchContext, peer: XmppPeerDefinition, names: string[]): Promise<Seeded> {
  ctx.log(`starting ${peer.kind} on CPU ${ctx.serverCpus}`);
  const startedAt = performance.now();
  const started = await startXmppPeer(peer, { cpus: ctx.serverCpus });
  const startMs = performance.now() - startedAt;
  try {
    const registerStart = performance.now();
    const accounts = await started.register(names, REGISTER_CONCURRENCY);
    const registerSeconds = (performance.now() - registerStart) / 1000;
    ctx.log(`${started.server.label} ${started.version}: up in ${(startMs / 1000).toFixed(1)} s, ${accounts.length} accounts registered in ${registerSeconds.toFixed(1)} s`);
    const byName = new Map(accounts.map((a) => [a.username, a]));
    return { started, startMs, account: (name) => byName.get(name)!, registered: accounts.length, registerSeconds };
  } catch (err) {
    await started.server.stop();
    throw err;
  }
}

/**
 * Idle users (memory), then chat pairs (throughput): on two fresh servers when the mode asks for it (as for Knock,
 * so the throughput is not measured on a server that just held and dropped thousands of sessions), else on one.
 */
export async function measureXmppPeer(ctx: BenchContext, report: BenchReport, peer: XmppPeerDefinition, rates: (saturationPerSec: number) => number[]): Promise<PeerRun> {
  const { throughput, connections } = ctx.mode;
  const idleCount = Math.max(...connections.visitorCounts);
  const idleNames = [...Array.from({ length: idleCount }, (_, i) => `u${i}`), ...Array.from({ length: WARMUP_USERS }, (_, i) => `w${i}`)];
  const pairNames = Array.from({ length: throughput.pairs }, (_, i) => [`p${i}a`, `p${i}b`]).flat();
  const memory = async (seeded: Seeded) => {
    const { server } = seeded.started;
    const endpoint = server.endpoints[0]!;
    const idle = (prefix: string, n: number): IdleSpec[] => Array.from({ length: n }, (_, i) => ({ endpoint, xmpp: seeded.account(`${prefix}${i}`) }));
    report.memory.push(await memoryRamp(ctx, server, { shape: 'user', specs: idle('u', idleCount), counts: connections.visitorCounts, warmup: idle('w', WARMUP_USERS) }));
    await closeIdle(ctx, server);
  };
  const relay = async (seeded: Seeded) => {
    const { server } = seeded.started;
    const endpoint = server.endpoints[0]!;
    const pairs: PairSpec[] = Array.from({ length: throughput.pairs }, (_, i) => ({ id: `${peer.kind}${i}`, endpoint, xmpp: [seeded.account(`p${i}a`), seeded.account(`p${i}b`)] }));
    // Always a point of its own curve (half its saturation), even where Knock's rates are all far above it.
    const withOwn = (saturationPerSec: number) => [...rates(saturationPerSec), OWN_FRACTION * saturationPerSec];
    report.throughput.push(await measureThroughput(ctx, server, { pairs, rates: withOwn, drainMs: PEER_DRAIN_MS, maxRateOverSaturation: MAX_RATE_OVER_SATURATION }));
  };
  const runs: Seeded[] = [];
  const on = async (names: string[], body: (seeded: Seeded) => Promise<void>) => {
    const seeded = await startSeeded(ctx, peer, names);
    runs.push(seeded);
    try {
      await body(seeded);
    } finally {
      await seeded.started.server.stop();
    }
  };
  if (ctx.mode.freshServers) {
    await on(idleNames, memory);
    await on(pairNames, relay);
  } else {
    await on([...pairNames, ...idleNames], async (seeded) => {
      await memory(seeded);
      await relay(seeded);
    });
  }
  const first = runs[0]!;
  const registered = runs.reduce((n, r) => n + r.registered, 0);
  return {
    server: peer.kind,
    label: peer.label,
    version: first.started.version,
    storageLines: peer.storageLines,
    durability: durabilityOf(peer.kind)!,
    startMs: first.startMs,
    registered,
    registeredPerSec: registered / runs.reduce((n, r) => n + r.registerSeconds, 0),
  };
}
