/**
 * @module writeBenchmarksDoc: docs/BENCHMARKS.md from a full run — the machine, the date, every
 * figure with its ratios against the baselines measured in the same run and its target, and how
 * to run it again. `npm run bench` rewrites it after a full run, so the page always quotes what
 * the benchmarks last printed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { docSection } from './s3-doc-section.ts';
import type { Machine } from './machine.ts';
import { markdownTable, type Figure } from './report.ts';

/** What one run produced. */
export interface RunRecord {
  readonly date: string;
  readonly machine: Machine;
  readonly torch: string | undefined;
  readonly coldMethods: readonly string[];
  readonly quick: boolean;
  readonly workloads: readonly string[];
  /** Share of the CPUs other processes kept busy just before each workload started. */
  readonly busyBefore: Readonly<Record<string, string>>;
  readonly seconds: number;
  readonly figures: readonly Figure[];
}

/**
 * Sections other benchmarks write into the same page (bench/train-overhead.ts, bench/s3.ts): a
 * full run regenerates everything else and carries these over as they were.
 */
export const CARRIED_SECTIONS = ['Training overhead (bench:train)', 'S3 (Ceph RGW on loopback)', 'Start-up (bench:startup)', 'Content hash (bench:hash)'];

/** Writes the page to `path`, keeping the {@link CARRIED_SECTIONS} of the page already there. */
export async function writeBenchmarksDoc(path: string, run: RunRecord): Promise<void> {
  const old = await readFile(path, 'utf8').catch(() => '');
  const carried = CARRIED_SECTIONS.map((h) => docSection(old, h)).filter((s): s is string => s !== undefined);
  const m = run.machine;
  const failing = run.figures.filter((f) => f.status === 'FAIL');
  const text = `# Benchmarks

Measured by \`npm run bench\` (bench/main.ts) on ${run.date}${run.quick ? ' in --quick mode (smaller sizes)' : ''}; this page is
rewritten by every full run. Each figure is printed with its ratio against a baseline measured
**in the same run** on the same bytes: raw disk bandwidth (write + fsync, cold read), memcpy,
plain zstd -3 (the same binding engram uses, 4 MiB blocks, 2 in flight) and torch.save / torch.load
through Debian's python3-torch. Targets print PASS or FAIL; benchmarks are not tests and never fail
the build, and no test asserts a wall-clock time.

## Reproduce

\`\`\`sh
npm install
npm run bench:setup    # installs Debian's python3-torch for the torch baseline (needs root; skipped when present)
npm run bench          # all workloads (${Math.round(run.seconds / 60)} minutes here, plus ~1 minute of W3/W4 training the first time); rewrites this page
npm run bench -- W1 W3 # only some workloads;  --quick: 128 MiB instead of 1 GiB
npm run -s bench -- --json         # every figure as JSON on stdout (progress stays on stderr)
npm run bench -- W1 --profile      # the save/restore children under --cpu-prof, with a self-time summary
npm run bench:train    # checkpoint overhead during real TF.js training (the demo model, async saves every 10 steps)
npm run bench:s3       # sharded save/restore on S3 by 1, 2 and 4 ranks against raw PUT/GET (starts its own Ceph RGW)
npm run bench:startup  # how long \`engram --help\`/\`--version\`/\`log\` take to start, against \`node -e 0\`
npm run bench:hash -- --modules DIR/node_modules  # content-hash throughput, SHA-256 against BLAKE3 native and wasm installed in DIR
\`\`\`

\`npm run bench:train\`, \`npm run bench:s3\`, \`npm run bench:startup -- --write-doc\` and \`npm run bench:hash -- --write-doc\` are separate
programs (TensorFlow.js training; a Ceph RGW; new processes; packages engram does not depend on); each rewrites only its own section
at the end of this page, which a full
\`npm run bench\` keeps.

Generated workloads (and the W3/W4 training runs, tens of seconds once) are cached in
\`bench/.cache/\` (git-ignored); delete it to regenerate. Repositories and baseline files go to a
temporary directory under the system temp dir and are removed after each workload.

## Machine

| | |
|---|---|
| CPU | ${m.cpu}, ${m.cores} cores |
| RAM | ${m.ramGiB} GiB |
| disk | ${m.disk} |
| virtualised | ${m.virtualised} |
| OS | ${m.os}, Linux ${m.kernel} |
| Node.js | ${m.node} |
| torch baseline | ${run.torch ? `torch ${run.torch} (Debian python3-torch, /usr/bin/python3)` : 'absent (run `npm run bench:setup`)'} |
| cold page cache | ${run.coldMethods.join(', ') || '—'} before every cold read and restore, for engram and baselines alike |
| run | workloads ${run.workloads.join(' ')}, ${Math.round(run.seconds)} s; CPUs busy with other work before each: ${Object.entries(run.busyBefore).map(([w, b]) => `${w} ${b}`).join(', ')} |

## Figures

${markdownTable(run.figures)}

${failing.length === 0 ? 'Every target is met.' : `Targets not met in this run: ${failing.map((f) => f.name).join('; ')}.`}

## Workloads

- **W1** — about 1 GiB of float32 weights shaped like a decoder-only transformer (d 1024, MLP
  4096, 18 layers, 38,912-token embedding): embeddings and attention at std 0.02, MLP up at
  sqrt(2/fan_in), residual projections at 0.02/sqrt(2L), layer-norm weights near 1, biases near 0,
  about one value in 256 of each matrix four times heavier. Seeded; one tensor
  (\`model/layers.0.attn.q_proj.weight\`) is exactly 4 MiB for the lazy-load figure.
- **W2** — W1 converted to bfloat16 by engram's own round-to-nearest-even conversion.
- **W3** — a 4.16 M-parameter residual MLP (15.9 MiB float32) trained for real with a
  hand-written Adam (β1 0.9, β2 0.999, lr 1e-3, batch 4) on the UCI handwritten digits
  (bench/data/), checkpointed every 50 Adam steps, 10 checkpoints, each saved with the previous
  one as parent. Saved as float32, as bfloat16, and as float32 with Adam's exp_avg and exp_avg_sq.
- **W4** — fine-tuning from W3's last checkpoint with only the last block, the output norm and the
  head trainable (10.05 % of the bytes; the rest frozen, bit for bit), on the digits mirrored,
  five checkpoints 50 steps apart, saved after the base in the same repository.
- **CLI** — W1's tensors as a directory of four safetensors shards (engram's own writer), saved
  and restored by running the built \`engram\` command (\`node dist/cli/main.js\`, after \`npm run build\`)
  as a user does, against \`cp -r\` + \`sync\` and a cold \`cp -r\` of the same directory.

## This machine's quirks

- It is a KVM guest (with virtio-balloon free-page reporting and DAMON reclaim) whose memory is
  backed lazily by the host: memory the guest touches for the first time — the page cache
  included — costs about 0.5–0.8 GB/s, and freed memory may be handed back to the host later.
  The driver therefore touches and frees 8 GiB before measuring (bench/warm-memory.ts), so that
  no contender pays for being first, and reuses one large buffer across measurements
  (bench/scratch-buffer.ts). The first of three repetitions is still often the slowest, for
  torch and engram alike, which is why medians are reported.
- The virtual disk's fsync is faster than the device's nominal ~0.8 GB/s durable writes suggest
  (the host caches), and both disk figures vary by ±30 % from run to run.
- The machine is shared with other work (tests, builds); the driver waits up to two minutes for
  the CPUs to quieten before each workload and reports how busy they were.

## How each figure is measured

- **Stored/raw** is the growth of the repository (every object: chunks, manifests, config) over the
  raw tensor bytes; the zstd baseline compresses the same raw bytes.
- **Save** times \`repo.save\` alone in a child process (durable: every chunk fsynced and renamed,
  directories fsynced). The raw baseline writes all tensors into one file, fsyncs it and its
  directory — the disk's bandwidth; one file per tensor, each fsynced, is reported alongside. The
  torch baseline times torch.save into a file plus flush and fsync of the file and its directory.
- **Restore** drops the page cache of the repository first, then times opening it, resolving the
  snapshot and loading every tensor into preallocated, already-touched buffers; engram re-hashes
  every chunk it reads, and the benchmark then compares every tensor's SHA-256 with the source
  (bit-exact). torch.load and the raw read start from a dropped cache too.
- **Lazy load** is one 4 MiB tensor through a fresh repository handle from a cold cache (in the
  restoring process, after its full restores; median of 3), as a share of the full restore.
- **Peak RSS** is the peak resident set of the child that saved or restored, read from VmHWM in
  /proc/self/status: getrusage's maxRSS (\`process.resourceUsage().maxRSS\`) survives exec and
  starts from the RSS of the forked copy of the driver, so it would report the driver's 2 GiB.
  Both children hold the 1 GiB of tensors themselves (the data to save, or the buffers restored
  into), which the figure includes.
- **Repetitions**: W1's and W2's contenders (raw disk, torch, engram save, engram restore) each run three
  times inside one process — as a training job that checkpoints repeatedly would — and the median
  counts; zstd and memcpy run once (memcpy: best of three). engram runs from the compiled \`dist/\`
  (rebuilt first when a source is newer), as a user's program does. CPU figures are user + system
  time of the measured process, all threads, around the timed call only.
- **Deepest delta chain** restores the W3 float32 checkpoint whose chunks have the longest delta
  chain (a new keyframe comes once a delta stops paying, \`delta.keyframe\`, so it is not always the
  last) and the first checkpoint (a keyframe of the same size), each from a cold cache through a
  fresh handle, alternating, median of 5.
`;
  await writeFile(path, [text.trimEnd(), ...carried.map((c) => c.trimEnd())].join('\n\n') + '\n');
}
