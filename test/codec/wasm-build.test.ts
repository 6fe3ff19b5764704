/**
 * The committed WebAssembly kernels are what their C sources build to: scripts/build-wasm.sh
 * (Debian's clang-16 and lld-16, which scripts/test.sh installs) rebuilds every kernel into a
 * scratch folder, and each module must equal the committed one byte for byte. A missing
 * toolchain fails this test: it is not skipped.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadKernel } from '../../src/codec/wasm/wasm-kernel.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WASM_DIR = join(ROOT, 'src/codec/wasm');

test('every committed kernel is byte for byte what scripts/build-wasm.sh builds from its C source', () => {
  const sources = readdirSync(WASM_DIR).filter((f) => f.endsWith('.c'));
  assert.ok(sources.length >= 1, 'no kernel sources found');
  const out = mkdtempSync(join(tmpdir(), 'engram-wasm-'));
  try {
    const r = spawnSync('bash', [join(ROOT, 'scripts/build-wasm.sh'), out], { encoding: 'utf8' });
    assert.equal(r.status, 0, `build-wasm.sh failed: ${r.stderr}`);
    for (const c of sources) {
      const name = c.replace(/\.c$/, '.wasm');
      const built = readFileSync(join(out, name));
      const committed = readFileSync(join(WASM_DIR, name));
      assert.ok(built.equals(committed), `${name}: the committed module differs from a rebuild of ${c}; run bash scripts/build-wasm.sh and commit`);
    }
    const committed = readdirSync(WASM_DIR).filter((f) => f.endsWith('.wasm'));
    assert.deepEqual(committed.sort(), sources.map((c) => c.replace(/\.c$/, '.wasm')).sort(), 'a committed .wasm has no C source');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a kernel loads, computes what the reference computes, and grows its scratch on demand', () => {
  const k = loadKernel('plane-histogram');
  assert.ok(k, 'this Node must run WebAssembly SIMD');
  const n = 3 * 65536 + 5; // past the module's initial memory, and not a multiple of 4
  const mem = k.reserve(n + 1024);
  const p = k.heapBase;
  const expected = new Uint32Array(256);
  for (let i = 0; i < n; i++) {
    const b = (i * 2654435761) >>> 24;
    mem[p + i] = b;
    expected[b]!++;
  }
  k.fn.plane_histogram!(p, n, p + n + (4 - ((p + n) % 4)));
  const at = p + n + (4 - ((p + n) % 4));
  assert.deepEqual(new Uint32Array(mem.buffer.slice(at, at + 1024)), expected);
});
