/**
 * The self-contained HTML report: the targets, then one section per measurement with its charts (inline SVG from
 * svg.ts) and the numbers behind them. No script, no external resource.
 */
import type { BenchReport, GamesPoint, LoadStep, MemorySeries } from '../results.ts';
import { comparisonRows, durabilityCell, latencyCell } from './peers.ts';
import { barChart, escapeXml, lineChart, palette, type LineSeries } from './svg.ts';

const serverColor: Record<string, string> = {
  ws: palette[0]!,
  colyseus: palette[1]!,
  colyseusIndexed: palette[5]!,
  knock: palette[2]!,
  cluster: palette[4]!,
  ejabberd: palette[3]!,
  prosody: palette[6]!,
  ejabberdMnesia: palette[5]!,
};
const color = (server: string) => serverColor[server] ?? palette[7]!;

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const int = (v: number) => Math.round(v).toLocaleString('en-US');
const kib = (b: number) => (b / 1024).toFixed(1);

/** A table; numbers right-aligned, except in a `text` table (every cell reads as prose). */
function table(headers: string[], rows: Array<Array<string | number>>, kind: 'numbers' | 'text' = 'numbers'): string {
  const head = headers.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(String(c))}</td>`).join('')}</tr>`).join('');
  return `<table class="${kind}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Percentile p maps to -log10(1 - p/100): 90 -> 1, 99 -> 2, 99.9 -> 3 (the tail gets the room it deserves). */
const nines = (p: number) => (p >= 100 ? 4.3 : -Math.log10(1 - p / 100));
const percentileTicks: Array<[number, string]> = [[0, '0%'], [nines(50), '50%'], [nines(90), '90%'], [nines(99), '99%'], [nines(99.9), '99.9%'], [nines(99.99), '99.99%'], [4.3, 'max']];

const STEP_HEADERS = ['server', 'offered/s', 'sent/s', 'delivered/s', 'per server CPU-s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'ack p99 ms', 'server CPU', 'load CPU', 'other CPU', 'iowait', 'lost', 'load-bound'];

function stepRow(label: string, s: LoadStep): Array<string | number> {
  return [
    label,
    s.offeredPerSec === null ? `closed, ${s.window}/pair` : int(s.offeredPerSec),
    int(s.sentPerSec),
    int(s.deliveredPerSec),
    int(s.perServerCpuSecond),
    ms(s.latency.p50Ms),
    ms(s.latency.p95Ms),
    ms(s.latency.p99Ms),
    ms(s.latency.maxMs),
    s.ackLatency ? ms(s.ackLatency.p99Ms) : '-',
    s.cpu.server.toFixed(2),
    s.cpu.load.toFixed(2),
    s.cpu.other.toFixed(2),
    s.cpu.iowait.toFixed(2),
    s.undelivered + s.errors,
    s.loadBound ? 'yes' : '',
  ];
}

function throughputSection(r: BenchReport): string {
  if (r.throughput.length === 0) return '';
  const knock = r.throughput.find((t) => t.server === 'knock');
  const half = knock ? knock.saturation.deliveredPerSec / 2 : Infinity;
  // The latency distributions compared at the highest rate every server ran at or below half Knock's saturation.
  const rates = r.throughput.map((t) => new Set(t.steps.map((s) => s.offeredPerSec)));
  const common = [...(rates[0] ?? [])].filter((rate): rate is number => rate !== null && rate <= half * 1.001 && rates.every((set) => set.has(rate)));
  const rate = common.length > 0 ? Math.max(...common) : null;
  const spectra: LineSeries[] = rate === null ? [] : r.throughput.map((t) => ({
    name: t.label,
    color: color(t.server),
    points: (t.steps.find((s) => s.offeredPerSec === rate)?.spectrum ?? []).map(([p, v]) => [nines(p), v] as [number, number]),
  }));
  const delivered: LineSeries[] = r.throughput.map((t) => ({
    name: t.label,
    color: color(t.server),
    points: t.steps.map((s) => [s.offeredPerSec!, s.deliveredPerSec] as [number, number]),
  }));
  const saturations: LineSeries[] = r.throughput.map((t) => ({
    name: `${t.label} saturation`,
    color: color(t.server),
    dashed: true,
    points: [[Math.min(...r.throughput.flatMap((x) => x.steps.map((s) => s.offeredPerSec!))), t.saturation.deliveredPerSec], [Math.max(...r.throughput.flatMap((x) => x.steps.map((s) => s.offeredPerSec!))), t.saturation.deliveredPerSec]],
  }));
  const p99: LineSeries[] = r.throughput.map((t) => ({
    name: t.label,
    color: color(t.server),
    points: t.steps.map((s) => [s.offeredPerSec!, s.latency.p99Ms] as [number, number]),
  }));
  const knockSpectra: LineSeries[] = (knock?.steps ?? []).map((s, i) => ({
    name: `Knock at ${int(s.offeredPerSec!)}/s`,
    color: palette[i % palette.length]!,
    points: s.spectrum.map(([p, v]) => [nines(p), v] as [number, number]),
  }));
  const rows = r.throughput.flatMap((t) => [stepRow(`${t.label} (saturation)`, t.saturation), ...t.steps.map((s) => stepRow(t.label, s))]);
  return `<section><h2>1:1 relay: throughput and latency</h2>
<p>Chat pairs (${r.throughput.map((t) => `${t.label}: ${t.pairsOpened}`).join(', ')}), both ends in the same load process so send and receipt share a clock.
Latency: from handing the message to the sender's socket to the other party's receipt. Saturation: closed loop, a fixed number of messages in flight per pair.
Knock stores every message durably before it acks and relays it (SQLite: the messages of one event-loop turn in one transaction, then an fdatasync of the WAL in the thread pool); plain ws forwards the frame untouched and acks nothing; bare Colyseus acks and relays from memory.
CPU columns: average cores busy (server, load processes, everything else) and cores idle waiting for the disk (iowait). "per server CPU-s": delivered messages per second of server CPU.
${r.storageProbe ? `Storage on this machine (${escapeXml(r.storageProbe.path)}): a 4 KiB write + fdatasync takes p50 ${ms(r.storageProbe.latency.p50Ms)} ms, p99 ${ms(r.storageProbe.latency.p99Ms)} ms, max ${ms(r.storageProbe.latency.maxMs)} ms; Knock acknowledges a message once such a sync of the WAL covers its commit (one sync covers every commit since the one before, off the event loop).` : ''}</p>
${rate === null ? '' : lineChart({ title: `Latency distribution at ${int(rate)} msg/s offered (at most half of Knock\u2019s saturation)`, xLabel: 'percentile', yLabel: 'latency (ms)', yLog: true, xTicks: percentileTicks, series: spectra })}
${lineChart({ title: 'Delivered against offered load (open loop); dashed: closed-loop saturation', xLabel: 'offered (messages/s)', yLabel: 'delivered (messages/s)', xLog: true, yLog: true, series: [...delivered, ...saturations] })}
${lineChart({ title: 'p99 latency against offered load', xLabel: 'offered (messages/s)', yLabel: 'p99 latency (ms)', xLog: true, yLog: true, series: p99 })}
${knockSpectra.length ? lineChart({ title: 'Knock: latency distribution at each offered rate', xLabel: 'percentile', yLabel: 'latency (ms)', yLog: true, xTicks: percentileTicks, series: knockSpectra }) : ''}
${table(STEP_HEADERS, rows)}
</section>`;
}

function peersSection(r: BenchReport): string {
  if (r.peers.length === 0) return '';
  const rows = comparisonRows(r);
  const rates = rows[0]?.atKnockRates.map((x) => x.rate) ?? [];
  const chart = barChart({
    title: 'Saturation (closed loop): delivered messages per second',
    yLabel: 'messages/s',
    categories: ['saturation'],
    groups: rows.map((row) => ({ name: row.label, color: color(row.server), values: [row.saturationPerSec] })),
  });
  const summary = table(
    ['server', 'fsync before ack/delivery', 'saturation msg/s', 'server CPU \u00b5s/msg', 'sustained open loop', ...rates.map((x) => `p50 / p99 ms at ${int(x)}/s`), 'KiB per idle connection'],
    rows.map((row) => [
      row.label,
      durabilityCell(row.durability),
      int(row.saturationPerSec) + (row.loadBound ? ' (load-bound)' : ''),
      row.cpuMicrosPerMessage === null ? '-' : int(row.cpuMicrosPerMessage),
      row.sustainedPerSec === null ? '-' : `>= ${int(row.sustainedPerSec)}`,
      ...row.atKnockRates.map((x) => latencyCell(x.step, ms)),
      row.idle ? `${kib(row.idle.kibPerConnection * 1024)} (${int(row.idle.connections)} ${row.idle.shape}s${row.idle.gc ? '' : ', no GC'})` : '-',
    ]),
    'text',
  );
  const peers = r.peers
    .map(
      (p) => `<h3>${escapeXml(p.label)} ${escapeXml(p.version)}</h3>
<p>Storage: <code>${p.storageLines.map(escapeXml).join('</code>; <code>')}</code>. Up in ${(p.startMs / 1000).toFixed(1)} s; ${int(p.registered)} accounts registered in-band (XEP-0077) before the load at ${int(p.registeredPerSec)}/s.</p>
<p>Durability: ${escapeXml(p.durability.detail)}</p>
<p class="meta">Sources: ${p.durability.sources.map(escapeXml).join('; ')}</p>`,
    )
    .join('\n');
  return `<section><h2>Knock and the XMPP servers a self-hoster would run instead</h2>
<p>The same workload in the same run: chat pairs of logged-in users relaying 1:1 messages (closed loop for saturation, then open loop at the rates Knock was offered), and idle logged-in users for memory. The XMPP servers are Debian's packages started from a configuration written for the run, pinned to the server CPU like the others, with message archiving (MAM) on so that every message is stored, as Knock stores it. The load speaks XMPP with the bench's own lean client (raw stanzas over TCP, SASL PLAIN, no TLS on 127.0.0.1); XMPP has no per-message acknowledgement, so latency is send to the other user's receipt, as for every server. "above saturation": the rate is over twice what that server delivered in closed loop, not run. Memory of the XMPP servers is RSS as the process holds it (no GC can be forced in Erlang or Lua from outside).</p>
${chart}
${summary}
${peers}
</section>`;
}

function memorySection(r: BenchReport): string {
  if (r.memory.length === 0) return '';
  const name = (m: MemorySeries) => `${m.label}, ${m.shape}s`;
  const series: LineSeries[] = r.memory.map((m, i) => ({
    name: name(m),
    color: palette[i % palette.length]!,
    points: [[m.baseline.connections, m.baseline.rssBytes / 1048576] as [number, number], ...m.points.map((p) => [p.connections, p.rssBytes / 1048576] as [number, number])],
  }));
  const rows = r.memory.flatMap((m) =>
    m.points.map((p) => [name(m), int(p.connections), (p.rssBytes / 1048576).toFixed(1), kib(p.bytesPerConnection), p.heapUsedBytes === null ? '-' : (p.heapUsedBytes / 1048576).toFixed(1), p.idleCpuCores.toFixed(2), p.idleLoadCpuCores.toFixed(2), int(p.openedPerSec), p.failed, p.dropped]),
  );
  return `<section><h2>Memory against connections</h2>
<p>Server RSS after a full GC (the server runs with --expose-gc and a probe preloaded: bench/servers/memoryProbe.ts). Per connection: (RSS - RSS at the baseline) / connections added.
A visitor has a URL open (joined its UserRoom; ${r.memory.find((m) => m.shape === 'visitor')?.baseline.connections ?? 0} URLs opened before the baseline); an owner is online at their URL (one room each); plain: a bare ws socket; user: an XMPP user logged in to ejabberd or Prosody (SASL PLAIN, resource bound, available presence), their RSS read without a forced GC.
Idle CPU: the server's CPU while the connections sat idle (bare Colyseus pings every socket every 800 ms; Knock pings owners\u2019 devices every 800 ms and visitors every 10 s).</p>
${lineChart({ title: 'Server memory (RSS) against idle connections', xLabel: 'connections', yLabel: 'RSS (MiB)', series })}
${table(['series', 'connections', 'RSS MiB', 'KiB per connection', 'V8 heap MiB', 'idle server CPU', 'idle load CPU', 'opened/s', 'failed to open', 'dropped by server'], rows)}
</section>`;
}

function activationSection(r: BenchReport): string {
  if (r.activation.length === 0) return '';
  const servers = [...new Set(r.activation.map((a) => a.label))];
  // Bars per server: no room open, the owner ramp's rooms open (owners online), as many held by idle visitors.
  const runsOf = (label: string) => r.activation.filter((a) => a.label === label);
  const chart = barChart({
    title: 'Room activations per second (a URL opened whose room is not open)',
    yLabel: 'activations/s',
    categories: ['no room open', 'rooms open, owners online', 'rooms open, one idle visitor each'],
    groups: servers.map((label) => {
      const runs = runsOf(label);
      const held = (h: string) => runs.find((a) => a.roomsOpen > 0 && a.heldBy === h);
      const many = held('owners') ?? held('visitors');
      return {
        name: `${label}${many ? ` (${int(many.roomsOpen)} open)` : ''}`,
        color: color(runs[0]!.server),
        values: [runs.find((a) => a.roomsOpen === 0)?.perSec ?? null, held('owners')?.perSec ?? null, held('visitors')?.perSec ?? null],
      };
    }),
    line: { value: 500, label: 'target 500/s' },
  });
  const drivers = r.driverMicro.length === 0 ? '' : lineChart({
    title: 'The driver alone: operations per second against rooms open',
    xLabel: 'rooms open',
    yLabel: 'operations/s',
    yLog: true,
    series: (['LocalDriver', 'IndexedDriver'] as const).flatMap((d, i) => [
      { name: `${d}: find open room`, color: palette[i * 2]!, points: r.driverMicro.filter((p) => p.driver === d).map((p) => [p.rooms, p.findPerSec] as [number, number]) },
      { name: `${d}: create + remove`, color: palette[i * 2 + 1]!, dashed: true, points: r.driverMicro.filter((p) => p.driver === d).map((p) => [p.rooms, p.createPerSec] as [number, number]) },
    ]),
  });
  return `<section><h2>Room activation</h2>
<p>Visitors open URLs whose rooms are not open, ${r.activation[0]?.handles ?? 0} distinct handles per measurement, several joins in flight: each joinOrCreate creates the room.
Measured with the owners of the memory ramp still online (one room each); for Knock, then with as many rooms held open by one idle visitor each (owners offline, so no presence pings:
what the number of rooms itself costs); then with no rooms open. With many connections open the server's CPU is partly taken by their idle work
(a ping every 800 ms per owner\u2019s socket, a presence renewal every 2 s per online owner, a ping every 10 s per visitor): "CPU-ms per activation" subtracts that idle load, to show what one activation itself costs.</p>
${chart}
${table(['server', 'rooms open', 'held by', 'activated', 'per second', 'p50 ms', 'p99 ms', 'server CPU', 'load CPU', 'idle CPU before', 'CPU-ms per activation', 'failed'], r.activation.map((a) => [a.label, int(a.roomsOpen), a.heldBy, a.activated, int(a.perSec), ms(a.latency.p50Ms), ms(a.latency.p99Ms), a.cpu.server.toFixed(2), a.cpu.load.toFixed(2) + (a.loadBound ? '*' : ''), a.idleCpuCores.toFixed(2), a.cpuMsPerActivation.toFixed(2), a.failed]))}
${drivers}
${r.driverMicro.length ? table(['driver', 'rooms', 'find/s', 'create+remove/s'], r.driverMicro.map((p) => [p.driver, int(p.rooms), int(p.findPerSec), int(p.createPerSec)])) : ''}
</section>`;
}

function openUrlSection(r: BenchReport): string {
  if (r.openUrl.length === 0) return '';
  return `<section><h2>Opening a URL</h2>
<p>Open to ready: GET the page, GET the profile, join the owner's UserRoom, welcome received (the JavaScript bundle is cached by browsers and not fetched).
First message: knock, join the conversation, catch-up received, first message acknowledged. A few visitors at a time, owners online.</p>
${table(['server', 'visitors', 'ready p50 ms', 'ready p95 ms', 'ready p99 ms', 'first ack p50 ms', 'first ack p99 ms', 'failed'], r.openUrl.map((o) => [o.label, o.visitors, ms(o.openToReady.p50Ms), ms(o.openToReady.p95Ms), ms(o.openToReady.p99Ms), ms(o.knockToFirstAck.p50Ms), ms(o.knockToFirstAck.p99Ms), o.failed]))}
</section>`;
}

function clusterSection(r: BenchReport): string {
  const c = r.cluster;
  if (c.skipped) return `<section><h2>Two processes on PostgreSQL + Redis</h2><p>Skipped: ${escapeXml(c.skipped)}</p></section>`;
  if (!c.single || !c.double) return '';
  return `<section><h2>Two processes on PostgreSQL + Redis</h2>
<p>${escapeXml(c.note)}</p>
${barChart({ title: 'Saturation throughput', yLabel: 'delivered messages/s', categories: ['1 process', '2 processes'], groups: [{ name: 'Knock on PostgreSQL + Redis', color: color('cluster'), values: [c.single.deliveredPerSec, c.double.deliveredPerSec] }] })}
${table(STEP_HEADERS, [
    stepRow('1 process (saturation)', c.single),
    stepRow('2 processes (saturation)', c.double),
    ...(c.singleAtHalf ? [stepRow('1 process', c.singleAtHalf)] : []),
    ...(c.doubleAtHalf ? [stepRow('2 processes', c.doubleAtHalf)] : []),
  ])}
</section>`;
}

function docSyncSection(r: BenchReport): string {
  const d = r.docSync;
  if (!d) return '';
  const steps = [d.saturation, ...d.steps];
  const name = (s: LoadStep) => (s.offeredPerSec === null ? `saturation (${s.window} in flight per document)` : `${int(s.offeredPerSec)} updates/s offered`);
  const spectra: LineSeries[] = steps.map((s, i) => ({ name: name(s), color: palette[i % palette.length]!, points: s.spectrum.map(([p, v]) => [nines(p), v] as [number, number]) }));
  return `<section><h2>Document sync: Yjs updates through the DocRoom</h2>
<p>${d.docsOpened} documents, ${d.editorsPerDoc} editors each (the SDK's DocProvider over colyseus.js: the visitor who made the document, and the owner), both editors of a document in the same load process.
One update is one keystroke: a one-character insert at the end of the editor's own text, sent at once; it counts as delivered when the other editor's Y.Doc has applied it (its state vector holds it), and latency runs from the insert to then.
The server applies and stores each update (compacting every few hundred) and relays it. Saturation: closed loop; then open loop at a fraction of it. "lost": updates never applied by the other editor, or refused.</p>
${lineChart({ title: 'Keystroke delivery latency distribution', xLabel: 'percentile', yLabel: 'latency (ms)', yLog: true, xTicks: percentileTicks, series: spectra })}
${table(['load', ...STEP_HEADERS.slice(1)], steps.map((s) => stepRow(name(s), s)))}
</section>`;
}

function gamesSection(r: BenchReport): string {
  const g = r.games;
  if (!g) return '';
  const points = (value: (p: GamesPoint) => number) => g.points.map((p) => [p.running, value(p)] as [number, number]);
  return `<section><h2>Games: ticks served and server CPU per running game</h2>
<p>Games of ${escapeXml(g.game)} at once, each with two players (colyseus.js) whose paddles follow the ball. The GameRoom sends every player one state per tick (${g.tickHz} Hz): ticks/s counts the states one player of each running game received, summed over games.
CPU per game: (server CPU with the games \u2212 server CPU once every game was left, the conversation sockets still open: ${(100 * g.idleCpuCores).toFixed(1)} % of a core) / games running. Games that ended by score during a window are not counted.${g.failed ? ` ${g.failed} games failed to start: ${escapeXml(g.firstErrors[0] ?? '')}` : ''}</p>
${g.points.length > 1 ? lineChart({ title: 'Ticks received per second against games running', xLabel: 'games running', yLabel: 'ticks/s', series: [{ name: 'received', color: color('knock'), points: points((p) => p.ticksPerSec) }, { name: `${g.tickHz} Hz per game`, color: palette[7]!, dashed: true, points: points((p) => p.expectedTicksPerSec) }] }) : ''}
${table(['games running', 'ticks/s', `expected at ${g.tickHz} Hz`, 'states/s (both players)', 'inputs/s', 'server CPU', 'CPU per game (% of a core)', 'load CPU', 'other CPU'], g.points.map((p) => [int(p.running), int(p.ticksPerSec), int(p.expectedTicksPerSec), int(p.statesPerSec), int(p.inputsPerSec), p.cpu.server.toFixed(3), (100 * p.cpuPerGame).toFixed(2), p.cpu.load.toFixed(2) + (p.loadBound ? '*' : ''), p.cpu.other.toFixed(2)]))}
</section>`;
}

export function renderHtml(r: BenchReport): string {
  const targets = table(
    ['', 'target', 'measured', 'required', 'note'],
    r.targets.map((t) => [t.met === null ? '\u2013' : t.met ? '\u2714 met' : '\u2718 missed', t.label, t.measured, t.required, t.note]),
    'text',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Knock bench ${escapeXml(r.startedAt)} (${escapeXml(r.mode)})</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:1em 0;font-size:12px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f4f4f4}td:first-child,td:nth-child(2),table.text td{text-align:left;vertical-align:top}
svg.chart{display:block;margin:1em 0;font:11px system-ui,sans-serif}svg .title{font-weight:600;font-size:13px}
svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#999}svg .small{font-size:10px}
.meta{color:#555}.errors{color:#a00}
</style></head><body>
<h1>Knock bench \u2014 ${escapeXml(r.mode)} mode</h1>
<p class="meta">${escapeXml(r.startedAt)}, ${(r.durationMs / 1000).toFixed(0)} s. <code>${escapeXml(r.command)}</code><br>
${r.machine.cpus} \u00d7 ${escapeXml(r.machine.model)}, ${(r.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${escapeXml(r.machine.node)}, Linux ${escapeXml(r.machine.kernel)}, open files ${escapeXml(r.machine.openFilesLimit)}.
Server on CPU ${escapeXml(r.pinning.serverCpus)}, load on CPU ${escapeXml(r.pinning.loadCpus)} (taskset). Load average ${r.machine.loadAverageStart.map((l) => l.toFixed(2)).join(' ')} at start, ${r.machine.loadAverageEnd.map((l) => l.toFixed(2)).join(' ')} at the end
(the "other CPU" columns show what else ran during each measurement: ${r.contention.meanOtherCores.toFixed(2)} cores on average, up to ${r.contention.maxOtherCores.toFixed(2)}, outside the cluster scenario).${r.git ? ` Commit ${escapeXml(r.git.commit.slice(0, 12))}${r.git.dirty ? ' with uncommitted changes' : ''}.` : ''}</p>
${r.errors.length ? `<div class="errors"><h2>Problems during the run</h2><ul>${r.errors.map((e) => `<li>${escapeXml(e)}</li>`).join('')}</ul></div>` : ''}
<section><h2>Targets (ratios to the baselines and peers measured in this run)</h2>${targets}</section>
${peersSection(r)}
${throughputSection(r)}
${memorySection(r)}
${activationSection(r)}
${openUrlSection(r)}
${clusterSection(r)}
${docSyncSection(r)}
${gamesSection(r)}
</body></html>
`;
}
