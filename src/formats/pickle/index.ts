/** @module Public surface of formats/pickle/: a bounded unpickler and a pickler, for PyTorch checkpoints. */
export { PyDict, PyGlobal, PyOpaque, PyTuple } from './pickle-value.ts';
export type { PyValue } from './pickle-value.ts';
export { pickleBatches, Pickler, PICKLE_BATCH } from './pickler.ts';
export type { PickleBatch } from './pickler.ts';
export { PickleNeedsMore, unpickle, unsafePickle, DEFAULT_UNPICKLE_LIMITS } from './unpickle.ts';
export type { PickleSource, UnpickleHooks, UnpickleLimits } from './unpickle.ts';
