/** @module PyTorch checkpoints as a registered format: found by content, whatever the extension. */
import type { TensorFormat, WithMetadata } from '../tensor-format.ts';
import { detectPytorch, readPytorch } from './read-pytorch.ts';
import { TORCH_STORAGE_CLASSES } from './write-pytorch-pickle.ts';
import { pytorchSteps, writePytorch, type WritePytorchOptions } from './write-pytorch.ts';

/**
 * PyTorch: a zip holding a `data.pkl`, or the legacy pickle magic — checked after the cheap
 * magics and before any name rule, since checkpoints go by .pt, .pth, .bin and .ckpt. Written as a
 * state dict unless `torch.object` says otherwise; string metadata has nowhere to go.
 */
export const pytorchFormat: TensorFormat<object, WithMetadata & { readonly torch?: WritePytorchOptions }> = {
  name: 'pytorch',
  extensions: ['.pt', '.pth', '.bin', '.ckpt'],
  detectors: [{
    by: 'content', precedence: 50, opaqueWhenUnsupported: true,
    detect: async ({ src }) => ((await detectPytorch(src)) !== undefined ? (s) => readPytorch(s) : undefined),
  }],
  writer: {
    name: 'pt',
    canHold: (dtype) => TORCH_STORAGE_CLASSES[dtype] !== undefined,
    output: { kind: 'file', write: (tensors, o) => writePytorch(tensors, o.torch ?? {}), steps: (tensors, o) => pytorchSteps(tensors, o.torch ?? {}) },
  },
};
