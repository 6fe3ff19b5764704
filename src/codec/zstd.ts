/**
 * @module zstd through `@mongodb-js/zstd` (prebuilt per platform, no install script; runs on libuv's
 * thread pool so chunks compress in parallel). docs/ARCHITECTURE.md records why this binding.
 */
type Binding = typeof import('@mongodb-js/zstd');
let binding: Promise<Binding> | undefined;

// Loaded on first use: the native binding costs ~60 ms to load, which commands that never code a
// chunk (`engram log`, `tag`, `--help`) should not pay.
function zstd(): Promise<Binding> {
  return (binding ??= import('@mongodb-js/zstd'));
}

/**
 * Starts loading the binding now. Loading it asks Node for a process report (to tell glibc from
 * musl), which waits on every thread of the process: done while the codec workers are still idle,
 * it costs nothing; done mid-save, it stalled the main thread for 40–160 ms.
 */
export function preloadZstd(): void {
  void zstd().catch(() => undefined);
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A plain Uint8Array view of a Buffer, so callers never see Buffer's different semantics. */
function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Compresses `data` at `level`. */
export async function zstdCompress(data: Uint8Array, level: number): Promise<Uint8Array> {
  return asBytes(await (await zstd()).compress(asBuffer(data), level));
}

/** Decompresses one zstd frame. */
export async function zstdDecompress(data: Uint8Array): Promise<Uint8Array> {
  return asBytes(await (await zstd()).decompress(asBuffer(data)));
}

/**
 * The content size a zstd frame header declares, undefined if it declares none, or null when the
 * bytes are not a well-formed frame header. Checked before decompressing so that a corrupted header
 * cannot make the decoder allocate more than the chunk may hold.
 */
export function zstdFrameContentSize(frame: Uint8Array): number | undefined | null {
  if (frame.byteLength < 6) return null;
  if (frame[0] !== 0x28 || frame[1] !== 0xb5 || frame[2] !== 0x2f || frame[3] !== 0xfd) return null;
  const fhd = frame[4]!;
  const fcsFlag = fhd >>> 6;
  const single = (fhd >>> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  const pos = 5 + (single ? 0 : 1) + dictBytes;
  if (pos + fcsBytes > frame.byteLength) return null;
  const v = new DataView(frame.buffer, frame.byteOffset + pos, fcsBytes);
  switch (fcsBytes) {
    case 0: return undefined;
    case 1: return v.getUint8(0);
    case 2: return v.getUint16(0, true) + 256;
    case 4: return v.getUint32(0, true);
    default: {
      const n = v.getBigUint64(0, true);
      return n > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(n);
    }
  }
}
