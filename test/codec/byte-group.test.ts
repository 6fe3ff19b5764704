import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupBytes, ungroupBytes } from '../../src/codec/index.ts';

/** The definition: plane k holds byte k of every element; a partial element's bytes follow as they are. */
function reference(data: Uint8Array, width: number): Uint8Array {
  const n = Math.floor(data.length / width);
  const out = new Uint8Array(data.length);
  for (let k = 0; k < width; k++) for (let i = 0; i < n; i++) out[k * n + i] = data[i * width + k]!;
  out.set(data.subarray(n * width), n * width);
  return out;
}

test('grouping matches its definition for every width, length and alignment, and ungrouping inverts it', () => {
  for (const width of [1, 2, 3, 4, 8]) {
    for (const length of [0, 1, 4, 8, 16, 64, 1000, 1024, 1027, 12288]) {
      for (const offset of [0, 1, 2, 4]) {
        const backing = new Uint8Array(length + 8);
        for (let i = 0; i < backing.length; i++) backing[i] = ((i * 2654435761 + 17) >>> 23) & 0xff;
        const data = backing.subarray(offset, offset + length);
        const grouped = groupBytes(data, width);
        assert.deepEqual(grouped, reference(data, width), `group width ${width} length ${length} offset ${offset}`);
        assert.deepEqual(ungroupBytes(grouped, width), data, `ungroup width ${width} length ${length} offset ${offset}`);
      }
    }
  }
});
