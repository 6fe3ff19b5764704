/** @module Public surface of formats/pytorch/: reading and writing torch.save checkpoints. */
export { detectPytorch, readPytorch } from './read-pytorch.ts';
export { TORCH_ALLOWED_GLOBALS } from './torch-pickle-hooks.ts';
export { nestedTorchObject, pytorchFilePieces, pytorchSteps, writePytorch } from './write-pytorch.ts';
export type { WritePytorchOptions } from './write-pytorch.ts';
export { TORCH_STORAGE_CLASSES } from './write-pytorch-pickle.ts';
export type { TorchObject } from './write-pytorch-pickle.ts';
export { pytorchFormat } from './pytorch-format.ts';
