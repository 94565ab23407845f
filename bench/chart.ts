/** One step of the load ramp, as the chart shows it. */
export interface ChartPoint { offered: number; achieved: number; p99Ms: number }

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].map((m) => m * power).find((m) => m >= value)) ?? 10 * power;
}

/**
 * A hand-written SVG: achieved throughput (left axis, orders/s) and p99 latency (right
 * axis, ms) against offered load (orders/s), with the broker limit as a dashed line.
 */
export function throughputChart(points: readonly ChartPoint[], options: { title: string; limitPerS?: number }): string {
  const w = 720, h = 420, left = 70, right = 70, top = 50, bottom = 60;
  const plotW = w - left - right, plotH = h - top - bottom;
  const xMax = niceMax(Math.max(...points.map((p) => p.offered), 1));
  const dataMax = Math.max(...points.map((p) => Math.max(p.achieved, p.offered)), 1);
  // the broker's limit may dwarf the hub's figures: drawn only when it fits a readable scale
  const limitOnScale = options.limitPerS !== undefined && options.limitPerS <= dataMax * 2;
  const yMax = niceMax(limitOnScale ? Math.max(dataMax, options.limitPerS ?? 0) : dataMax);
  const lMax = niceMax(Math.max(...points.map((p) => (Number.isFinite(p.p99Ms) ? p.p99Ms : 0)), 1));
  const x = (v: number) => left + (v / xMax) * plotW;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const yl = (v: number) => top + plotH - (v / lMax) * plotH;
  const path = (pts: [number, number][]) => pts.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
  const sorted = [...points].sort((a, b) => a.offered - b.offered);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="24" text-anchor="middle" font-size="15">${escape(options.title)}</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left + plotW}" y1="${top}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`,
  ];
  for (const t of ticks) {
    parts.push(`<text x="${x(t * xMax).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${round(t * xMax)}</text>`);
    parts.push(`<line x1="${left}" y1="${y(t * yMax).toFixed(1)}" x2="${left + plotW}" y2="${y(t * yMax).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 8}" y="${(y(t * yMax) + 4).toFixed(1)}" text-anchor="end" fill="#1f5fbf">${round(t * yMax)}</text>`);
    parts.push(`<text x="${left + plotW + 8}" y="${(yl(t * lMax) + 4).toFixed(1)}" fill="#c0392b">${round(t * lMax)}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${h - 18}" text-anchor="middle">offered load (orders/s)</text>`);
  parts.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#1f5fbf">achieved (orders/s)</text>`);
  parts.push(`<text transform="translate(${w - 14} ${top + plotH / 2}) rotate(90)" text-anchor="middle" fill="#c0392b">p99 latency (ms)</text>`);
  // y = x: what the hub would do if it kept up with every offered order
  parts.push(`<path d="${path([[x(0), y(0)], [x(Math.min(xMax, yMax)), y(Math.min(xMax, yMax))]])}" stroke="#bbb" stroke-dasharray="3 3" fill="none"/>`);
  if (options.limitPerS && !limitOnScale) {
    parts.push(`<text x="${left + 6}" y="${top - 8}" fill="#666">broker limit ${round(options.limitPerS)}/s (off this scale)</text>`);
  }
  if (options.limitPerS && limitOnScale) {
    parts.push(`<line x1="${left}" y1="${y(options.limitPerS).toFixed(1)}" x2="${left + plotW}" y2="${y(options.limitPerS).toFixed(1)}" stroke="#888" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${left + 6}" y="${(y(options.limitPerS) - 6).toFixed(1)}" fill="#666">broker limit ${round(options.limitPerS)}/s</text>`);
  }
  parts.push(`<path d="${path(sorted.map((p) => [x(p.offered), y(p.achieved)]))}" stroke="#1f5fbf" stroke-width="2" fill="none"/>`);
  const withLatency = sorted.filter((p) => Number.isFinite(p.p99Ms));
  parts.push(`<path d="${path(withLatency.map((p) => [x(p.offered), yl(p.p99Ms)]))}" stroke="#c0392b" stroke-width="2" fill="none"/>`);
  for (const p of sorted) parts.push(`<circle cx="${x(p.offered).toFixed(1)}" cy="${y(p.achieved).toFixed(1)}" r="3.5" fill="#1f5fbf"/>`);
  for (const p of withLatency) parts.push(`<circle cx="${x(p.offered).toFixed(1)}" cy="${yl(p.p99Ms).toFixed(1)}" r="3.5" fill="#c0392b"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function round(v: number): string {
  return v >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}
