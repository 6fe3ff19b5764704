/**
 * @module accuracyPlot: an SVG of accuracy on each task over training, one panel per (scenario,
 * method), written by hand (no plotting dependency): axes, a dashed line at each task boundary and
 * one polyline per task.
 */

/** One panel: a title and, per task, its accuracy curve as (step, accuracy) points. */
export interface PlotPanel {
  readonly title: string;
  readonly curves: readonly { readonly label: string; readonly points: readonly (readonly [number, number])[] }[];
  /** Steps at which a task ended. */
  readonly boundaries: readonly number[];
}

/** Colour of task i's line (5 distinguishable colours, then repeating). */
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];
const W = 230;
const H = 150;
const PAD = { left: 34, right: 8, top: 22, bottom: 26 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (x: number): string => (Math.round(x * 10) / 10).toString();

/** The SVG document: `panels` laid out in rows of `columns`, a legend of the curves' labels at the top. */
export function accuracyPlot(panels: readonly PlotPanel[], columns: number, title: string): string {
  const rows = Math.ceil(panels.length / columns);
  const legendH = 40;
  const width = columns * W;
  const height = legendH + rows * H;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="14" text-anchor="middle" font-size="12">${esc(title)}</text>`,
  ];
  (panels[0]?.curves ?? []).forEach((c, i) => {
    const x = 10 + i * 130;
    parts.push(`<line x1="${x}" y1="28" x2="${x + 18}" y2="28" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2"/>`,
      `<text x="${x + 22}" y="31">${esc(c.label)}</text>`);
  });
  panels.forEach((p, k) => {
    const ox = (k % columns) * W;
    const oy = legendH + Math.floor(k / columns) * H;
    const maxStep = Math.max(1, ...p.curves.flatMap((c) => c.points.map(([s]) => s)), ...p.boundaries);
    const pw = W - PAD.left - PAD.right;
    const ph = H - PAD.top - PAD.bottom;
    const sx = (s: number): number => ox + PAD.left + (s / maxStep) * pw;
    const sy = (a: number): number => oy + PAD.top + (1 - a) * ph;
    parts.push(`<text x="${ox + PAD.left + pw / 2}" y="${oy + 14}" text-anchor="middle">${esc(p.title)}</text>`,
      `<rect x="${ox + PAD.left}" y="${oy + PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
    for (const a of [0, 0.5, 1]) {
      parts.push(`<text x="${ox + PAD.left - 4}" y="${num(sy(a) + 3)}" text-anchor="end">${a}</text>`,
        `<line x1="${ox + PAD.left}" y1="${num(sy(a))}" x2="${ox + PAD.left + pw}" y2="${num(sy(a))}" stroke="#eee"/>`);
    }
    for (const b of p.boundaries) parts.push(`<line x1="${num(sx(b))}" y1="${oy + PAD.top}" x2="${num(sx(b))}" y2="${oy + PAD.top + ph}" stroke="#bbb" stroke-dasharray="3,3"/>`);
    parts.push(`<text x="${ox + PAD.left + pw / 2}" y="${oy + H - 8}" text-anchor="middle" fill="#555">step (0–${maxStep})</text>`);
    p.curves.forEach((c, i) => {
      if (c.points.length === 0) return;
      const pts = c.points.map(([s, a]) => `${num(sx(s))},${num(sy(a))}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5"/>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
