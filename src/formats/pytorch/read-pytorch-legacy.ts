/**
 * @module Reads a pre-1.6 PyTorch checkpoint (`_use_new_zipfile_serialization=False`): five
 * pickles in a row — the magic number, the protocol version (1001), sys_info, the object (storages
 * as persistent ids), the list of storage keys — then each storage in that order as an 8-byte
 * little-endian element count followed by its raw elements.
 */
import { formatError } from '../../errors/index.ts';
import { dtypeSize } from '../../tensor/index.ts';
import type { ByteSource } from '../byte-source.ts';
import { layoutFile } from '../file-layout.ts';
import type { IngestedFile } from '../ingested-file.ts';
import { PickleNeedsMore, PyDict, unpickle, type PyValue, type UnpickleHooks } from '../pickle/index.ts';
import { flattenTorchObject } from './torch-object-tree.ts';
import { torchFileTensors, type StoragePlacement } from './torch-file-tensors.ts';
import { storageFromPid, torchPickleHooks, type StorageObject } from './torch-pickle-hooks.ts';

/** torch.serialization.MAGIC_NUMBER. */
export const TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** How a legacy file starts: PROTO 2, LONG1 of 10 bytes, the magic number little-endian. */
export const TORCH_LEGACY_PREFIX = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const PROTOCOL_VERSION = 1001;

/** Unpickles the pickle at `offset`, reading a growing window of the file rather than all of it. */
async function unpickleAt(src: ByteSource, offset: number, hooks: UnpickleHooks): Promise<{ value: PyValue; end: number }> {
  let window = Math.min(src.size - offset, 1 << 16);
  for (;;) {
    const more = offset + window < src.size;
    try {
      const r = unpickle(await src.read(offset, window), { file: src.name, offset, more }, hooks);
      return { value: r.value, end: offset + r.end };
    } catch (e) {
      if (!(e instanceof PickleNeedsMore)) throw e;
      window = Math.min(src.size - offset, window * 4);
    }
  }
}

/**
 * Reads a legacy torch checkpoint; the result is shaped as `readPytorchZip`'s. Each storage's
 * elements are one tensor range and its 8-byte count stays literal.
 *
 * @example const file = await readPytorchLegacy(await openFileSource('old.pt'));
 */
export async function readPytorchLegacy(src: ByteSource): Promise<IngestedFile> {
  const file = src.name;
  const known = new Map<string, StorageObject>();
  const hooks = torchPickleHooks(file, (pid, at) => storageFromPid(file, pid, at, known));
  let at = 0;
  const next = async (): Promise<PyValue> => {
    if (at >= src.size) throw formatError(file, at, 'legacy checkpoint ends before its next pickle');
    const r = await unpickleAt(src, at, hooks);
    at = r.end;
    return r.value;
  };
  const magic = await next();
  if (magic !== TORCH_LEGACY_MAGIC) throw formatError(file, 0, 'not a legacy PyTorch checkpoint (bad magic number)');
  const version = await next();
  if (version !== PROTOCOL_VERSION) throw formatError(file, at, `unsupported legacy protocol version ${String(version)}`);
  const sysInfoAt = at;
  const sysInfo = await next();
  const little = sysInfo instanceof PyDict ? sysInfo.entries.find(([k]) => k === 'little_endian')?.[1] : undefined;
  if (little !== true) throw formatError(file, sysInfoAt, 'unsupported legacy checkpoint: not written little-endian');
  const objectAt = at;
  const root = await next();
  const keysAt = at;
  const keys = await next();
  if (!Array.isArray(keys) || !keys.every((k): k is string => typeof k === 'string')) {
    throw formatError(file, keysAt, 'storage key list is not a list of strings');
  }
  const { tensors: named, json } = flattenTorchObject(file, root);

  const placements = new Map<string, StoragePlacement>();
  for (const key of keys) {
    const s = known.get(key);
    if (!s) throw formatError(file, keysAt, `storage ${key} is listed but no tensor refers to it`);
    if (placements.has(key)) throw formatError(file, keysAt, `storage ${key} is listed twice`);
    const head = await src.read(at, 8);
    const count = new DataView(head.buffer, head.byteOffset, 8).getBigInt64(0, true);
    if (count !== BigInt(s.value.numel)) throw formatError(file, at, `storage ${key} holds ${count} elements, its persistent id says ${s.value.numel}`);
    const byteLength = s.value.numel * dtypeSize(s.value.dtype);
    if (at + 8 + byteLength > src.size) throw formatError(file, at, `storage ${key} of ${byteLength} bytes runs past the end of the file`);
    placements.set(key, { storage: s.value, offset: at + 8, byteLength });
    at += 8 + byteLength;
  }
  for (const key of known.keys()) {
    if (!placements.has(key)) throw formatError(file, objectAt, `storage ${key} is referred to but not in the storage list`);
  }
  const { tensors, ranges } = torchFileTensors(src, named, placements);
  const layout = await layoutFile(src, ranges);
  return { format: 'pytorch', size: src.size, tensors, ...layout, metadata: { 'pytorch:object': JSON.stringify(json) } };
}
