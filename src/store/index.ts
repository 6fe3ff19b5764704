/**
 * @module Public surface of store/: the ObjectStore interface, its fs and memory backends and the
 * URL-scheme registry that opens a store for a repository URL. The S3 backend is its own surface
 * (store/s3/, subpath `engram/s3`) so that importing store/ never loads the AWS SDK.
 */
export type { ByteRange, GetOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
export { MemoryStore } from './memory-store.ts';
export { FsStore, removeEmptyDirs, removeStaleTemps } from './fs-store.ts';
export { openStore, registerStoreScheme } from './open-store.ts';
export { fsyncDirectory } from './fs-ops.ts';
export { missingByHead } from './missing-by-head.ts';
export type { StoreOpener } from './open-store.ts';
