/** @module Public surface of repo/: Repository, Snapshot, refs, manifests and verification. */
export { Repository } from './repository.ts';
export type { OpenOptions, RepoStats, SnapshotSummary } from './repository.ts';
export { Snapshot } from './snapshot.ts';
export { defaultConfig, REPO_FORMAT_VERSION } from './config.ts';
export type { RepoConfig, RepoConfigOptions } from './config.ts';
export type { BlobEntry, ChunkInfo, ChunkRef, FileEntry, JsonValue, SnapshotManifest, TensorEntry } from './manifest.ts';
export { fileTensorName } from './save-input.ts';
export type { FileInput, FileTensorInput, Progress, SaveOptions, TensorInput } from './save-input.ts';
export { parseRef, defaultMetricMode } from './ref-syntax.ts';
export type { RefSpec } from './ref-syntax.ts';
export type { RefEvent } from './ref-store.ts';
export type { VerifyFinding, VerifyReport } from './verify.ts';
export { openStore, registerStoreScheme } from './open-store.ts';
export type { StoreOpener } from './open-store.ts';
export { restoreFiles, safeJoin, writeFileAtomic } from './restore-files.ts';
export { newId, systemClock } from './ids.ts';
export type { Clock } from './ids.ts';
