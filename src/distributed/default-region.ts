/**
 * @module The default target layout of load-time resharding: a sharded tensor is split along
 * dimension 0 into `worldSize` near-equal contiguous blocks, the first `size % worldSize` ranks
 * taking one row more (the sizes `torch.tensor_split` and `numpy.array_split` give). Rank k's block
 * is therefore one contiguous byte range of the global tensor. Tensors that were not sharded
 * (replicated state, 0-d scalars) go whole to every rank.
 */
import type { Box } from '../repo/index.ts';
import type { Shape } from '../tensor/index.ts';
import { checkRank } from './save-id.ts';

/** Rank `rank`'s block of dimension 0 of `shape` out of `worldSize` (possibly empty when size < worldSize). */
export function splitDim0(shape: Shape, rank: number, worldSize: number): Box {
  checkRank(rank, worldSize);
  if (shape.length === 0) return { offsets: [], shape: [] };
  const n = shape[0]!;
  const base = Math.floor(n / worldSize);
  const extra = n % worldSize;
  const start = rank * base + Math.min(rank, extra);
  const size = base + (rank < extra ? 1 : 0);
  return { offsets: [start, ...shape.slice(1).map(() => 0)], shape: [size, ...shape.slice(1)] };
}
