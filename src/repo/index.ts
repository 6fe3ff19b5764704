/**
 * @module Public surface of repo/: Repository, Snapshot, refs, manifests and verification, and the
 * write primitives every save goes through: a chunk-writing session and one manifest commit.
 */
export { Repository } from './repository.ts';
export type { ForgetResult, OpenOptions, SnapshotSummary } from './repository.ts';
export type { RepoStats } from './repo-stats.ts';
export { checkRetentionPolicy, describeRule, planRetention } from './retention.ts';
export type { KeepReason, RetentionCandidate, RetentionDecision, RetentionPlan, RetentionPolicy, RetentionRule } from './retention.ts';
export { DEFAULT_GRACE_MS, markLive } from './gc.ts';
export type { GcOptions, GcReport, GcSkip } from './gc.ts';
export { beginSave } from './save-intent.ts';
export { WriteSession } from './write-session.ts';
export type { DeltaBase, DeltaBaseOf, WriteSessionOptions, WrittenChunks } from './write-session.ts';
export { checkSaveHeader, commitSnapshot, resolveParent } from './commit-snapshot.ts';
export type { CommitRepository, CommitResult, CommitTarget, SnapshotContent } from './commit-snapshot.ts';
export { listSnapshotIds, readManifest } from './manifest-store.ts';
export { decodeChecksummed, encodeChecksummed } from './checksummed-json.ts';
export type { BeginSaveOptions, SaveIntent, SaveWait } from './save-intent.ts';
export { describeOwner, STALE_MS } from './coordination.ts';
export type { GcMarkerInfo, OwnerRecord } from './coordination.ts';
export { releaseHeldLocks } from './held-locks.ts';
export type { ProcessIdentity } from './process-identity.ts';
export { Snapshot, type FileTensorDecoder } from './snapshot.ts';
export { defaultConfig, REPO_FORMAT_VERSION } from './config.ts';
export type { RepoConfig, RepoConfigOptions } from './config.ts';
export type { BlobEntry, ChunkInfo, ChunkRef, FileEntry, SnapshotManifest, TensorEntry } from './manifest.ts';
export type { ShardEntry } from './manifest.ts';
export { boxText, INLINE_BLOB_MAX, lowestManifestVersion, MANIFEST_VERSIONS, shardLayoutProblem } from './manifest.ts';
export { readTensorRegion, intersectBoxes, copyRuns, shardsOf } from './tensor-region.ts';
export type { Box } from './tensor-region.ts';
export { fileTensorName } from './save-input.ts';
export type { FileInput, FileTensorInput, Progress, SaveOptions, TensorInput } from './save-input.ts';
export { parseRef, defaultMetricMode } from './ref-syntax.ts';
export { checkRefName, checkRunName } from './ref-name.ts';
export type { RefSpec } from './ref-syntax.ts';
export type { RefEvent } from './ref-store.ts';
export { runHead } from './run-head.ts';
export type { HeadCandidate } from './run-head.ts';
export type { VerifyFinding, VerifyReport } from './verify.ts';
export { openStore, registerStoreScheme } from '../store/index.ts';
export type { StoreOpener } from '../store/index.ts';
export { restoreFiles, safeJoin, writeFileAtomic } from './restore-files.ts';
export { newId, systemClock } from './ids.ts';
export type { Clock } from './ids.ts';
export { CodecPool } from '../codec/index.ts';
export { eachConcurrently } from './each-concurrently.ts';
