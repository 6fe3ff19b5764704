/**
 * @module Reads a PyTorch ≥ 1.6 checkpoint: a zip holding `<archive>/data.pkl` (the object, with
 * tensors as persistent ids naming storages), `<archive>/data/<key>` (each storage's raw
 * little-endian elements, stored uncompressed), `version`, and sometimes `byteorder`.
 */
import { formatError } from '../../errors/index.ts';
import { dtypeSize } from '../../tensor/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { layoutFile } from '../file-layout.ts';
import { inflateMember, MAX_INFLATED_BYTES } from '../inflate-member.ts';
import type { IngestedFile } from '../ingested-file.ts';
import { unpickle } from '../pickle/index.ts';
import { readZipDirectory, type ZipEntry } from '../zip-directory.ts';
import { flattenTorchObject } from './torch-object-tree.ts';
import { torchFileTensors, type StoragePlacement } from './torch-file-tensors.ts';
import { storageFromPid, torchPickleHooks, type StorageObject } from './torch-pickle-hooks.ts';

const DATA_PKL = /^(?:[^/]*\/)?data\.pkl$/;

/** The `data.pkl` member of a torch zip, or undefined when the zip is not one. */
export function findTorchPickle(entries: readonly ZipEntry[]): ZipEntry | undefined {
  return entries.find((e) => DATA_PKL.test(e.name));
}

async function memberBytes(src: ByteSource, entry: ZipEntry): Promise<Uint8Array> {
  if (entry.flags & 1) throw formatError(src.name, entry.localHeaderOffset, `unsupported encrypted member ${entry.name}`);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw formatError(src.name, entry.localHeaderOffset, `stored member ${entry.name} has different compressed and uncompressed sizes`);
    }
    return src.read(entry.dataOffset, entry.compressedSize);
  }
  if (entry.method === 8 && entry.uncompressedSize <= MAX_INFLATED_BYTES) return inflateMember(src, entry);
  throw formatError(src.name, entry.localHeaderOffset, `unsupported compression method ${entry.method} for member ${entry.name}`);
}

/**
 * Reads a torch zip checkpoint. The pickled object's tensors become tensors named by their
 * dotted path; the rest of it is JSON in `metadata['pytorch:object']`. A big-endian archive or a
 * compressed storage member is a FormatError whose reason starts with 'unsupported' (the caller
 * keeps such a file opaque); anything the unpickler refuses is `UnsafePickle`.
 *
 * @example const file = await readPytorchZip(await openFileSource('model.pt'));
 */
export async function readPytorchZip(src: ByteSource): Promise<IngestedFile> {
  const entries = await readZipDirectory(src);
  const pkl = findTorchPickle(entries);
  if (!pkl) throw formatError(src.name, 0, 'zip has no data.pkl member');
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const order = byName.get(`${prefix}byteorder`);
  if (order) {
    const text = new TextDecoder().decode(await memberBytes(src, order));
    if (text !== 'little') throw formatError(src.name, order.dataOffset, `unsupported byte order ${JSON.stringify(text.slice(0, 16))}`);
  }

  const known = new Map<string, StorageObject>();
  const hooks = torchPickleHooks(src.name, (pid, at) => storageFromPid(src.name, pid, at, known));
  const { value } = unpickle(await memberBytes(src, pkl), { file: src.name, offset: pkl.dataOffset }, hooks);
  const { tensors: named, json } = flattenTorchObject(src.name, value);

  const placements = new Map<string, StoragePlacement>();
  for (const [key, s] of known) {
    const entry = byName.get(`${prefix}data/${key}`);
    if (!entry) throw formatError(src.name, pkl.dataOffset, `storage ${key} has no member ${prefix}data/${key}`);
    if (entry.method !== 0 || entry.flags & 1) {
      throw formatError(src.name, entry.localHeaderOffset, `unsupported compressed or encrypted storage member ${entry.name}`);
    }
    const byteLength = s.value.numel * dtypeSize(s.value.dtype);
    // torch writes exactly numel elements; a shorter member would make views read past it.
    if (entry.compressedSize !== byteLength || entry.uncompressedSize !== byteLength) {
      throw formatError(src.name, entry.localHeaderOffset, `storage member ${entry.name} holds ${entry.compressedSize} bytes, its persistent id says ${s.value.numel} × ${s.value.dtype} = ${byteLength}`);
    }
    placements.set(key, { storage: s.value, offset: entry.dataOffset, byteLength });
  }
  const { tensors, ranges } = torchFileTensors(src, named, placements);
  const layout = await layoutFile(src, ranges);
  return { format: 'pytorch', size: src.size, tensors, ...layout, metadata: { 'pytorch:object': JSON.stringify(json) } };
}
