/**
 * @module Writes an uncompressed zip laid out as Python's zipfile does for `numpy.savez`
 * (ZIP_STORED, force_zip64): same records, versions, date and attributes, so an .npz written here
 * matches one numpy writes for the same member bytes.
 */
import { EngramError } from '../errors/index.ts';
import { crc32 } from './crc32.ts';
import { collectSteps, concatPieces, received, type WriteSteps } from './write-steps.ts';

/** One member to store. */
export interface ZipMember {
  readonly name: string;
  readonly data: Uint8Array;
}

// zipfile's defaults for a member opened for writing by name: 1980-01-01 00:00 (DOS date 0x21),
// made by Unix (3) with version 2.0, mode 0o600 in the external attributes.
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const VERSION = 20;
const EXTERNAL_ATTR = (0o600 << 16) >>> 0;
// numpy passes force_zip64=True, so each local header carries a ZIP64 extra field with both sizes.
const LOCAL_EXTRA = 20;

/**
 * One member to stream: `head` (bytes known up front, such as an .npy header) followed by the
 * bytes of tensor `tensor` (`tensorBytes` long) when it names one.
 */
export interface StoredZipStep {
  readonly name: string;
  readonly head: Uint8Array;
  readonly tensor?: number;
  readonly tensorBytes?: number;
}

/**
 * A stored zip of `members`, in order. Throws `Unsupported` past what a plain (non-ZIP64)
 * directory can address: 65535 members or 4 GiB.
 */
export function writeStoredZip(members: readonly ZipMember[]): Uint8Array {
  return concatPieces(collectSteps(storedZipSteps(members.map((m) => ({ name: m.name, head: m.data }))), []));
}

/**
 * {@link writeStoredZip} as steps (see write-steps.ts): sizes and offsets are planned from the
 * members' lengths, and each local header, which carries the CRC, is written once its member's
 * tensor is loaded — the one tensor in memory anyway — so no data descriptor is needed and the
 * bytes stay those of Python's zipfile.
 */
export function* storedZipSteps(members: readonly StoredZipStep[]): WriteSteps {
  const enc = new TextEncoder();
  const names = members.map((m) => enc.encode(m.name));
  const sizes = members.map((m) => m.head.byteLength + (m.tensor === undefined ? 0 : m.tensorBytes ?? 0));
  let localTotal = 0;
  let cdSize = 0;
  members.forEach((_, i) => {
    localTotal += 30 + names[i]!.byteLength + LOCAL_EXTRA + sizes[i]!;
    cdSize += 46 + names[i]!.byteLength;
  });
  const total = localTotal + cdSize + 22;
  if (members.length > 0xffff || total > 0xffffffff) {
    throw new EngramError('Unsupported', `a zip of ${members.length} members and ${total} bytes needs ZIP64 directory records, which engram does not write`, {
      members: members.length, bytes: total,
    });
  }
  const offsets: number[] = [];
  const crcs: number[] = [];
  let p = 0;
  for (const [i, m] of members.entries()) {
    const name = names[i]!;
    const size = sizes[i]!;
    const data = m.tensor === undefined ? undefined : received(yield m.tensor, m.tensor);
    // Python sets the UTF-8 flag only for names that are not plain ASCII.
    const flags = name.byteLength !== m.name.length ? 0x800 : 0;
    const crc = data === undefined ? crc32(m.head) : crc32(data, crc32(m.head));
    offsets.push(p);
    crcs.push(crc);
    const local = new Uint8Array(30 + name.byteLength + LOCAL_EXTRA);
    const v = new DataView(local.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, VERSION, true);
    v.setUint16(6, flags, true);
    v.setUint16(8, 0, true);
    v.setUint16(10, 0, true);
    v.setUint16(12, DOS_DATE, true);
    v.setUint32(14, crc, true);
    v.setUint32(18, size, true);
    v.setUint32(22, size, true);
    v.setUint16(26, name.byteLength, true);
    v.setUint16(28, LOCAL_EXTRA, true);
    local.set(name, 30);
    const x = 30 + name.byteLength;
    v.setUint16(x, 1, true);
    v.setUint16(x + 2, 16, true);
    v.setBigUint64(x + 4, BigInt(size), true);
    v.setBigUint64(x + 12, BigInt(size), true);
    yield local;
    yield m.head;
    if (data !== undefined) yield data;
    p += local.byteLength + size;
  }
  const cdOffset = p;
  const tail = new Uint8Array(cdSize + 22);
  const v = new DataView(tail.buffer);
  p = 0;
  members.forEach((m, i) => {
    const name = names[i]!;
    v.setUint32(p, 0x02014b50, true);
    v.setUint8(p + 4, VERSION);
    v.setUint8(p + 5, 3);
    v.setUint16(p + 6, VERSION, true);
    v.setUint16(p + 8, name.byteLength !== m.name.length ? 0x800 : 0, true);
    v.setUint16(p + 10, 0, true);
    v.setUint16(p + 12, 0, true);
    v.setUint16(p + 14, DOS_DATE, true);
    v.setUint32(p + 16, crcs[i]!, true);
    v.setUint32(p + 20, sizes[i]!, true);
    v.setUint32(p + 24, sizes[i]!, true);
    v.setUint16(p + 28, name.byteLength, true);
    // extra, comment, disk, internal attributes: zero (the buffer already is).
    v.setUint32(p + 38, EXTERNAL_ATTR, true);
    v.setUint32(p + 42, offsets[i]!, true);
    tail.set(name, p + 46);
    p += 46 + name.byteLength;
  });
  v.setUint32(p, 0x06054b50, true);
  v.setUint16(p + 8, members.length, true);
  v.setUint16(p + 10, members.length, true);
  v.setUint32(p + 12, cdSize, true);
  v.setUint32(p + 16, cdOffset, true);
  yield tail;
}
