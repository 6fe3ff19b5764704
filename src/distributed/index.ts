/**
 * @module Public surface of distributed/: sharded saves by many ranks (one snapshot, committed by
 * rank 0 once every rank's part is durable) and load-time resharding onto any number of ranks.
 */
export { saveSharded, DEFAULT_COMMIT_TIMEOUT_MS } from './save-sharded.ts';
export type { LocalShard, ReplicatedTensorInput, SaveShardedOptions, ShardedSaveResult, ShardedTensorInput } from './sharded-input.ts';
export { restoreSharded, defaultTarget } from './restore-sharded.ts';
export type { ReshardPlan, RestoredShard, RestoreShardedOptions } from './restore-sharded.ts';
export { splitDim0 } from './default-region.ts';
export { shardedSaveId, rankPartKey } from './save-id.ts';
export { SHARDS_METADATA_KEY, parseShardsMetadata, shardFileContent, shardsMetadata } from './shard-file.ts';
export type { ShardFileContent, ShardFileEntry, ShardFileTensor } from './shard-file.ts';
export { copyRuns, intersectBoxes, readTensorRegion, shardsOf } from '../repo/index.ts';
export type { Box } from '../repo/index.ts';
