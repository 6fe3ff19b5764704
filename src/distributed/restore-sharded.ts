/**
 * @module Load-time resharding: any number of ranks restores any snapshot. Each rank asks for its
 * target box of every tensor; only the chunks that hold bytes of that box are read (see
 * repo/tensor-region.ts), so N ranks together read each chunk about once, whatever world size wrote it.
 */
import { eachConcurrently, type Snapshot, type TensorEntry } from '../repo/index.ts';
import type { Box } from '../repo/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { splitDim0 } from './default-region.ts';
import { checkRank } from './save-id.ts';

/**
 * Which box of tensor `name` a rank wants: a box, `'whole'` for the whole tensor, or null to skip
 * it. Undefined falls back to the default layout.
 */
export type ReshardPlan = (name: string, info: TensorEntry, rank: number, worldSize: number) => Box | 'whole' | null | undefined;

/** Options of {@link restoreSharded}. */
export interface RestoreShardedOptions {
  readonly rank: number;
  readonly worldSize: number;
  /** Per-tensor target regions; the default splits sharded tensors along dimension 0 (default-region.ts). */
  readonly plan?: ReshardPlan;
  /** Restore only these tensors (default: all). */
  readonly names?: readonly string[];
  /** Tensors read at once (default 4). */
  readonly concurrency?: number;
}

/** One tensor as a rank restored it: its box of the global tensor, and the global shape. */
export interface RestoredShard {
  readonly tensor: Tensor;
  readonly offsets: readonly number[];
  readonly globalShape: readonly number[];
  /** True when the box is the whole tensor. */
  readonly whole: boolean;
}

/** The default plan: sharded tensors split along dimension 0, everything else whole. */
export function defaultTarget(info: TensorEntry, rank: number, worldSize: number): Box {
  return info.shards ? splitDim0(info.shape, rank, worldSize) : { offsets: info.shape.map(() => 0), shape: info.shape };
}

/**
 * Restores this rank's part of every tensor of `snapshot`, reading only the chunks its boxes overlap.
 *
 * @example
 * const mine = await restoreSharded(await repo.snapshot('llm@latest'), { rank: 1, worldSize: 3 });
 * mine.get('model/w')!.offsets; // [342, 0]: rows 342…683 of the [1024, 512] weight
 */
export async function restoreSharded(snapshot: Snapshot, options: RestoreShardedOptions): Promise<Map<string, RestoredShard>> {
  checkRank(options.rank, options.worldSize);
  const names = options.names ? options.names.map((n) => snapshot.resolveTensorName(n)) : snapshot.tensorNames();
  const jobs: { name: string; info: TensorEntry; box: Box }[] = [];
  for (const name of names) {
    const info = snapshot.manifest.tensors[name]!;
    const planned = options.plan?.(name, info, options.rank, options.worldSize);
    if (planned === null) continue;
    const box = planned === undefined ? defaultTarget(info, options.rank, options.worldSize)
      : planned === 'whole' ? { offsets: info.shape.map(() => 0), shape: info.shape } : planned;
    jobs.push({ name, info, box });
  }
  const out = new Array<RestoredShard | undefined>(jobs.length);
  await eachConcurrently(jobs, options.concurrency ?? 4, async ({ name, info, box }, i) => {
    const tensor = await snapshot.readRegion(name, box.offsets, box.shape);
    const whole = box.offsets.every((o, d) => o === 0 && box.shape[d] === info.shape[d]);
    out[i] = { tensor, offsets: [...box.offsets], globalShape: [...info.shape], whole };
  });
  return new Map(jobs.map((j, i) => [j.name, out[i]!]));
}
