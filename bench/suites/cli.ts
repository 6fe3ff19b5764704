/**
 * @module benchCli: the CLI path as a user runs it. W1's tensors written as a directory of four
 * safetensors shards (the project's own writer), then, interleaved and REPS times each:
 * `node dist/cli/main.js save <dir>` into a fresh repository against `cp -r` + `sync` of the same
 * directory (both from a warm cache: a trainer has just written the files), and a cold-cache
 * `engram restore` into a new directory against a cold-cache `cp -r` of the source directory.
 * Medians; the restored tree is compared byte for byte with the source. A cold `cp -r` + `sync` is
 * timed too, for the note only: a restore's files are durable before it renames them into place,
 * so what the disk takes to write them is a floor the plain `cp -r` baseline does not pay. CPU seconds (user + sys) of
 * the engram process from its rusage (bash's `times` after the child exits). dist/ is rebuilt first
 * when a source is newer (bench/engram-lib.ts).
 * With ENGRAM_BENCH_CLI_BASE set to another build's dist/cli/main.js, that build runs too, just
 * before this one in every round, and the log prints the two side by side.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSafetensors } from '../../src/index.ts';
import type { BenchContext } from '../bench-context.ts';
// Rebuilds dist/ first when a source is newer, so the CLI timed is the code of this checkout.
import '../engram-lib.ts';
import { dropPageCache } from '../cold-cache.ts';
import { median } from '../engram-measure.ts';
import { bytes, ms, rate, statusOf, times } from '../report.ts';
import { slotBytes, type TensorSet } from '../tensor-set.ts';
import { loadW1 } from '../workloads/w1.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
/**
 * ENGRAM_BENCH_CLI_BASE: another build's dist/cli/main.js (e.g. of the commit before a change): run
 * interleaved with this one in every round, for a before/after measured in the same sitting.
 */
const BASE = process.env.ENGRAM_BENCH_CLI_BASE;
const SHARDS = 4;
const REPS = 3;
const GiB = 1024 ** 3;

/** Wall seconds and the child's own CPU seconds (user + sys) of one command. */
interface Timed { readonly seconds: number; readonly cpuSeconds: number; readonly stdout: string }

/**
 * Runs `argv` under bash and returns its wall time and the CPU seconds of its children (bash's
 * `times`, which reads the children's rusage once they have been waited for). Throws, with its
 * stderr, when the command fails.
 */
function timed(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  const script = '"$@" > "$ENGRAM_BENCH_OUT"; rc=$?; times >&2; exit $rc';
  return new Promise((resolve, reject) => {
    const out = join(process.env.TMPDIR ?? '/tmp', `engram-bench-cli-${process.pid}.out`);
    const t0 = performance.now();
    const child = spawn('/bin/bash', ['-c', script, 'bash', ...argv], { env: { ...env, ENGRAM_BENCH_OUT: out }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      void readFile(out, 'utf8').catch(() => '').then(async (stdout) => {
        await rm(out, { force: true });
        if (code !== 0) return reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`));
        // `times` prints the shell's own line, then its children's: "0m1.234s 0m0.567s".
        const lines = err.trim().split('\n');
        const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
        const cpuSeconds = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
        resolve({ seconds, cpuSeconds, stdout });
      });
    });
  });
}

/** Writes the set as `SHARDS` safetensors files of about equal size; returns their total bytes. */
async function writeShards(set: TensorSet, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const per = set.rawBytes / SHARDS;
  let total = 0;
  let shard = 0;
  let group: { name: string; dtype: 'F32'; shape: readonly number[]; data: Uint8Array }[] = [];
  let inGroup = 0;
  const flush = async (): Promise<void> => {
    const file = writeSafetensors(group.map((t) => ({ ...t, shape: [...t.shape] })));
    await writeFile(join(dir, `model-${String(shard + 1).padStart(5, '0')}-of-${String(SHARDS).padStart(5, '0')}.safetensors`), file);
    total += file.byteLength;
    shard++;
    group = [];
    inGroup = 0;
  };
  for (const s of set.slots) {
    group.push({ name: s.name.replace(/^model\//, ''), dtype: 'F32', shape: s.shape, data: slotBytes(set, s) });
    inGroup += s.byteLength;
    if (inGroup >= per && shard < SHARDS - 1) await flush();
  }
  if (group.length > 0) await flush();
  return total;
}

/** Whether every file under `a` has a byte-identical twin under `b` and no file is extra. */
async function sameTree(a: string, b: string): Promise<{ same: boolean; why?: string }> {
  const la = (await readdir(a)).sort();
  const lb = (await readdir(b)).sort();
  if (la.join('\n') !== lb.join('\n')) return { same: false, why: `files differ: ${la.join(',')} vs ${lb.join(',')}` };
  for (const f of la) {
    const [x, y] = await Promise.all([readFile(join(a, f)), readFile(join(b, f))]);
    if (!x.equals(y)) return { same: false, why: `${f} differs` };
  }
  return { same: true };
}

/** Runs the CLI workload and records its figures. */
export async function benchCli(ctx: BenchContext): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`bench CLI: ${CLI} is missing; run \`npm run build\` first`);
  const set = await loadW1(ctx.w1Bytes);
  const src = join(ctx.tmp, 'cli-src');
  const total = await writeShards(set, src);
  ctx.log(`CLI: W1 as ${SHARDS} safetensors shards, ${bytes(total)} in ${src}; CLI ${CLI}`);
  const node = process.execPath;
  const prof = (name: string): string[] => (ctx.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.cpuProfDir, `cli-${name}`)}`] : []);
  const repo = (r: number): string => join(ctx.tmp, `cli-repo-${r}`);

  // Save: engram save into a fresh repository against cp -r + sync, interleaved, warm source.
  const save: Timed[] = [];
  const baseSave: Timed[] = [];
  const cp: number[] = [];
  const saveOnce = async (cli: string, r: number, name: string): Promise<Timed> => {
    execFileSync('sync');
    await rm(repo(r), { recursive: true, force: true });
    execFileSync(node, [cli, '--repo', repo(r), 'init'], { stdio: 'ignore' });
    execFileSync('sync');
    return timed([node, ...prof(name), cli, '--repo', repo(r), '--json', 'save', src, '--run', 'bench']);
  };
  for (let r = 0; r < REPS; r++) {
    if (BASE) baseSave.push(await saveOnce(BASE, r, 'base-save'));
    save.push(await saveOnce(CLI, r, 'save'));
    const dst = join(ctx.tmp, 'cli-cp');
    await rm(dst, { recursive: true, force: true });
    execFileSync('sync');
    cp.push((await timed(['/bin/sh', '-c', 'cp -r "$0" "$1" && sync', src, dst])).seconds);
    await rm(dst, { recursive: true, force: true });
    if (r < REPS - 1) await rm(repo(r), { recursive: true, force: true });
  }
  const lastRepo = repo(REPS - 1);
  const snapshot = (JSON.parse(save[save.length - 1]!.stdout) as { id: string }).id;

  // Restore: cold engram restore into a new directory against a cold cp -r of the source.
  const restore: Timed[] = [];
  const baseRestore: Timed[] = [];
  const cold: number[] = [];
  const coldSync: number[] = [];
  let identical = true;
  let why: string | undefined;
  let method = '';
  const restoreOnce = async (cli: string, name: string): Promise<Timed> => {
    const out = join(ctx.tmp, 'cli-restored');
    await rm(out, { recursive: true, force: true });
    method = dropPageCache([lastRepo]);
    const t = await timed([node, ...prof(name), cli, '--repo', lastRepo, '--json', 'restore', snapshot, out]);
    const same = await sameTree(src, out);
    if (!same.same) {
      identical = false;
      why = `${name}: ${same.why}`;
    }
    await rm(out, { recursive: true, force: true });
    return t;
  };
  for (let r = 0; r < REPS; r++) {
    if (BASE) baseRestore.push(await restoreOnce(BASE, 'base-restore'));
    restore.push(await restoreOnce(CLI, 'restore'));
    const dst = join(ctx.tmp, 'cli-cp');
    await rm(dst, { recursive: true, force: true });
    dropPageCache([src]);
    cold.push((await timed(['cp', '-r', src, dst])).seconds);
    await rm(dst, { recursive: true, force: true });
    execFileSync('sync');
    dropPageCache([src]);
    coldSync.push((await timed(['/bin/sh', '-c', 'cp -r "$0" "$1" && sync', src, dst])).seconds);
    await rm(dst, { recursive: true, force: true });
  }
  ctx.coldMethods.add(method);
  await rm(lastRepo, { recursive: true, force: true });
  await rm(src, { recursive: true, force: true });

  const saveS = median(save.map((t) => t.seconds));
  const cpS = median(cp);
  const restoreS = median(restore.map((t) => t.seconds));
  const coldS = median(cold);
  const saveCpu = median(save.map((t) => t.cpuSeconds));
  const restoreCpu = median(restore.map((t) => t.cpuSeconds));
  ctx.log(`  engram save ${save.map((t) => ms(t.seconds)).join(', ')}; cp -r + sync ${cp.map(ms).join(', ')}`);
  ctx.log(`  engram restore (cold) ${restore.map((t) => ms(t.seconds)).join(', ')}; cold cp -r ${cold.map(ms).join(', ')}; cold cp -r + sync ${coldSync.map(ms).join(', ')} (${method})`);
  const perGiB = (cpuSeconds: number): string => `${(cpuSeconds / (total / GiB)).toFixed(2)} CPU-s/GiB`;
  if (BASE) {
    const cpu = (ts: Timed[]): string => perGiB(median(ts.map((t) => t.cpuSeconds)));
    ctx.log(`  base ${BASE}: save ${baseSave.map((t) => ms(t.seconds)).join(', ')} (${cpu(baseSave)}); restore ${baseRestore.map((t) => ms(t.seconds)).join(', ')} (${cpu(baseRestore)})`);
    ctx.log(`  this build / base, medians: save ${times(median(save.map((t) => t.seconds)) / median(baseSave.map((t) => t.seconds)))} the time (${cpu(save)}), restore ${times(median(restore.map((t) => t.seconds)) / median(baseRestore.map((t) => t.seconds)))} the time (${cpu(restore)})`);
  }
  const saveRatio = saveS / cpS;
  ctx.add({
    workload: 'CLI', name: 'CLI engram save (directory)', value: saveS, unit: 's', text: ms(saveS),
    comparisons: [{ label: 'cp -r + sync', baseline: ms(cpS), ratio: saveRatio, ratioText: `${times(saveRatio)} the time of` }],
    target: '<=1.25x the time', status: statusOf([{ value: saveRatio, op: '<=', bound: 1.25 }]),
    note: `${rate(total / saveS)}; ${perGiB(saveCpu)} (${saveCpu.toFixed(2)} s user+sys)`,
  });
  const restoreRatio = restoreS / coldS;
  ctx.add({
    workload: 'CLI', name: 'CLI engram restore (cold)', value: restoreS, unit: 's', text: ms(restoreS),
    comparisons: [{ label: 'cold cp -r', baseline: ms(coldS), ratio: restoreRatio, ratioText: `${times(restoreRatio)} the time of` }],
    target: '<=2x the time', status: statusOf([{ value: restoreRatio, op: '<=', bound: 2 }]),
    note: `${rate(total / restoreS)}; ${perGiB(restoreCpu)} (${restoreCpu.toFixed(2)} s user+sys); durable floor: cold cp -r + sync ${ms(median(coldSync))} (${times(restoreS / median(coldSync))} of it)`,
  });
  ctx.add({
    workload: 'CLI', name: 'CLI restored tree byte-identical', value: identical ? 1 : 0, unit: '', text: identical ? 'yes' : 'no',
    comparisons: [], target: 'yes', status: identical ? 'PASS' : 'FAIL', note: why,
  });
}
