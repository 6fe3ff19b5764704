/**
 * An EWC anchor taken at a task boundary is the model's weights of that step, byte for byte, so in
 * the checkpoint of that step it costs no stored bytes of its own: measured from the repository's
 * stats against a twin run that saves the same model and the same Fisher diagonal without the
 * anchor. Counted: Δ storedBytes (every object: chunks, manifests, refs) and Δ chunkBytes (chunks
 * only), each as (with anchor) − (twin). The anchor's manifest entries (one tensor entry and one
 * line of blob `train` per weight, ~250 bytes each) are part of the stored figure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ewc } from '../../src/continual/index.ts';
import { Repository } from '../../src/repo/index.ts';
import type { TensorData } from '../../src/tensor/index.ts';
import { CheckpointManager, Rng, type StateNamespace } from '../../src/train/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { bytes } from './helpers.ts';

function mlp(rng: Rng, sizes: readonly number[]): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [a, b] = [sizes[i]!, sizes[i + 1]!];
    out[`dense${i}/kernel`] = { dtype: 'F32', shape: [a, b], data: bytes(Float32Array.from({ length: a * b }, () => rng.normal() * 0.1)) };
    out[`dense${i}/bias`] = { dtype: 'F32', shape: [b], data: bytes(Float32Array.from({ length: b }, () => rng.normal() * 0.01)) };
  }
  return out;
}

const sizeOf = (m: Record<string, TensorData>): number => Object.values(m).reduce((a, t) => a + t.data.byteLength, 0);

for (const [label, sizes] of [['784-256-128-10 MLP (chunked tensors)', [784, 256, 128, 10]], ['64-64-10 MLP (every tensor bundled)', [64, 64, 10]]] as const) {
  test(`${label}: the anchor at a task boundary adds at most 1 % of the model's size`, async () => {
    const a = await Repository.init(await tempDir('engram-ewc-a-'));
    const b = await Repository.init(await tempDir('engram-ewc-b-'));
    const ma = new CheckpointManager(a, { run: 'r', async: false });
    const mb = new CheckpointManager(b, { run: 'r', async: false });
    const rng = new Rng(4);
    const ewc = new Ewc({ lambda: 10, mode: 'per-task' });
    const figures: string[] = [];
    for (let step = 1; step <= 4; step++) {
      const model = mlp(rng, sizes);
      const size = sizeOf(model);
      let nsA: Record<string, StateNamespace> = ewc.toNamespaces();
      let nsB: Record<string, StateNamespace> = Object.fromEntries(Object.entries(nsA).map(([n, ns]) => [n, {
        tensors: Object.fromEntries(Object.entries(ns.tensors ?? {}).filter(([t]) => t.startsWith('fisher/'))), record: ns.record!,
      }]));
      const boundary = step === 2 || step === 4;
      if (boundary) {
        // The end of a task: Fisher from the task's data, anchor = this step's model.
        const fisher = Object.fromEntries(Object.entries(model).map(([w, t]) => [w, {
          dtype: 'F32' as const, shape: [...t.shape], data: bytes(Float32Array.from({ length: t.data.byteLength / 4 }, () => rng.uniform(0, 1))),
        }]));
        ewc.consolidate(`task-${step / 2}`, fisher, model);
        nsA = ewc.toNamespaces();
        nsB = Object.fromEntries(Object.entries(nsA).map(([n, ns]) => [n, {
          tensors: Object.fromEntries(Object.entries(ns.tensors ?? {}).filter(([t]) => t.startsWith('fisher/'))), record: ns.record!,
        }]));
      }
      const [sa0, sb0] = [await a.stats(), await b.stats()];
      await ma.save(step, { model, namespaces: nsA });
      await mb.save(step, { model, namespaces: nsB });
      const [sa1, sb1] = [await a.stats(), await b.stats()];
      const stored = (sa1.storedBytes - sa0.storedBytes) - (sb1.storedBytes - sb0.storedBytes);
      const chunks = (sa1.chunkBytes - sa0.chunkBytes) - (sb1.chunkBytes - sb0.chunkBytes);
      figures.push(`step ${step}${boundary ? ' (boundary)' : ''}: model ${size} B; anchors add ${stored} B stored (${(100 * stored / size).toFixed(2)} %), ${chunks} B of chunks`);
      if (Object.keys(nsA).length > 0) {
        assert.ok(chunks <= 0.01 * size, figures.at(-1));
        if (size > 500_000) assert.ok(stored <= 0.01 * size, figures.at(-1));
      }
    }
    // Both anchors are there, byte-identical to the boundary steps' models.
    const snap = await a.snapshot('r@4');
    for (const name of snap.tensorNames().filter((n) => n.startsWith('model/'))) {
      const w = name.slice('model/'.length);
      assert.ok(Buffer.from((await snap.tensor(`ewc/task-2/anchor/${w}`)).data).equals(Buffer.from((await snap.tensor(name)).data)));
    }
    await ma.close();
    await mb.close();
    console.log(`${label}\n${figures.join('\n')}`);
  });
}
