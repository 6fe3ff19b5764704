/**
 * @module The mapping between TF.js weight dtypes and engram dtypes, and the byte views between
 * TF.js tensors and engram tensor bytes.
 */
import { endianness } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { EngramError } from '../../errors/index.ts';
import { byteLengthOf, type DType, type TensorData as PlainTensor } from '../../tensor/index.ts';

/** The TF.js dtypes a weight can be stored as. */
export type TfjsWeightDType = 'float32' | 'int32' | 'bool';

const TO_ENGRAM: Readonly<Record<TfjsWeightDType, DType>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

/** @deprecated use `TensorData` from engram's core (tensor/): the same type, declared once. */
export type TensorData = PlainTensor;

/**
 * The engram dtype of a TF.js weight dtype. `string` and `complex64` weights are `Unsupported`:
 * TF.js encodes strings with length prefixes and no layers weight uses either.
 */
export function engramDType(dtype: string, weight: string): DType {
  if (!Object.hasOwn(TO_ENGRAM, dtype)) {
    throw new EngramError('Unsupported', `weight ${weight} has dtype ${dtype}; engram/tfjs stores float32, int32 and bool weights`, { weight, dtype });
  }
  return TO_ENGRAM[dtype as TfjsWeightDType];
}

/** The TF.js dtype of an engram dtype (the inverse of {@link engramDType}). */
export function tfjsDType(dtype: DType, name: string): TfjsWeightDType {
  const hit = (Object.keys(TO_ENGRAM) as TfjsWeightDType[]).find((k) => TO_ENGRAM[k] === dtype);
  if (!hit) throw new EngramError('Unsupported', `tensor ${name} is ${dtype}; a TF.js weight must be F32, I32 or BOOL`, { tensor: name, dtype });
  return hit;
}

/**
 * Bytes of a TF.js tensor. TF.js typed arrays are in the platform's byte order and engram's bytes
 * are little-endian, so a big-endian host is refused rather than silently byte-swapped wrong.
 */
export async function tensorBytes(t: tf.Tensor, name: string): Promise<PlainTensor> {
  checkLittleEndian();
  // On backends that hold tensors in main memory a synchronous read is the same read without a
  // promise per tensor (a checkpoint captures dozens, every few training steps); elsewhere (WebGL,
  // WebGPU) a synchronous read would stall the device pipeline. Every backend's read is a fresh copy
  // except the cpu backend's, which hands out its own storage: that is copied here, so the bytes
  // returned are always the caller's alone, as captureTrainingState promises.
  const backend = tf.getBackend();
  const read = readsInMemory(backend) ? t.dataSync() : await t.data();
  const values = backend === 'cpu' ? read.slice() : read;
  if (!(values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array)) {
    throw new EngramError('Unsupported', `weight ${name} has dtype ${t.dtype}; engram/tfjs stores float32, int32 and bool weights`, { weight: name, dtype: t.dtype });
  }
  return { dtype: engramDType(t.dtype, name), shape: [...t.shape], data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** Whether the active TF.js backend keeps tensors in main memory (reading one never waits for a device). */
export function readsInMemory(backend: string = tf.getBackend()): boolean {
  return backend === 'wasm' || backend === 'cpu' || backend === 'tensorflow';
}

/** A new TF.js tensor holding a copy of `t`'s bytes; the caller disposes it. */
export function toTfTensor(t: PlainTensor, name: string): tf.Tensor {
  checkLittleEndian();
  const dtype = tfjsDType(t.dtype, name);
  const want = byteLengthOf(t.dtype, t.shape);
  if (t.data.byteLength !== want) {
    throw new EngramError('InvalidArgument', `tensor ${name} of ${t.dtype}[${t.shape.join(', ')}] needs ${want} bytes, got ${t.data.byteLength}`, { tensor: name });
  }
  // slice(): a copy that is aligned for the typed-array view, whatever the source's offset.
  const bytes = t.data.slice();
  const values = dtype === 'float32' ? new Float32Array(bytes.buffer) : dtype === 'int32' ? new Int32Array(bytes.buffer) : bytes;
  return tf.tensor(values, [...t.shape], dtype);
}

function checkLittleEndian(): void {
  if (endianness() !== 'LE') throw new EngramError('Unsupported', 'engram/tfjs needs a little-endian host: TF.js weights are in host byte order');
}
