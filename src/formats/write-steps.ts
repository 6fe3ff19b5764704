/**
 * @module The one shape every streaming writer has: a generator of steps that yields bytes to
 * write, or the index of the tensor it needs next and receives that tensor's bytes back. The
 * same writer then serves both callers: {@link collectSteps} answers from tensors already in
 * memory (the byte-array writers), {@link streamSteps} loads each tensor only when the writer
 * reaches it, so a file of any size is written holding one tensor at a time.
 */
import { EngramError } from '../errors/index.ts';
import type { LazyNamedTensor } from '../tensor/index.ts';

/**
 * A tensor to stream into a file. Writers plan headers and offsets from `byteLength` alone; a
 * writer that keeps a load's bytes past the next load copies them.
 * @deprecated use LazyNamedTensor (tensor/)
 */
export type LazyTensorInput = LazyNamedTensor;

/** A tensor's description without its bytes: what a writer plans a file from. */
export type TensorMeta = Pick<LazyNamedTensor, 'name' | 'dtype' | 'shape' | 'byteLength'>;

/**
 * A writer's steps: a `Uint8Array` is the next bytes of the output; a number `i` asks for the
 * bytes of tensor `i`, which the driver passes back as the result of that `yield`.
 */
export type WriteSteps = Generator<Uint8Array | number, void, Uint8Array | undefined>;

/** The bytes a driver passed back for a tensor request, checked to be there. */
export function received(data: Uint8Array | undefined, index: number): Uint8Array {
  if (data === undefined) throw new EngramError('InvalidArgument', `the writer asked for tensor ${index} and got nothing`, { tensor: index });
  return data;
}

/**
 * Runs `steps` against tensors whose bytes are in memory and returns the output's pieces, in
 * order (tensor bytes are referenced, not copied).
 */
export function collectSteps(steps: WriteSteps, tensors: readonly { readonly data: Uint8Array }[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let answer: Uint8Array | undefined;
  for (;;) {
    const r = steps.next(answer);
    if (r.done) return pieces;
    answer = undefined;
    if (typeof r.value === 'number') answer = tensors[r.value]!.data;
    else pieces.push(r.value);
  }
}

/** `pieces` joined into one array. */
export function concatPieces(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(pieces.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Runs `steps`, loading tensor `i` from `tensors[i]` when asked, and yields the output's pieces
 * in order. A loaded tensor is dropped as soon as the writer has moved past it, so a consumer
 * that writes each piece before pulling the next holds one tensor at a time. Throws
 * `IntegrityMismatch` when a load returns other than the `byteLength` the file was planned with.
 */
export async function* streamSteps(steps: WriteSteps, tensors: readonly LazyNamedTensor[]): AsyncGenerator<Uint8Array> {
  let answer: Uint8Array | undefined;
  for (;;) {
    const r = steps.next(answer);
    answer = undefined;
    if (r.done) return;
    if (typeof r.value !== 'number') {
      yield r.value;
      continue;
    }
    const t = tensors[r.value]!;
    const data = await t.load();
    if (data.byteLength !== t.byteLength) {
      throw new EngramError('IntegrityMismatch', `tensor ${JSON.stringify(t.name)} loaded ${data.byteLength} bytes, not the ${t.byteLength} its header was written for`, {
        tensor: t.name, bytes: data.byteLength, expected: t.byteLength,
      });
    }
    answer = data;
  }
}
