/**
 * What engram writes as .npy and .npz, NumPy itself reads: Debian's python3-numpy (through
 * /usr/bin/python3, which scripts/test.sh provides) loads every dtype engram can write to those
 * formats, 0-d and empty arrays included, with the same dtype, shape and C-order element bytes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeNpy, writeNpz } from '../../src/formats/index.ts';
import { byteLengthOf, type DType } from '../../src/tensor/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { prng } from '../helpers/fuzz.ts';

const PYTHON = '/usr/bin/python3';
const NUMPY_NAMES: Record<string, string> = {
  F16: 'float16', F32: 'float32', F64: 'float64', I8: 'int8', I16: 'int16', I32: 'int32', I64: 'int64',
  U8: 'uint8', U16: 'uint16', U32: 'uint32', U64: 'uint64', BOOL: 'bool',
};

// For each file: every array's dtype, shape and the SHA-256 of its C-order bytes, as NumPy sees them.
const LOAD = `
import hashlib, json, sys
import numpy as np
out = {}
for path in sys.argv[1:]:
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    else:
        arrays = {'': np.load(path, allow_pickle=False)}
    out[path] = {k: {'dtype': str(a.dtype), 'shape': list(a.shape),
                     'sha256': hashlib.sha256(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder('<')).tobytes()).hexdigest()}
                 for k, a in arrays.items()}
print(json.dumps(out))
`;

interface Loaded { dtype: string; shape: number[]; sha256: string }

function numpyLoad(paths: readonly string[]): Record<string, Record<string, Loaded>> {
  const r = spawnSync(PYTHON, ['-c', LOAD, ...paths], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error || (r.status !== 0 && /No module named 'numpy'/.test(r.stderr))) {
    assert.fail(`this test needs Debian's numpy for ${PYTHON}: apt-get install -y --no-install-recommends python3-numpy (${r.error?.message ?? r.stderr.trim()})`);
  }
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, Record<string, Loaded>>;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function tensor(dtype: DType, shape: number[], seed: number): { name: string; dtype: DType; shape: number[]; data: Uint8Array } {
  const rand = prng(seed);
  const data = new Uint8Array(byteLengthOf(dtype, shape));
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * (dtype === 'BOOL' ? 2 : 256));
  if (dtype === 'F16' || dtype === 'F32' || dtype === 'F64') {
    // Keep the floats finite and NaN-free so that the comparison is about layout, not NaN payloads.
    const width = dtype === 'F16' ? 2 : dtype === 'F32' ? 4 : 8;
    for (let i = width - 1; i < data.length; i += width) data[i] = data[i]! & 0x3f;
  }
  return { name: `${dtype.toLowerCase()}_${shape.join('x') || 'scalar'}`, dtype, shape, data };
}

test('numpy loads every dtype engram writes to .npy and .npz, 0-d and empty included, element for element', async () => {
  const dir = await tempDir();
  const tensors = Object.keys(NUMPY_NAMES).flatMap((d, i) => [
    tensor(d as DType, [3, 5, 2], 100 + i),
    tensor(d as DType, [], 200 + i),
    tensor(d as DType, [0, 4], 300 + i),
  ]);
  const npz = join(dir, 'all.npz');
  await writeFile(npz, writeNpz(tensors));
  const npys = await Promise.all(tensors.map(async (t) => {
    const p = join(dir, `${t.name}.npy`);
    await writeFile(p, writeNpy(t));
    return p;
  }));
  const seen = numpyLoad([npz, ...npys]);
  for (const [i, t] of tensors.entries()) {
    const want = { dtype: NUMPY_NAMES[t.dtype], shape: t.shape, sha256: sha(t.data) };
    assert.deepEqual(seen[npz]![t.name], want, `${t.name} in the .npz`);
    assert.deepEqual(seen[npys[i]!]![''], want, `${t.name}.npy`);
  }
});
