/**
 * @module engram: versioned, deduplicated, verified checkpoints of model state.
 *
 * @example
 * import { Repository, Tensor } from 'engram';
 * const repo = await Repository.init('./.engram');
 * await repo.save({ run: 'r1', step: 1, tensors: { 'model/w': Tensor.fromFloat32(new Float32Array(4)) } });
 */
export * from './errors/index.ts';
export * from './tensor/index.ts';
export * from './store/index.ts';
export * from './codec/index.ts';
export * from './formats/index.ts';
export * from './repo/index.ts';
export * from './train/index.ts';
export * from './ops/index.ts';
