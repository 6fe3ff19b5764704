/** @module The codec's WebAssembly kernels: loading a module and lending out its scratch memory. */
export { align16, kernelsEnabled, loadKernel, type KernelFunction, type WasmKernel } from './wasm-kernel.ts';
export { bindKernel, reserveScratch, type KernelScratch } from './kernel-scratch.ts';
