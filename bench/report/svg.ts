/**
 * Inline SVG charts for the HTML report, with no library: line charts (linear or log axes) and grouped bar charts.
 * Everything is escaped; the output is a self-contained <svg> element.
 */

export interface LineSeries {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  xLog?: boolean;
  yLog?: boolean;
  /** Tick labels for x instead of numbers (value -> text), e.g. percentiles. */
  xTicks?: Array<[number, string]>;
  width?: number;
  height?: number;
}

export interface BarChart {
  title: string;
  yLabel: string;
  categories: string[];
  groups: Array<{ name: string; color: string; values: Array<number | null> }>;
  /** A horizontal line (e.g. a target), with its label. */
  line?: { value: number; label: string };
  width?: number;
  height?: number;
}

export const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#7f7f7f'];

const MARGIN = { left: 70, right: 290, top: 34, bottom: 48 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 1) return `${+v.toPrecision(3)}`;
  return `${+v.toPrecision(2)}`;
}

/** Round ticks for a linear axis from 0 (or min) to max. */
function linearTicks(min: number, max: number): number[] {
  const span = max - min || 1;
  const raw = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => span / s <= 6) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= min * 0.999 && t <= max * 1.001) ticks.push(t);
    }
  }
  return ticks;
}

function axis(values: number[], log: boolean | undefined, fromZero: boolean): { min: number; max: number; ticks: number[] } {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (finite.length === 0) return { min: log ? 1 : 0, max: log ? 10 : 1, ticks: log ? [1, 10] : [0, 1] };
  let min = Math.min(...finite);
  let max = Math.max(...finite);
  if (log) {
    min = 10 ** Math.floor(Math.log10(min));
    max = 10 ** Math.ceil(Math.log10(max));
    if (min === max) max = min * 10;
    return { min, max, ticks: logTicks(min, max) };
  }
  if (fromZero) min = Math.min(0, min);
  if (min === max) max = min + 1;
  const ticks = linearTicks(min, max * 1.05);
  return { min, max: Math.max(max, ticks.at(-1)!), ticks };
}

export function lineChart(chart: LineChart): string {
  const width = chart.width ?? 980;
  const height = chart.height ?? 380;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const all = chart.series.flatMap((s) => s.points);
  const x = axis(all.map((p) => p[0]), chart.xLog, !chart.xTicks);
  const y = axis(all.map((p) => p[1]), chart.yLog, true);
  if (chart.xTicks) {
    x.min = Math.min(x.min, ...chart.xTicks.map((t) => t[0]));
    x.max = Math.max(x.max, ...chart.xTicks.map((t) => t[0]));
  }
  const sx = (v: number) => MARGIN.left + (chart.xLog ? (Math.log10(v) - Math.log10(x.min)) / (Math.log10(x.max) - Math.log10(x.min)) : (v - x.min) / (x.max - x.min)) * plotW;
  const sy = (v: number) => MARGIN.top + plotH - (chart.yLog ? (Math.log10(v) - Math.log10(y.min)) / (Math.log10(y.max) - Math.log10(y.min)) : (v - y.min) / (y.max - y.min)) * plotH;
  const parts: string[] = [];
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" class="title">${escapeXml(chart.title)}</text>`);
  const xTicks = chart.xTicks ?? x.ticks.map((t) => [t, formatTick(t)] as [number, string]);
  for (const [t, label] of xTicks) {
    const px = sx(t).toFixed(1);
    parts.push(`<line x1="${px}" x2="${px}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" class="grid"/>`);
    parts.push(`<text x="${px}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  for (const t of y.ticks) {
    const py = sy(t).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py}" y2="${py}" class="grid"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  chart.series.forEach((s, i) => {
    const pts = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && (!chart.xLog || a > 0) && (!chart.yLog || b > 0));
    if (pts.length > 0) {
      const d = pts.map(([a, b], j) => `${j === 0 ? 'M' : 'L'}${sx(a).toFixed(1)},${sy(b).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const [a, b] of pts) parts.push(`<circle cx="${sx(a).toFixed(1)}" cy="${sy(b).toFixed(1)}" r="3" fill="${s.color}"><title>${escapeXml(`${s.name}: ${formatTick(a)}, ${formatTick(b)}`)}</title></circle>`);
    }
    const ly = MARGIN.top + 10 + i * 18;
    parts.push(`<line x1="${width - MARGIN.right + 12}" x2="${width - MARGIN.right + 32}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${width - MARGIN.right + 38}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" class="chart">${parts.join('')}</svg>`;
}

export function barChart(chart: BarChart): string {
  const width = chart.width ?? 980;
  const height = chart.height ?? 340;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const values = chart.groups.flatMap((g) => g.values.filter((v): v is number => v !== null));
  const y = axis([...values, chart.line?.value ?? 0], false, true);
  const sy = (v: number) => MARGIN.top + plotH - ((v - y.min) / (y.max - y.min)) * plotH;
  const parts: string[] = [`<text x="${width / 2}" y="18" text-anchor="middle" class="title">${escapeXml(chart.title)}</text>`];
  for (const t of y.ticks) {
    const py = sy(t).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py}" y2="${py}" class="grid"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${formatTick(t)}</text>`);
  }
  const slot = plotW / Math.max(1, chart.categories.length);
  const barW = (slot * 0.8) / Math.max(1, chart.groups.length);
  chart.categories.forEach((category, c) => {
    parts.push(`<text x="${MARGIN.left + slot * (c + 0.5)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${escapeXml(category)}</text>`);
    chart.groups.forEach((g, i) => {
      const v = g.values[c];
      if (v === null || v === undefined) return;
      const x0 = MARGIN.left + slot * c + slot * 0.1 + barW * i;
      parts.push(`<rect x="${x0.toFixed(1)}" y="${sy(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(sy(y.min) - sy(v)).toFixed(1)}" fill="${g.color}"><title>${escapeXml(`${g.name}, ${category}: ${formatTick(v)}`)}</title></rect>`);
      parts.push(`<text x="${(x0 + barW / 2).toFixed(1)}" y="${(sy(v) - 4).toFixed(1)}" text-anchor="middle" class="small">${formatTick(v)}</text>`);
    });
  });
  if (chart.line) {
    const py = sy(chart.line.value).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py}" y2="${py}" stroke="#000" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${MARGIN.left + plotW - 4}" y="${Number(py) - 5}" text-anchor="end" class="small">${escapeXml(chart.line.label)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  chart.groups.forEach((g, i) => {
    const ly = MARGIN.top + 10 + i * 18;
    parts.push(`<rect x="${width - MARGIN.right + 12}" y="${ly - 6}" width="14" height="12" fill="${g.color}"/>`);
    parts.push(`<text x="${width - MARGIN.right + 32}" y="${ly}" dominant-baseline="middle">${escapeXml(g.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" class="chart">${parts.join('')}</svg>`;
}
