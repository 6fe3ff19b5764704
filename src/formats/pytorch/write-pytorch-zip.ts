/**
 * @module Lays out a torch zip archive the way PyTorch's `PyTorchStreamWriter` (miniz) does:
 * stored records under `<archive>/`, each local header followed by an `FB` extra field of `Z`
 * padding so that every record's data starts on a 64-byte boundary (torch memory-maps storages),
 * a data descriptor after the data, a central directory, and the ZIP64 end records that torch
 * always writes. Matching it byte for byte lets a test compare against `torch.save` directly.
 */
import { EngramError } from '../../errors/index.ts';
import { crc32 } from '../crc32.ts';
import { collectSteps, received, type WriteSteps } from '../write-steps.ts';

/**
 * One record of the archive: a name below `<archive>/` and its bytes, given (`data`) or the
 * bytes of tensor `tensor`, `size` long, asked for when the writer reaches the record.
 */
export type TorchZipRecord =
  | { readonly name: string; readonly data: Uint8Array }
  | { readonly name: string; readonly tensor: number; readonly size: number };

/** torch's `kFieldAlignment`. */
export const TORCH_ZIP_ALIGNMENT = 64;

const LOCAL_HEADER = 30;
const DESCRIPTOR = 16;
const CENTRAL_HEADER = 46;
const ZIP64_EOCD = 56;
const ZIP64_LOCATOR = 20;
const EOCD = 22;
// General-purpose flags miniz sets: bit 11 (UTF-8 names) and, for a record with data, bit 3
// (sizes in a data descriptor after it). An empty record has no descriptor.
const UTF8 = 0x0800;
const DESCRIPTOR_FLAG = 0x0008;
const U32_MAX = 0xffffffff;

/**
 * The pieces of a torch zip holding `records` in order, as a list of byte arrays (record data
 * is referenced, not copied). Throws `Unsupported` for an archive needing ZIP64 per-record sizes
 * or offsets (4 GiB or more), which engram does not write.
 */
export function torchZipPieces(archive: string, records: readonly { readonly name: string; readonly data: Uint8Array }[]): Uint8Array[] {
  return collectSteps(torchZipSteps(archive, records), []);
}

/**
 * {@link torchZipPieces} as steps (see write-steps.ts). Each record's CRC and sizes go in the data
 * descriptor after its bytes, as torch writes them, so a record is streamed in one pass.
 */
export function* torchZipSteps(archive: string, records: readonly TorchZipRecord[]): WriteSteps {
  const enc = new TextEncoder();
  const names = records.map((r) => enc.encode(`${archive}/${r.name}`));
  const sizes = records.map((r) => ('data' in r ? r.data.byteLength : r.size));
  // torch's getPadding: data starts after the header, the name and the 4-byte FB field header.
  const padAt = (cursor: number, name: Uint8Array): number => (TORCH_ZIP_ALIGNMENT - ((cursor + LOCAL_HEADER + name.byteLength + 4) % TORCH_ZIP_ALIGNMENT)) % TORCH_ZIP_ALIGNMENT;
  // Every size and offset from the records' lengths first, so an archive too large for plain
  // records fails before its first byte is written.
  let end = 0;
  for (const [i, r] of records.entries()) {
    const size = sizes[i]!;
    if (size >= U32_MAX || end >= U32_MAX) {
      throw new EngramError('Unsupported', `a torch archive with a record of ${size} bytes at offset ${end} needs ZIP64 records, which engram does not write`, {
        record: r.name, bytes: size, offset: end,
      });
    }
    end += LOCAL_HEADER + names[i]!.byteLength + 4 + padAt(end, names[i]!) + size + (size > 0 ? DESCRIPTOR : 0);
  }
  const cdBytes = names.reduce((s, n) => s + CENTRAL_HEADER + n.byteLength, 0);
  if (end + cdBytes >= U32_MAX) {
    throw new EngramError('Unsupported', `a torch archive of ${end + cdBytes} bytes needs ZIP64 records, which engram does not write`, { bytes: end + cdBytes });
  }
  const central: { name: Uint8Array; crc: number; size: number; offset: number; flags: number }[] = [];
  let cursor = 0;
  for (const [i, r] of records.entries()) {
    const name = names[i]!;
    const size = sizes[i]!;
    const pad = padAt(cursor, name);
    const head = new Uint8Array(LOCAL_HEADER + name.byteLength + 4 + pad);
    const v = new DataView(head.buffer);
    v.setUint32(0, 0x04034b50, true);
    const flags = size > 0 ? UTF8 | DESCRIPTOR_FLAG : UTF8;
    v.setUint16(6, flags, true);
    // version, method, time, date, crc and sizes stay zero: the data descriptor carries them.
    v.setUint16(26, name.byteLength, true);
    v.setUint16(28, 4 + pad, true);
    head.set(name, LOCAL_HEADER);
    const extra = LOCAL_HEADER + name.byteLength;
    head[extra] = 0x46; // 'F'
    head[extra + 1] = 0x42; // 'B'
    v.setUint16(extra + 2, pad, true);
    head.fill(0x5a, extra + 4); // 'Z'
    yield head;
    const data = 'data' in r ? r.data : received(yield r.tensor, r.tensor);
    const crc = crc32(data);
    const desc = new Uint8Array(size > 0 ? DESCRIPTOR : 0);
    const d = new DataView(desc.buffer);
    if (size > 0) {
      d.setUint32(0, 0x08074b50, true);
      d.setUint32(4, crc, true);
      d.setUint32(8, size, true);
      d.setUint32(12, size, true);
    }
    yield data;
    if (desc.byteLength > 0) yield desc;
    central.push({ name, crc, size, offset: cursor, flags });
    cursor += head.byteLength + size + desc.byteLength;
  }
  const cdOffset = cursor;
  const cdSize = cdBytes;
  const tail = new Uint8Array(cdSize + ZIP64_EOCD + ZIP64_LOCATOR + EOCD);
  const v = new DataView(tail.buffer);
  let p = 0;
  for (const c of central) {
    v.setUint32(p, 0x02014b50, true);
    // made-by and version-needed are zero, as miniz leaves them for these records.
    v.setUint16(p + 8, c.flags, true);
    v.setUint32(p + 16, c.crc, true);
    v.setUint32(p + 20, c.size, true);
    v.setUint32(p + 24, c.size, true);
    v.setUint16(p + 28, c.name.byteLength, true);
    v.setUint32(p + 42, c.offset, true);
    tail.set(c.name, p + CENTRAL_HEADER);
    p += CENTRAL_HEADER + c.name.byteLength;
  }
  const zip64At = cdOffset + cdSize;
  v.setUint32(p, 0x06064b50, true);
  v.setBigUint64(p + 4, BigInt(ZIP64_EOCD - 12), true);
  v.setUint16(p + 12, 0x031e, true); // made by: Unix, spec 3.0 (miniz)
  v.setUint16(p + 14, 0x002d, true); // needed: 4.5 (ZIP64)
  v.setBigUint64(p + 24, BigInt(central.length), true);
  v.setBigUint64(p + 32, BigInt(central.length), true);
  v.setBigUint64(p + 40, BigInt(cdSize), true);
  v.setBigUint64(p + 48, BigInt(cdOffset), true);
  p += ZIP64_EOCD;
  v.setUint32(p, 0x07064b50, true);
  v.setBigUint64(p + 8, BigInt(zip64At), true);
  v.setUint32(p + 16, 1, true);
  p += ZIP64_LOCATOR;
  v.setUint32(p, 0x06054b50, true);
  v.setUint16(p + 8, Math.min(central.length, 0xffff), true);
  v.setUint16(p + 10, Math.min(central.length, 0xffff), true);
  v.setUint32(p + 12, cdSize, true);
  v.setUint32(p + 16, cdOffset, true);
  yield tail;
}
