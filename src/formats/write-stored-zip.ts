/**
 * @module Writes an uncompressed zip laid out as Python's zipfile does for `numpy.savez`
 * (ZIP_STORED, force_zip64): same records, versions, date and attributes, so an .npz written here
 * matches one numpy writes for the same member bytes.
 */
import { EngramError } from '../errors/index.ts';
import { crc32 } from './crc32.ts';

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
 * A stored zip of `members`, in order. Throws `Unsupported` past what a plain (non-ZIP64)
 * directory can address: 65535 members or 4 GiB.
 */
export function writeStoredZip(members: readonly ZipMember[]): Uint8Array {
  const enc = new TextEncoder();
  const names = members.map((m) => enc.encode(m.name));
  let localTotal = 0;
  let cdSize = 0;
  members.forEach((m, i) => {
    localTotal += 30 + names[i]!.byteLength + LOCAL_EXTRA + m.data.byteLength;
    cdSize += 46 + names[i]!.byteLength;
  });
  const total = localTotal + cdSize + 22;
  if (members.length > 0xffff || total > 0xffffffff) {
    throw new EngramError('Unsupported', `a zip of ${members.length} members and ${total} bytes needs ZIP64 directory records, which engram does not write`, {
      members: members.length, bytes: total,
    });
  }
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const offsets: number[] = [];
  const crcs: number[] = [];
  let p = 0;
  members.forEach((m, i) => {
    const name = names[i]!;
    // Python sets the UTF-8 flag only for names that are not plain ASCII.
    const flags = name.byteLength !== m.name.length ? 0x800 : 0;
    const crc = crc32(m.data);
    offsets.push(p);
    crcs.push(crc);
    v.setUint32(p, 0x04034b50, true);
    v.setUint16(p + 4, VERSION, true);
    v.setUint16(p + 6, flags, true);
    v.setUint16(p + 8, 0, true);
    v.setUint16(p + 10, 0, true);
    v.setUint16(p + 12, DOS_DATE, true);
    v.setUint32(p + 14, crc, true);
    v.setUint32(p + 18, m.data.byteLength, true);
    v.setUint32(p + 22, m.data.byteLength, true);
    v.setUint16(p + 26, name.byteLength, true);
    v.setUint16(p + 28, LOCAL_EXTRA, true);
    out.set(name, p + 30);
    p += 30 + name.byteLength;
    v.setUint16(p, 1, true);
    v.setUint16(p + 2, 16, true);
    v.setBigUint64(p + 4, BigInt(m.data.byteLength), true);
    v.setBigUint64(p + 12, BigInt(m.data.byteLength), true);
    p += LOCAL_EXTRA;
    out.set(m.data, p);
    p += m.data.byteLength;
  });
  const cdOffset = p;
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
    v.setUint32(p + 20, m.data.byteLength, true);
    v.setUint32(p + 24, m.data.byteLength, true);
    v.setUint16(p + 28, name.byteLength, true);
    // extra, comment, disk, internal attributes: zero (the buffer already is).
    v.setUint32(p + 38, EXTERNAL_ATTR, true);
    v.setUint32(p + 42, offsets[i]!, true);
    out.set(name, p + 46);
    p += 46 + name.byteLength;
  });
  v.setUint32(p, 0x06054b50, true);
  v.setUint16(p + 8, members.length, true);
  v.setUint16(p + 10, members.length, true);
  v.setUint32(p + 12, cdSize, true);
  v.setUint32(p + 16, cdOffset, true);
  return out;
}
