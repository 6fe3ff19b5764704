/**
 * The layer test: reads every import in src/ (static, re-exports and dynamic `import()`) with the
 * TypeScript parser and fails on one that runs upward or sideways, or that reaches into another
 * folder past its index.ts. The rules and the table are in ./layer-rules.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ALLOWED, layerOf, violations, type ImportEdge } from './layer-rules.ts';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** The src/-relative path with '/' separators. */
const rel = (abs: string): string => relative(SRC, abs).split(sep).join('/');

/** Every relative import of every .ts/.js source under src/. */
function importGraph(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of readdirSync(SRC, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(ts|js)$/.test(file)) continue;
    const abs = join(SRC, file);
    const info = ts.preProcessFile(readFileSync(abs, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package (node:, npm): not a layer
      edges.push({ from: rel(abs), to: rel(resolve(dirname(abs), fileName)) });
    }
  }
  return edges;
}

test('no import in src/ runs upward or bypasses a folder\'s index.ts', () => {
  const edges = importGraph();
  assert.ok(edges.length > 500, `read only ${edges.length} imports`);
  const layers = new Set(edges.map((e) => layerOf(e.from)));
  for (const l of layers) if (l !== '') assert.ok(l in ALLOWED, `src/${l}/ has no row in the layer table (test/suite/layer-rules.ts)`);
  assert.deepEqual(violations(edges), []);
});

test('the check refuses a synthetic graph with one upward import and one bypass', () => {
  const legal: ImportEdge[] = [
    { from: 'cli/commands/save.ts', to: 'repo/index.ts' },
    { from: 'cli/commands/save.ts', to: 'cli/progress-bar.ts' },
    { from: 'repo/gc.ts', to: 'store/index.ts' },
    { from: 'formats/onnx/read-onnx.ts', to: 'formats/byte-source.ts' },
    { from: 'formats/pytorch/read-pytorch.ts', to: 'formats/pickle/index.ts' },
    { from: 'formats/index.ts', to: 'formats/onnx/index.ts' },
    { from: 'index.ts', to: 'train/index.ts' },
  ];
  assert.deepEqual(violations(legal), []);
  const bad: ImportEdge[] = [
    ...legal,
    { from: 'store/fs-store.ts', to: 'repo/index.ts' }, // upward
    { from: 'distributed/save-sharded.ts', to: 'repo/manifest.ts' }, // past repo/index.ts
    { from: 'formats/index.ts', to: 'formats/onnx/read-onnx.ts' }, // past a sub-folder's index.ts
    { from: 'formats/pytorch/x.ts', to: 'formats/pickle/unpickle.ts' }, // a sibling's internals
    { from: 'formats/read-npy.ts', to: 'codec/index.ts' }, // sideways
    { from: 'repo/x.ts', to: 'formats/onnx/index.ts' }, // another layer, not at its root (and sideways)
    { from: 'repo/open-store.ts', to: 's3.ts' }, // a package entry file
  ];
  assert.deepEqual(violations(bad), [
    'store/fs-store.ts -> repo/index.ts: store/ may not import repo/ (upward or sideways)',
    'distributed/save-sharded.ts -> repo/manifest.ts: bypasses repo/index.ts',
    'formats/index.ts -> formats/onnx/read-onnx.ts: bypasses formats/onnx/index.ts',
    'formats/pytorch/x.ts -> formats/pickle/unpickle.ts: bypasses formats/pickle/index.ts',
    'formats/read-npy.ts -> codec/index.ts: formats/ may not import codec/ (upward or sideways)',
    'repo/x.ts -> formats/onnx/index.ts: repo/ may not import formats/ (upward or sideways)',
    'repo/open-store.ts -> s3.ts: imports a package entry file (src/ root) from inside src/',
  ]);
});

test('a cross-layer import that is allowed must still go through the layer root\'s index.ts', () => {
  assert.deepEqual(violations([{ from: 'repo/x.ts', to: 'codec/rans.ts' }]), ['repo/x.ts -> codec/rans.ts: bypasses codec/index.ts']);
  assert.deepEqual(violations([{ from: 'cli/main.ts', to: 'integrations/tfjs/index.ts' }]), []);
  assert.deepEqual(violations([{ from: 'cli/main.ts', to: 'integrations/tfjs/save-model.ts' }]), ['cli/main.ts -> integrations/tfjs/save-model.ts: bypasses integrations/tfjs/index.ts']);
});
