/**
 * @module The h5wasm worker thread: walks an HDF5 file's groups and datasets within the limits it
 * is given, and writes files. Messages are typed in h5wasm-protocol.ts.
 *
 * Plain JavaScript on purpose: the worker is replaced after every abort of the HDF5 library, and
 * without the TypeScript loader it starts in ~150 ms instead of ~1.5 s on a loaded machine.
 *
 * h5wasm's Node build maps its file system straight onto the real one (NODERAWFS), so every file
 * it opens or writes is a temporary file in the private directory the host made for this worker
 * (and removes when the worker ends).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
// The HDF5 library prints its error stack to fd 2 (through fs.writeSync, NODERAWFS) or
// console.error: caught here, before h5wasm loads, so a malformed file never writes to the user's
// terminal, and the innermost reason can be returned with the error.
let diagnostics = '';
const keep = (text) => {
  diagnostics = (diagnostics + text).slice(-4096);
};
const writeSync = fs.writeSync;
fs.writeSync = ((fd, buffer, ...rest) => {
  if (fd !== 1 && fd !== 2) return writeSync(fd, buffer, ...rest);
  if (typeof buffer === 'string') {
    keep(buffer);
    return Buffer.byteLength(buffer);
  }
  const bytes = buffer;
  const offset = typeof rest[0] === 'number' ? rest[0] : 0;
  const length = typeof rest[1] === 'number' ? rest[1] : bytes.byteLength - offset;
  keep(Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString());
  return length;
});
console.error = (...args) => keep(args.join(' ') + '\n');
console.log = () => {};
console.warn = () => {};
/** The private directory for temporary files. */
const { dir } = workerData;
const { default: h5wasm, Attribute, Dataset, Group, dtype_to_metadata } = await import('h5wasm/node');
const Module = await h5wasm.ready;
const port = parentPort;
/** A bound of the request was reached: reported as such, not as a malformed file. */
class LimitError extends Error {}

// H5T_class_t values.
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_STRING = 3;
const H5T_ENUM = 8;
/** The stored type as the host needs it (Hdf5TypeInfo). */
function typeInfo(m) {
  const base = { typeClass: m.type, size: m.size, signed: m.signed, littleEndian: m.littleEndian };
  if (m.type === H5T_ENUM && m.enum_type) {
    return { ...base, enumMembers: { ...m.enum_type.members }, enumBaseSize: m.size };
  }
  return base;
}
/** An attribute value as plain JSON-able data (Hdf5AttrValue). */
function plain(v) {
  if (v === null || v === void 0) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v)) return Array.from(v, (x) => Number(x));
  if (Array.isArray(v)) return v.map((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? x : String(x));
  return String(v);
}
/** The attributes of the object at `path`, within the attribute byte budget. */
function readAttrs(fileId, path, budget) {
  const out = [];
  for (const name of Module.get_attribute_names(fileId, path)) {
    if (--budget.objects < 0) throw new LimitError('too many objects');
    const attr = new Attribute(fileId, path, name);
    const m = attr.metadata;
    // Kept only what engram can show: numbers and text; anything else is named with a null value.
    const simple = m.type === H5T_INTEGER || m.type === H5T_FLOAT || m.type === H5T_STRING || m.type === H5T_ENUM;
    const count = m.shape ? m.shape.reduce((a, b) => a * b, 1) : 1;
    // Variable-length strings are pointers in memory; each is counted as a generous 256 bytes of text.
    const bytes = count * (m.vlen ? 256 : m.size);
    if (!simple || bytes > budget.attr) {
      out.push({ name, value: null });
      continue;
    }
    budget.attr -= bytes;
    out.push({ name, value: plain(attr.value) });
  }
  return out;
}
/**
 * A dataset's elements, little-endian (the library converts big-endian ones), C order; or, when the
 * library fails to read them (a filter it lacks, such as blosc or bitshuffle, or a damaged chunk),
 * the reason. The status must be checked: h5wasm ignores it, and the buffer then holds whatever
 * the heap held before, which would otherwise pass for the dataset's values.
 */
function readData(fileId, path, nbytes) {
  if (nbytes === 0) return { data: new Uint8Array(0) };
  const ptr = Module._malloc(nbytes);
  if (!ptr) throw new LimitError(`cannot allocate ${nbytes} bytes`);
  try {
    diagnostics = '';
    const status = Module.get_dataset_data(fileId, path, null, null, null, BigInt(ptr));
    if (typeof status === 'number' && status < 0) return { readError: describe(new Error('cannot read the elements')) };
    return { data: Module.HEAPU8.slice(ptr, ptr + nbytes) };
  } finally {
    Module._free(ptr);
  }
}
/** Every group and dataset of `file` (Hdf5Tree), within `limits` (Hdf5ReadLimits). */
function walk(file, limits) {
  const groups = [];
  const datasets = [];
  const budget = { data: limits.maxDataBytes, attr: limits.maxAttrBytes, objects: limits.maxObjects };
  const fileId = file.file_id;
  const visit = (group, depth) => {
    if (depth > limits.maxDepth) throw new LimitError(`groups nested deeper than ${limits.maxDepth}`);
    if (--budget.objects < 0) throw new LimitError('too many objects');
    const children = group.keys();
    groups.push({ path: group.path.replace(/^\//, ''), attrs: readAttrs(fileId, group.path, budget), children });
    for (const name of children) {
      const child = group.get(name);
      if (child instanceof Group) visit(child, depth + 1);
      else if (child instanceof Dataset) {
        if (--budget.objects < 0) throw new LimitError('too many objects');
        const m = child.metadata;
        const type = typeInfo(m);
        const numeric = (m.type === H5T_INTEGER || m.type === H5T_FLOAT || m.type === H5T_ENUM) && !m.vlen;
        const shape = m.shape;
        const nbytes = shape ? m.size * shape.reduce((a, b) => a * b, 1) : 0;
        // Filters apply only to chunked storage; asking costs a trip through the library per dataset.
        const pipeline = m.chunks ? child.filters : [];
        const filters = pipeline.map((f) => f.id);
        const filterNames = pipeline.map((f) => String(f.name ?? ''));
        const attrs = readAttrs(fileId, child.path, budget);
        const info = { path: child.path.replace(/^\//, ''), type, shape, chunks: m.chunks, filters, filterNames, attrs };
        if (numeric && shape) {
          if (!Number.isSafeInteger(nbytes) || nbytes > budget.data) {
            throw new LimitError(`dataset ${child.path} holds ${nbytes} bytes, over the ${limits.maxDataBytes}-byte budget for this file`);
          }
          budget.data -= nbytes;
          datasets.push({ ...info, ...readData(fileId, child.path, nbytes) });
        } else {
          datasets.push(info);
        }
      }
      // Soft, external and broken links and named datatypes hold no tensors: skipped.
    }
  };
  visit(file, 0);
  return { groups, datasets };
}
let serial = 0;
/** Reads the file whose bytes are given, through a temporary file. */
function read(bytes, limits) {
  const path = join(dir, `in-${++serial}.h5`);
  Module.FS.writeFile(path, bytes);
  try {
    const file = new h5wasm.File(path, 'r');
    try {
      return walk(file, limits);
    } finally {
      file.close();
    }
  } finally {
    Module.FS.unlink(path);
  }
}
/**
 * Creates a contiguous dataset from raw little-endian bytes through the library's low-level call:
 * h5wasm's create_dataset converts through typed arrays, which engram's bytes need not be aligned for.
 */
function createDataset(fileId, path, dtype, shape, data) {
  const big = shape.map((n) => BigInt(n));
  const meta = { ...dtype_to_metadata(dtype), shape: big, maxshape: big, chunks: null, compression: 0, compression_opts: [], track_order: false };
  const ptr = Module._malloc(Math.max(1, data.byteLength));
  if (!ptr) throw new Error(`cannot allocate ${data.byteLength} bytes`);
  try {
    Module.HEAPU8.set(data, ptr);
    Module.create_dataset(fileId, path, BigInt(ptr), meta);
  } finally {
    Module._free(ptr);
  }
}
/** h5wasm's (data, dtype, shape) for an attribute value. */
function attrData(value) {
  if (typeof value === 'string') return { data: value, dtype: null, shape: null };
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    // Fixed-length byte strings, as h5py writes Keras's layer_names and weight_names.
    const width = Math.max(1, ...value.map((s) => Buffer.byteLength(s)));
    return { data: value, dtype: `S${width}`, shape: [value.length] };
  }
  if (Array.isArray(value)) return { data: Float64Array.from(value, Number), dtype: '<d', shape: [value.length] };
  if (typeof value === 'number') return { data: Float64Array.of(value), dtype: '<d', shape: [] };
  return { data: String(value), dtype: null, shape: null };
}
/** The bytes of the file an Hdf5WriteRequest describes. */
function write(req) {
  const path = join(dir, `out-${++serial}.h5`);
  try {
    const file = new h5wasm.File(path, 'w');
    try {
      // Groups come parents first; each is created once, then looked up here.
      const made = new Map([['', file]]);
      const groupAt = (p) => {
        let g = made.get(p);
        if (!g) {
          g = file.create_group(p);
          made.set(p, g);
        }
        return g;
      };
      for (const g of req.groups) {
        const group = groupAt(g.path);
        for (const a of g.attrs) {
          const { data, dtype, shape } = attrData(a.value);
          group.create_attribute(a.name, data, shape, dtype);
        }
      }
      for (const d of req.datasets) {
        const slash = d.path.lastIndexOf('/');
        if (slash >= 0) groupAt(d.path.slice(0, slash));
        createDataset(file.file_id, `/${d.path}`, d.dtype, d.shape, d.data);
        if (d.attrs && d.attrs.length > 0) {
          const ds = file.get(d.path);
          for (const a of d.attrs) {
            const { data, dtype, shape } = attrData(a.value);
            ds.create_attribute(a.name, data, shape, dtype);
          }
        }
      }
    } finally {
      file.close();
    }
    return Module.FS.readFile(path);
  } finally {
    try {
      Module.FS.unlink(path);
    } catch {
      // Never created: the library failed before it opened the file.
    }
  }
}
/** The error's message, with the HDF5 library's innermost diagnostic line when it printed one. */
function describe(e) {
  const message = e instanceof Error ? e.message : String(e);
  const lines = diagnostics.split('\n').map((l) => l.trim()).filter((l) => /^#\d+:/.test(l));
  const inner = lines.at(-1)?.replace(/^#\d+:\s*\S+\s+line \d+ in /, '');
  return inner && !message.includes(inner) ? `${message}: ${inner}` : message;
}
port.on('message', (req) => {
  diagnostics = '';
  let res;
  try {
    res = req.op === 'read' ? { id: req.id, ok: true, tree: read(req.bytes, req.limits) } : { id: req.id, ok: true, bytes: write(req.file) };
  } catch (e) {
    // An abort leaves the wasm instance unusable: the host replaces this worker.
    const fatal = e instanceof Error && e.name === 'RuntimeError' || /Aborted|unreachable|memory access out of bounds/i.test(describe(e));
    res = { id: req.id, ok: false, message: describe(e), limit: e instanceof LimitError, fatal };
  }
  port.postMessage(res);
});
port.postMessage({ ready: true });
