/**
 * `npm run bench:continual`: Split-Digits (demo/continual/) — 4 methods × 2 scenarios × 5 seeds of
 * the TF.js MLP on the wasm backend — and docs/CONTINUAL.md with the mean ± std over seeds of ACC,
 * BWT and F per method and scenario, the targets against them, and
 * docs/continual-split-digits.svg (accuracy on each task over training, per method, first seed).
 *
 *   npm run bench:continual                 # the full run, writes the doc and the plot
 *   ENGRAM_CL_SEEDS=1 npm run bench:continual -- --no-write   # a quick look, prints only
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { useWasmBackend } from '../src/integrations/tfjs/index.ts';
import { SPLIT_DIGITS_CONFIG, type Method, type Scenario, type SplitDigitsConfig } from '../demo/continual/split-digits-run.ts';
import { trainSplitDigits } from '../demo/continual/train-split-digits.ts';
import { accuracyPlot, type PlotPanel } from './continual/accuracy-plot.ts';
import { continualReport, type RunResult } from './continual/continual-report.ts';

const METHODS: readonly Method[] = ['naive', 'ewc', 'replay', 'replay-ewc'];
const SCENARIOS: readonly Scenario[] = ['class', 'task'];
const SEEDS = Array.from({ length: Number(process.env['ENGRAM_CL_SEEDS'] ?? 5) }, (_, i) => i + 1);
/**
 * The demo's settings with the Fisher from batches of 8 (36 backward passes per task rather than
 * ~290: a per-example Fisher made EWC runs ~3x as long as naive ones on this machine) and every
 * task evaluated every 8 steps for the plot.
 */
const CONFIG = { ...SPLIT_DIGITS_CONFIG, fisherBatch: 8, evalEvery: 8 };
const write = !process.argv.includes('--no-write');

await useWasmBackend();
const started = performance.now();
const results: RunResult[] = [];
const panels: PlotPanel[] = [];
for (const scenario of SCENARIOS) {
  for (const method of METHODS) {
    for (const seed of SEEDS) {
      const config: SplitDigitsConfig = { ...CONFIG, seed, method, scenario };
      const t = performance.now();
      const run = await trainSplitDigits(config);
      const m = run.registry.measures();
      const result: RunResult = { scenario, method, seed, matrix: run.registry.matrix(), acc: m.acc, bwt: m.bwt, forgetting: m.forgetting, steps: run.step, seconds: (performance.now() - t) / 1000 };
      results.push(result);
      process.stdout.write(`${scenario.padEnd(5)} ${method.padEnd(10)} seed ${seed}: ACC ${fmt(m.acc)} BWT ${fmt(m.bwt)} F ${fmt(m.forgetting)}  (${run.step} steps, ${result.seconds.toFixed(1)} s)\n`);
      if (seed === SEEDS[0]) panels.push(panel(run.tasks.map((task) => task.id), run.taskEndSteps, run.history, `${scenario === 'class' ? 'class-incr.' : 'task-incr.'} ${method}`));
      run.dispose();
    }
  }
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage();
const report = continualReport({ results, seeds: SEEDS, config: CONFIG, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, cores: cpus().length });
process.stdout.write(`\n${report.table}\n\n${report.targets}\n\ntotal ${seconds.toFixed(0)} s\n`);
if (write) {
  writeFileSync(new URL('../docs/continual-split-digits.svg', import.meta.url), accuracyPlot(panels, METHODS.length, `Split-Digits: accuracy on each task over training (seed ${SEEDS[0]}; dashed: task boundaries)`));
  writeFileSync(new URL('../docs/CONTINUAL.md', import.meta.url), report.markdown);
  process.stdout.write('wrote docs/CONTINUAL.md and docs/continual-split-digits.svg\n');
}

function fmt(x: number | null): string {
  return x === null ? '—' : x.toFixed(3);
}

/** One plot panel from a run's metrics history (`acc/<task>` at each evaluation); each task's curve starts when its training does. */
function panel(taskIds: readonly string[], ends: readonly number[], history: readonly { step: number; metrics: Readonly<Record<string, number>> }[], title: string): PlotPanel {
  const starts = [0, ...ends];
  return {
    title,
    boundaries: ends.slice(0, -1),
    curves: taskIds.map((id, j) => ({
      label: id,
      points: history.filter((h) => h.step >= starts[j]! && h.metrics[`acc/${id}`] !== undefined).map((h) => [h.step, h.metrics[`acc/${id}`]!] as const),
    })),
  };
}
