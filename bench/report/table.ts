/** The summary printed on the terminal at the end of a run: the key figures and every target. */
import type { BenchReport } from '../results.ts';
import { comparisonRows, durabilityCell, latencyCell } from './peers.ts';

const int = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function grid(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

export function renderTable(r: BenchReport): string {
  const out: string[] = [];
  out.push(`Knock bench, ${r.mode} mode, ${r.startedAt} (${(r.durationMs / 1000).toFixed(0)} s): server on CPU ${r.pinning.serverCpus}, load on CPU ${r.pinning.loadCpus}; load average at start ${r.machine.loadAverageStart.map((l) => l.toFixed(1)).join(' ')}`);

  if (r.contention.meanOtherCores > 0.25) {
    out.push(
      `WARNING: other processes on this machine used ${r.contention.meanOtherCores.toFixed(2)} cores on average (up to ${r.contention.maxOtherCores.toFixed(2)}) while this run measured; ` +
        'figures are lower and noisier than on a quiet machine (see the "other CPU" columns).',
    );
  }
  const ws = r.throughput.find((t) => t.server === 'ws');
  if (r.throughput.length > 0) {
    out.push('\n1:1 relay, saturation (closed loop)');
    out.push(
      grid(
        ['server', 'delivered/s', 'vs ws', 'p50 ms', 'p99 ms', 'sustained open loop', 'per server CPU-s', 'server CPU', 'load CPU', 'other CPU', 'iowait'],
        r.throughput.map((t) => [
          t.label,
          int(t.saturation.deliveredPerSec),
          ws ? `${((100 * t.saturation.deliveredPerSec) / ws.saturation.deliveredPerSec).toFixed(1)}%` : '-',
          ms(t.saturation.latency.p50Ms),
          ms(t.saturation.latency.p99Ms),
          t.sustainedPerSec === null ? '-' : `>= ${int(t.sustainedPerSec)}`,
          int(t.saturation.perServerCpuSecond),
          t.saturation.cpu.server.toFixed(2),
          t.saturation.cpu.load.toFixed(2) + (t.saturation.loadBound ? '*' : ''),
          t.saturation.cpu.other.toFixed(2),
          t.saturation.cpu.iowait.toFixed(2),
        ]),
      ),
    );
    const knock = r.throughput.find((t) => t.server === 'knock');
    if (knock && knock.steps.length > 0) {
      out.push('\nLatency at the rates Knock was offered (open loop): p50 / p99 ms');
      out.push(
        grid(
          ['offered/s', ...r.throughput.map((t) => t.label), ...(ws ? ['Knock p99 / ws p99'] : [])],
          knock.steps.map((k) => {
            const cells = r.throughput.map((t) => {
              const s = t.steps.find((x) => x.offeredPerSec === k.offeredPerSec);
              return s ? `${ms(s.latency.p50Ms)} / ${ms(s.latency.p99Ms)}` : t.skippedRates?.includes(k.offeredPerSec!) ? 'above sat.' : '-';
            });
            const w = ws?.steps.find((x) => x.offeredPerSec === k.offeredPerSec);
            return [int(k.offeredPerSec!), ...cells, ...(ws ? [w ? `${(k.latency.p99Ms / w.latency.p99Ms).toFixed(1)}x` : '-'] : [])];
          }),
        ),
      );
    }
    if (r.throughput.some((t) => t.saturation.loadBound)) out.push('  * the load processes\u2019 CPU was full: the server may have more to give');
    if (r.storageProbe) out.push(`  storage: fdatasync of 4 KiB p50 ${ms(r.storageProbe.latency.p50Ms)} ms, p99 ${ms(r.storageProbe.latency.p99Ms)} ms, max ${ms(r.storageProbe.latency.maxMs)} ms (Knock\u2019s acks wait for one, which covers every SQLite commit since the one before: ${int(1000 / r.storageProbe.latency.p50Ms)} syncs/s at p50)`);
  }

  if (r.peers.length > 0) out.push(peersTable(r));

  if (r.memory.length > 0) {
    const counts = [...new Set(r.memory.flatMap((m) => m.points.map((p) => p.planned)))].sort((a, b) => a - b);
    out.push('\nMemory per idle connection (RSS after GC), KiB; [idle server CPU]');
    out.push(
      grid(
        ['series', ...counts.map((c) => int(c))],
        r.memory.map((m) => [
          `${m.label}, ${m.shape}s`,
          ...counts.map((c) => {
            const p = m.points.find((x) => x.planned === c);
            const lost = p ? p.failed + p.dropped : 0;
            return p ? `${(p.bytesPerConnection / 1024).toFixed(1)} [${p.idleCpuCores.toFixed(2)}]${lost ? ` (${int(p.connections)} held)` : ''}` : '-';
          }),
        ]),
      ),
    );
  }

  if (r.activation.length > 0) {
    const servers = [...new Set(r.activation.map((a) => a.label))];
    out.push('\nRoom activations per second (URL opened, room created); [server CPU-ms per activation beyond the idle load]');
    out.push(
      grid(
        ['server', 'no room open', 'rooms open', 'held by', 'with them open', 'ratio', 'idle CPU of the open rooms'],
        servers.flatMap((label) => {
          const runs = r.activation.filter((a) => a.label === label);
          const none = runs.find((a) => a.roomsOpen === 0);
          const many = runs.filter((a) => a.roomsOpen > 0);
          const cell = (a: (typeof runs)[number] | undefined) => (a ? `${int(a.perSec)} [${a.cpuMsPerActivation.toFixed(2)}]${a.loadBound ? '*' : ''}` : '-');
          return (many.length > 0 ? many : [undefined]).map((m) => [
            label,
            cell(none),
            m ? int(m.roomsOpen) : '-',
            m ? m.heldBy : '-',
            cell(m),
            none && m ? `${((100 * m.perSec) / none.perSec).toFixed(0)}%` : '-',
            m ? m.idleCpuCores.toFixed(2) : '-',
          ]);
        }),
      ),
    );
    if (r.activation.some((a) => a.loadBound)) out.push('  * the load processes\u2019 CPU was full: the rate is what they could drive');
  }

  if (r.driverMicro.length > 0) {
    const sizes = [...new Set(r.driverMicro.map((p) => p.rooms))];
    out.push('\nThe driver alone: find / create+remove per second');
    out.push(
      grid(
        ['driver', ...sizes.map((s) => `${int(s)} rooms`)],
        (['LocalDriver', 'IndexedDriver'] as const).map((d) => [d, ...sizes.map((s) => {
          const p = r.driverMicro.find((x) => x.driver === d && x.rooms === s);
          return p ? `${int(p.findPerSec)} / ${int(p.createPerSec)}` : '-';
        })]),
      ),
    );
  }

  for (const o of r.openUrl) {
    out.push(`\nOpen a URL to ready (${o.label}, ${o.visitors} visitors): p50 ${ms(o.openToReady.p50Ms)} ms, p95 ${ms(o.openToReady.p95Ms)} ms, p99 ${ms(o.openToReady.p99Ms)} ms; knock to first ack p50 ${ms(o.knockToFirstAck.p50Ms)} ms, p99 ${ms(o.knockToFirstAck.p99Ms)} ms${o.failed ? ` (${o.failed} failed)` : ''}`);
  }

  const d = r.docSync;
  if (d) {
    out.push(`\nDocument sync: Yjs updates (one keystroke each) through the DocRoom to the other editor (${d.docsOpened} documents x ${d.editorsPerDoc} editors)`);
    out.push(
      grid(
        ['load', 'sent/s', 'delivered/s', 'p50 ms', 'p99 ms', 'server CPU', 'per server CPU-s', 'delivered / sent', 'errors'],
        [d.saturation, ...d.steps].map((s) => [
          s.offeredPerSec === null ? `saturation (${s.window} in flight per document)` : `${int(s.offeredPerSec)}/s offered`,
          int(s.sentPerSec),
          int(s.deliveredPerSec),
          ms(s.latency.p50Ms),
          ms(s.latency.p99Ms),
          s.cpu.server.toFixed(2),
          int(s.perServerCpuSecond),
          `${int(s.delivered)} / ${int(s.sent)}`,
          String(s.errors),
        ]),
      ),
    );
  }

  const g = r.games;
  if (g) {
    out.push(`\nGames (${g.game}, ${g.tickHz} Hz): ticks received by the players, server CPU per running game beyond the idle conversations (${(100 * g.idleCpuCores).toFixed(1)} % of a core)`);
    out.push(
      grid(
        ['games running', 'ticks/s', `expected at ${g.tickHz} Hz`, 'received', 'server CPU', 'CPU per game', 'load CPU'],
        g.points.map((p) => [
          int(p.running),
          int(p.ticksPerSec),
          int(p.expectedTicksPerSec),
          p.expectedTicksPerSec > 0 ? `${((100 * p.ticksPerSec) / p.expectedTicksPerSec).toFixed(0)}%` : '-',
          `${(100 * p.cpu.server).toFixed(1)} %`,
          `${(100 * p.cpuPerGame).toFixed(2)} %`,
          p.cpu.load.toFixed(2) + (p.loadBound ? '*' : ''),
        ]),
      ),
    );
  }

  const c = r.cluster;
  if (c.skipped) out.push(`\nCluster (PostgreSQL + Redis): skipped: ${c.skipped}`);
  else if (c.single && c.double) {
    out.push(`\nCluster (PostgreSQL + Redis), saturation: 1 process ${int(c.single.deliveredPerSec)} msg/s (p99 ${ms(c.single.latency.p99Ms)} ms), 2 processes ${int(c.double.deliveredPerSec)} msg/s (p99 ${ms(c.double.latency.p99Ms)} ms): ${(c.double.deliveredPerSec / c.single.deliveredPerSec).toFixed(2)}x`);
    if (c.singleAtHalf && c.doubleAtHalf) {
      out.push(`  at ${int(c.singleAtHalf.offeredPerSec ?? 0)} msg/s offered: 1 process p50 ${ms(c.singleAtHalf.latency.p50Ms)} / p99 ${ms(c.singleAtHalf.latency.p99Ms)} ms, 2 processes p50 ${ms(c.doubleAtHalf.latency.p50Ms)} / p99 ${ms(c.doubleAtHalf.latency.p99Ms)} ms`);
    }
    out.push(`  ${c.note}`);
  }

  out.push('\nTargets');
  for (const t of r.targets) {
    const mark = t.met === null ? '  -   ' : t.met ? '  MET ' : '  MISS';
    out.push(`${mark} ${t.label}\n         measured ${t.measured}; required ${t.required}${t.note ? `\n         ${t.note}` : ''}`);
  }
  if (r.errors.length > 0) {
    out.push('\nProblems during the run');
    for (const e of r.errors) out.push(`  - ${e.split('\n')[0]}`);
  }
  return out.join('\n');
}

/** Knock beside the XMPP servers a self-hoster would run instead (and the baselines), then how each peer was run. */
function peersTable(r: BenchReport): string {
  const rows = comparisonRows(r);
  const rates = rows[0]?.atKnockRates.map((x) => x.rate) ?? [];
  const out = ['\nKnock and the XMPP servers a self-hoster would run instead (same workload, same run): stored durably before delivery?'];
  out.push(
    grid(
      ['server', 'fsync before ack/delivery', 'saturation msg/s', 'server CPU \u00b5s/msg', ...rates.map((x) => `p50 / p99 ms at ${int(x)}/s`), 'KiB per idle connection'],
      rows.map((row) => [
        row.label,
        durabilityCell(row.durability),
        int(row.saturationPerSec) + (row.loadBound ? '*' : ''),
        row.cpuMicrosPerMessage === null ? '-' : int(row.cpuMicrosPerMessage),
        ...row.atKnockRates.map((x) => latencyCell(x.step, ms)),
        row.idle ? `${row.idle.kibPerConnection.toFixed(1)} (${int(row.idle.connections)} ${row.idle.shape}s${row.idle.gc ? '' : ', no GC'})` : '-',
      ]),
    ),
  );
  for (const p of r.peers) {
    out.push(`  ${p.label} ${p.version}: ${p.storageLines.join('; ')}. Up in ${(p.startMs / 1000).toFixed(1)} s; ${int(p.registered)} accounts registered in-band at ${int(p.registeredPerSec)}/s.`);
    out.push(`    durability: ${p.durability.detail}`);
  }
  out.push('  "above saturation": not run, the rate is over twice what that server delivered in closed loop; "no GC": RSS as the process holds it (Erlang and Lua cannot be made to collect from outside).');
  return out.join('\n');
}
