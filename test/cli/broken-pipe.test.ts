/**
 * `engram log | head -1` and `engram show REF | head -1`: when the reader of stdout goes away the
 * CLI ends quietly, as git does (status 141, or 0 when everything was written before the reader
 * left), with nothing on stderr — never an EPIPE stack trace.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Repository } from '../../src/repo/index.ts';
import { Tensor } from '../../src/tensor/index.ts';
import { spawnCli, tempDir } from '../helpers/cli.ts';

const RUNS = 20;
/** Output of each command: several times a pipe's 64 KiB buffer, so the CLI is still writing when the reader leaves. */
const MIN_OUTPUT = 256 * 1024;

/** Runs the CLI, closes its stdout after the first line, and returns its exit status and stderr. */
function headOne(args: string[]): Promise<{ code: number | null; signal: string | null; firstLine: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args);
    let stdout = '';
    let stderr = '';
    let firstLine: string | undefined;
    child.stdout!.on('data', (d: Buffer) => {
      if (firstLine !== undefined) return;
      stdout += d.toString();
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        firstLine = stdout.slice(0, nl);
        child.stdout!.destroy();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, firstLine: firstLine ?? '', stderr }));
  });
}

describe('a closed stdout ends the CLI quietly', () => {
  let repo: string;
  let id: string;

  before(async () => {
    repo = join(await tempDir(), 'repo');
    const r = await Repository.init(repo);
    try {
      // log: 100 snapshots with 3 KiB messages; show: one snapshot of 6,000 tensors.
      const message = 'a long message '.repeat(200);
      for (let step = 1; step <= 100; step++) await r.save({ run: 'long', step, message, tensors: { w: Tensor.fromFloat32(new Float32Array([step]), [1]) } });
      const tensors: Record<string, Tensor> = {};
      for (let i = 0; i < 6000; i++) tensors[`model/layers.${i}.attention.query.weight`] = Tensor.fromFloat32(new Float32Array([i]), [1]);
      id = (await r.save({ run: 'wide', step: 1, tensors })).id;
    } finally {
      await r.close();
    }
  });

  for (const [what, args] of [['log', () => ['log', '--repo', repo]], ['show', () => ['show', id, '--repo', repo]]] as const) {
    test(`engram ${what} | head -1, ${RUNS} times`, async () => {
      const full = await new Promise<number>((resolve) => {
        let n = 0;
        const child = spawnCli(args());
        child.stdout!.on('data', (d: Buffer) => (n += d.byteLength));
        child.on('close', () => resolve(n));
      });
      assert.ok(full >= MIN_OUTPUT, `${what} prints ${full} bytes, want ≥ ${MIN_OUTPUT}`);
      for (let i = 0; i < RUNS; i++) {
        const r = await headOne(args());
        assert.ok(r.firstLine.length > 0, 'a first line was read');
        assert.equal(r.stderr, '', `run ${i}: nothing on stderr`);
        assert.equal(r.signal, null);
        assert.ok(r.code === 141 || r.code === 0, `run ${i}: exit ${r.code}`);
      }
    });
  }
});
