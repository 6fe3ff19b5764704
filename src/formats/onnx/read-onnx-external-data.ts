/**
 * @module Reads an ONNX external data file (e.g. `model.onnx.data`) as the tensors a sibling `.onnx`
 * model places in it. The model lists those tensors too (read from here): saved together, the data
 * file's segments name the model's tensors (`tensorsOf`), so each weight has one name and is stored
 * once, whereas opaque file bytes (content-defined chunks) would store them twice.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';
import { isEngramError } from '../../errors/index.ts';
import { openFileSource, type ByteSource } from '../byte-source.ts';
import { layoutFile, type TensorRange } from '../file-layout.ts';
import { fileTensor } from '../file-tensor.ts';
import type { IngestedFile, IngestedTensor } from '../ingested-file.ts';
import { readOnnx, type OnnxExternalRef } from './read-onnx.ts';

/** At most this many sibling models are parsed when looking for a data file's owner. */
export const ONNX_MAX_OWNER_CANDIDATES = 16;

/**
 * Reads `src` as external data of the `.onnx` models beside it on disk, or returns undefined when
 * none of them (at most {@link ONNX_MAX_OWNER_CANDIDATES}) refers to it, or their references
 * overlap or do not fit: the caller then keeps the file opaque. A model that fails to parse is
 * ignored here; it is reported when that model itself is read.
 */
export async function readOnnxExternalData(src: ByteSource): Promise<IngestedFile | undefined> {
  const dir = dirname(src.name);
  const self = basename(src.name);
  const models = await onnxModelsIn(dir);
  if (models === undefined) return undefined;
  const owners = models.filter((e) => e !== self).slice(0, ONNX_MAX_OWNER_CANDIDATES);
  const refs = new Map<string, OnnxExternalRef>();
  const referrers = new Set<string>();
  for (const owner of owners) {
    let model: ByteSource | undefined;
    try {
      model = await openFileSource(join(dir, owner));
      // Only the model's structure is read: a stub opener keeps it from opening this file again.
      const view: ByteSource = { name: src.name, size: src.size, read: (o, l) => src.read(o, l), close: async () => {} };
      const file = await readOnnx(model, { openExternal: async () => view });
      for (const r of file.external) {
        if (normalize(r.location) !== self) continue;
        referrers.add(owner);
        if (!refs.has(r.name)) refs.set(r.name, r);
      }
    } catch (e) {
      if (!isEngramError(e)) throw e;
    } finally {
      await model?.close();
    }
  }
  if (refs.size === 0) return undefined;
  const tensors: IngestedTensor[] = [];
  const ranges: TensorRange[] = [];
  for (const r of refs.values()) {
    if (r.offset + r.byteLength > src.size) return undefined;
    tensors.push(fileTensor(src, { name: r.name, dtype: r.dtype, shape: r.shape, byteLength: r.byteLength, offset: r.offset }));
    ranges.push({ start: r.offset, length: r.byteLength, tensor: r.name });
  }
  try {
    const { literal, segments } = await layoutFile(src, ranges);
    // One model refers to it (the usual case): its tensors are that model's, named once when both are saved.
    const tensorsOf = referrers.size === 1 ? [...referrers][0]! : undefined;
    return { format: 'onnx', size: src.size, tensors, literal, segments, ...(tensorsOf !== undefined ? { tensorsOf } : {}) };
  } catch (e) {
    if (isEngramError(e, 'FormatError')) return undefined; // overlapping ranges: keep it opaque
    throw e;
  }
}

/** How long a directory's list of models is reused: saving a directory asks once per unknown file. */
const LISTING_TTL_MS = 10_000;
const listings = new Map<string, { readonly at: number; readonly models: readonly string[] | undefined }>();

/**
 * The `.onnx` files in `dir`, sorted, or undefined when it cannot be listed. Cached briefly, so
 * saving a directory of N files that no reader recognises lists it once rather than N times.
 */
async function onnxModelsIn(dir: string): Promise<readonly string[] | undefined> {
  const now = Date.now();
  const hit = listings.get(dir);
  if (hit && now - hit.at < LISTING_TTL_MS) return hit.models;
  let models: string[] | undefined;
  try {
    models = (await readdir(dir)).filter((e) => e.toLowerCase().endsWith('.onnx')).sort();
  } catch {
    models = undefined;
  }
  if (listings.size > 256) listings.clear();
  listings.set(dir, { at: now, models });
  return models;
}
