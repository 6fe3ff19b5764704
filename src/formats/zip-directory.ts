/**
 * @module Reads a zip's central directory (with ZIP64) and locates each member's data, checking
 * every offset and size against the file before reading. Enough of zip for .npz; no dependency.
 */
import { formatError } from '../errors/index.ts';
import type { ByteSource } from './byte-source.ts';

/** One member of a zip, with its data located. */
export interface ZipEntry {
  readonly name: string;
  /** General-purpose flags (bit 0: encrypted; bit 3: data descriptor; bit 11: UTF-8 name). */
  readonly flags: number;
  /** Compression method: 0 stored, 8 deflated. */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  /** Offset of the member's (compressed) data, just after its local header. */
  readonly dataOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_SIZE = 22;
// The EOCD record is followed by a comment of at most 65535 bytes.
const MAX_EOCD_SEARCH = EOCD_SIZE + 0xffff;

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Finds the EOCD record in the file's tail: one that ends exactly at EOF if any, else the last. */
function findEocd(tail: Uint8Array): number {
  const v = viewOf(tail);
  let loose = -1;
  for (let i = tail.byteLength - EOCD_SIZE; i >= 0; i--) {
    if (v.getUint32(i, true) !== EOCD_SIG) continue;
    const end = i + EOCD_SIZE + v.getUint16(i + 20, true);
    if (end === tail.byteLength) return i;
    if (end <= tail.byteLength && loose < 0) loose = i;
  }
  return loose;
}

/**
 * Lists the members of the zip in `src`, in central-directory order. Throws a FormatError for a
 * missing or inconsistent directory or any record outside the file; a multi-disk zip is a
 * FormatError whose reason starts with 'unsupported'.
 */
export async function readZipDirectory(src: ByteSource): Promise<ZipEntry[]> {
  const file = src.name;
  const size = src.size;
  if (size < EOCD_SIZE) throw formatError(file, 0, 'file is too short to be a zip');
  // Most zips (numpy's included) have no archive comment: try the last 22 bytes before searching
  // the largest tail a comment allows.
  let tailStart = size - EOCD_SIZE;
  let tail = await src.read(tailStart, EOCD_SIZE);
  let rel = findEocd(tail);
  if (rel < 0) {
    tailStart = size - Math.min(size, MAX_EOCD_SEARCH);
    tail = await src.read(tailStart, size - tailStart);
    rel = findEocd(tail);
  }
  if (rel < 0) throw formatError(file, tailStart, 'no zip end-of-central-directory record');
  const eocdOffset = tailStart + rel;
  const eocd = viewOf(tail.subarray(rel, rel + EOCD_SIZE));
  if (eocd.getUint16(4, true) !== 0 || eocd.getUint16(6, true) !== 0) {
    throw formatError(file, eocdOffset, 'unsupported multi-disk zip');
  }
  let count = eocd.getUint16(10, true);
  let cdSize = eocd.getUint32(12, true);
  let cdOffset = eocd.getUint32(16, true);

  // ZIP64: a locator just before the EOCD points at a record with 64-bit counts and offsets.
  if (eocdOffset >= 20) {
    const loc = viewOf(await src.read(eocdOffset - 20, 20));
    if (loc.getUint32(0, true) === ZIP64_LOCATOR_SIG) {
      const recOffset = loc.getBigUint64(8, true);
      if (recOffset + 56n > BigInt(eocdOffset - 20)) {
        throw formatError(file, eocdOffset - 12, `ZIP64 end-of-central-directory record offset ${recOffset} lies outside the file`);
      }
      const rec = viewOf(await src.read(Number(recOffset), 56));
      if (rec.getUint32(0, true) !== ZIP64_EOCD_SIG) throw formatError(file, Number(recOffset), 'bad ZIP64 end-of-central-directory signature');
      const big = [rec.getBigUint64(32, true), rec.getBigUint64(40, true), rec.getBigUint64(48, true)];
      if (big.some((x) => x > BigInt(size))) throw formatError(file, Number(recOffset), 'ZIP64 directory fields exceed the file size');
      [count, cdSize, cdOffset] = big.map(Number) as [number, number, number];
    }
  }

  if (cdOffset + cdSize > size) {
    throw formatError(file, eocdOffset + 16, `central directory (${cdSize} bytes at ${cdOffset}) lies outside the ${size}-byte file`);
  }
  // Each central-directory record is at least 46 bytes, so the count is bounded by the size.
  if (count * 46 > cdSize) throw formatError(file, eocdOffset + 10, `central directory of ${cdSize} bytes cannot hold ${count} entries`);
  const cd = await src.read(cdOffset, cdSize);
  const v = viewOf(cd);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    const at = cdOffset + p;
    if (p + 46 > cdSize || v.getUint32(p, true) !== CENTRAL_SIG) throw formatError(file, at, `bad central directory record ${i}`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let compressedSize = v.getUint32(p + 20, true);
    let uncompressedSize = v.getUint32(p + 24, true);
    const nameLength = v.getUint16(p + 28, true);
    const extraLength = v.getUint16(p + 30, true);
    const commentLength = v.getUint16(p + 32, true);
    const disk = v.getUint16(p + 34, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > cdSize) throw formatError(file, at, `central directory record ${i} runs past the directory`);
    const name = new TextDecoder('utf-8').decode(cd.subarray(p + 46, p + 46 + nameLength));

    // The ZIP64 extra field holds, in this order, only the fields saturated in the record.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) throw formatError(file, cdOffset + e, `extra field of ${name} runs past its record`);
      if (id === 1) {
        let q = e + 4;
        // Compressed sizes and offsets must lie in the file; an uncompressed size may exceed it.
        const next = (bound: number): number => {
          if (q + 8 > e + 4 + len) throw formatError(file, cdOffset + q, `ZIP64 extra field of ${name} is too short`);
          const x = v.getBigUint64(q, true);
          q += 8;
          if (x > BigInt(bound)) throw formatError(file, cdOffset + q - 8, `ZIP64 size or offset ${x} of ${name} is out of range`);
          return Number(x);
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = next(Number.MAX_SAFE_INTEGER);
        if (compressedSize === 0xffffffff) compressedSize = next(size);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next(size);
      }
      e += 4 + len;
    }
    if (disk !== 0 && disk !== 0xffff) throw formatError(file, at, 'unsupported multi-disk zip');

    if (localHeaderOffset + 30 > size) throw formatError(file, at + 42, `local header of ${name} lies outside the file`);
    const local = viewOf(await src.read(localHeaderOffset, 30));
    if (local.getUint32(0, true) !== LOCAL_SIG) throw formatError(file, localHeaderOffset, `bad local header signature for ${name}`);
    const dataOffset = localHeaderOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    if (dataOffset + compressedSize > size) {
      throw formatError(file, localHeaderOffset, `data of ${name} (${compressedSize} bytes at ${dataOffset}) runs past the end of the file`);
    }
    entries.push({ name, flags, method, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset, dataOffset });
    p = end;
  }
  return entries;
}
