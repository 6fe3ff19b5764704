/**
 * @module continualReport: the Split-Digits results as docs/CONTINUAL.md — mean ± std over seeds of
 * ACC, BWT and F per scenario and method, the targets against those means, the settings,
 * and what was tried where a target is not met.
 */
import type { Method, Scenario, SplitDigitsConfig } from '../../demo/continual/split-digits-run.ts';

/** One run's outcome. */
export interface RunResult {
  readonly scenario: Scenario;
  readonly method: Method;
  readonly seed: number;
  readonly matrix: (number | null)[][];
  readonly acc: number | null;
  readonly bwt: number | null;
  readonly forgetting: number | null;
  readonly steps: number;
  readonly seconds: number;
}

/** Mean and sample standard deviation. */
function stats(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

const pm = (xs: readonly number[]): string => {
  const s = stats(xs);
  return `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}`;
};

/** Prose the benchmark cannot measure: how the settings were chosen (edit with the settings). */
const TUNING = `Settings were chosen on seed 1 before the 5-seed run, on this machine, with the per-example
Fisher (batch 1) and, for the replay figures, an early stand-in for engram/continual's
class-balanced buffer (so those are indicative only; the table above is the real buffer's):
- learning rate 0.001 with 4 epochs per task under-trains the shared head: class-incremental replay
  reached ACC 0.36; 0.003 with 8 epochs gave 0.91, and 20 epochs at 0.001 about the same (0.92) at
  2.5x the steps. With 1 epoch per task (the tests' short run) the class-incremental head does not
  learn the newer classes at all, which is why the tests run task-incremental.
- λ (per-task EWC, empirical Fisher averaged over the task's examples) 100 / 1,000 / 10,000:
  class-incremental EWC ACC 0.191 / 0.194 / 0.206 (EWC alone does not stop a shared head from
  predicting only the newest classes: the Fisher protects weights, not the calibration of old
  against new logits), replay+EWC 0.905 / 0.921 / 0.880, task-incremental EWC 0.980 / 0.997 /
  0.994 (F 0.014 / 0.000 / 0.004); λ = 1,000 was kept.
- The Fisher from batches of 8 (the table) instead of per example: the per-example Fisher made an
  EWC run ~3x as long as a naive one here; batch sums overstate the diagonal when a batch's
  gradients agree, which acts like a larger λ. Class-incremental replay+EWC then ends level with
  replay alone (0.876 vs 0.879) instead of above it as with the per-example Fisher on seed 1.`;

/** The report's parts: the plain table, the target lines, and the whole markdown document. */
export function continualReport(o: {
  readonly results: readonly RunResult[];
  readonly seeds: readonly number[];
  readonly config: Omit<SplitDigitsConfig, 'seed' | 'method' | 'scenario'>;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly cores: number;
}): { table: string; targets: string; markdown: string } {
  const of = (scenario: Scenario, method: Method): RunResult[] => o.results.filter((r) => r.scenario === scenario && r.method === method);
  const values = (rs: readonly RunResult[], k: 'acc' | 'bwt' | 'forgetting'): number[] => rs.map((r) => r[k]).filter((x): x is number => x !== null);
  const mean = (scenario: Scenario, method: Method, k: 'acc' | 'bwt' | 'forgetting'): number => stats(values(of(scenario, method), k)).mean;
  const methods = [...new Set(o.results.map((r) => r.method))];
  const scenarios = [...new Set(o.results.map((r) => r.scenario))];
  const rows = ['| scenario | method | ACC | BWT | F |', '|---|---|---|---|---|'];
  for (const s of scenarios) {
    for (const m of methods) {
      const rs = of(s, m);
      rows.push(`| ${s === 'class' ? 'class-incremental' : 'task-incremental'} | ${m} | ${pm(values(rs, 'acc'))} | ${pm(values(rs, 'bwt'))} | ${pm(values(rs, 'forgetting'))} |`);
    }
  }
  const table = rows.join('\n');
  const check = (ok: boolean): string => (ok ? '**met**' : '**not met**');
  const naiveClass = mean('class', 'naive', 'acc');
  const t1 = mean('class', 'replay', 'acc');
  const t2 = mean('class', 'replay-ewc', 'acc');
  const t3 = mean('task', 'ewc', 'acc');
  const fEwc = mean('task', 'ewc', 'forgetting');
  const fNaive = mean('task', 'naive', 'forgetting');
  const targets = [
    `- class-incremental replay ACC ≥ 0.85: ${t1.toFixed(3)} — ${check(t1 >= 0.85)}`,
    `- class-incremental replay+EWC ACC ≥ 2 × naive's (2 × ${naiveClass.toFixed(3)} = ${(2 * naiveClass).toFixed(3)}): ${t2.toFixed(3)} — ${check(t2 >= 2 * naiveClass)}`,
    `- task-incremental EWC ACC ≥ 0.95: ${t3.toFixed(3)} — ${check(t3 >= 0.95)}`,
    `- task-incremental EWC F below naive's (${fNaive.toFixed(3)}): ${fEwc.toFixed(3)} — ${check(fEwc < fNaive)}`,
    `- (reported, no target) class-incremental naive ACC: ${naiveClass.toFixed(3)} (the issue: usually ≈ 0.2 on Split-MNIST)`,
  ].join('\n');
  const c = o.config;
  const steps = stats(o.results.map((r) => r.steps)).mean;
  const last = o.results.find((r) => r.scenario === 'class' && r.method === 'replay');
  const matrix = last ? last.matrix.map((row, i) => `| after task ${i} | ${row.map((v) => (v === null ? '' : v.toFixed(2))).join(' | ')} |`) : [];
  const markdown = `# Continual learning: Split-Digits

Written by \`npm run bench:continual\` (bench/continual.ts); do not edit by hand.

Split-Digits is the UCI handwritten digits of demo/data/ (1,797 8×8 images; 360 held out for
testing, ~72 per task) as 5 tasks of 2 classes, {0,1}, {2,3}, {4,5}, {6,7}, {8,9}, trained in that
order by a TensorFlow.js MLP (64 → ${c.hidden.join(' → ')} → 10, ReLU, linear logits, Adam lr ${c.learningRate}) on
the wasm backend: batches of ${c.batch}, ${c.epochsPerTask} epochs per task (${steps.toFixed(0)} steps per run on average). Scenarios:
**class-incremental** (one shared 10-way head; a test image is classified among all 10 digits) and
**task-incremental** (the task is known: the logits outside its two classes are masked off in
training, in the Fisher and in testing). Methods (demo/continual/split-digits-run.ts):

- **naive**: fine-tuning on each task in turn;
- **ewc**: per-task EWC, λ = ${c.lambda}, penalty λ/2 · Σ F (θ − θ*)² (engram/tfjs \`EwcPenalty\` on
  engram/continual's \`Ewc.terms()\`); F is the **empirical** diagonal Fisher (\`diagonalFisher\`):
  squared gradients of log p(y|x) at the true label y, here of batches of ${c.fisherBatch} (the squared
  gradient of a batch's summed log-likelihood, summed over the task's training examples and divided
  by their count; batch 1 is the per-example diagonal), taken with the anchor θ* at the task's end;
- **replay**: a ${c.bufferKind} buffer of ${c.bufferCapacity} examples (~14 % of the training set; every example is
  offered once, in its task's first epoch), ${c.replayBatch} replayed examples added to every batch;
- **replay-ewc**: both.

Everything random is seeded (split, initial weights, data order, buffer admissions and draws):
a run is a function of its seed. Seeds ${o.seeds.join(', ')}; mean ± sample standard deviation over them.
ACC = mean_j R[T][j], BWT = mean_{j<T} (R[T][j] − R[j][j]), F = mean_{j<T} (max_{l<T} R[l][j] − R[T][j]),
from engram/continual's \`TaskRegistry.measures()\`.

## Results

${table}

## The issue's targets (means over seeds)

${targets}

## Accuracy on each task over training (seed ${o.seeds[0]})

![accuracy on each task over training, per method](continual-split-digits.svg)

Each task's test accuracy every ${c.evalEvery} steps from the start of its training; dashed lines are task
boundaries. The R matrix of class-incremental replay, seed ${o.seeds[0]} (rows: after training task i;
columns: tasks 0–4):

| | 0 | 1 | 2 | 3 | 4 |
|---|---|---|---|---|---|
${matrix.join('\n')}

## How the settings were chosen

${TUNING}

Total run: ${o.seconds.toFixed(0)} s wall, ${o.cpuSeconds.toFixed(0)} CPU-seconds, for ${o.results.length} runs on ${o.cores} cores shared with other work
(the wall time is what the machine's load left; on 2 idle cores it is about the CPU time).
`;
  return { table, targets, markdown };
}
