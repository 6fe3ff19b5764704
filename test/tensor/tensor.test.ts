import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngramError } from '../../src/errors/index.ts';
import {
  bf16ToF32, byteswap, dtypeSize, f16ToF32, f32ToBf16, f32ToF16, floatToHalf, halfToFloat, isDType,
  numel, reorderFortran, Tensor, decodeSegmentBytes, encodeSegmentBytes,
} from '../../src/tensor/index.ts';

describe('dtypes and shapes', () => {
  test('element sizes and names', () => {
    assert.equal(dtypeSize('F64'), 8);
    assert.equal(dtypeSize('BF16'), 2);
    assert.equal(dtypeSize('BOOL'), 1);
    assert.equal(dtypeSize('opaque:Q4_K'), 1);
    assert.ok(isDType('F8_E4M3'));
    assert.ok(!isDType('float32'));
    assert.ok(!isDType('opaque:'));
  });
  test('numel of scalars, empties and unsafe shapes', () => {
    assert.equal(numel([]), 1);
    assert.equal(numel([3, 0, 5]), 0);
    assert.throws(() => numel([2 ** 40, 2 ** 20]), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => numel([-1]), (e) => isEngramError(e, 'InvalidArgument'));
    assert.throws(() => numel([1.5]), (e) => isEngramError(e, 'InvalidArgument'));
  });
  test('a Tensor is a zero-copy view and checks its length', () => {
    const values = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = Tensor.fromFloat32(values, [2, 3]);
    assert.equal(t.data.buffer, values.buffer);
    assert.equal(t.toFloat32().buffer, values.buffer);
    assert.throws(() => new Tensor('F32', [7], t.data), (e) => isEngramError(e, 'InvalidArgument'));
  });
});

describe('16-bit floats', () => {
  test('bf16 round trip is exact for bf16-representable values and rounds to nearest even', () => {
    const v = new Float32Array([0, -0, 1, -2.5, 65536, Infinity, -Infinity, 1.0078125, 2 ** 100, 2 ** -130]);
    assert.deepEqual(bf16ToF32(f32ToBf16(v)), v);
    // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to even (1).
    assert.equal(bf16ToF32(f32ToBf16(new Float32Array([1 + 2 ** -8])))[0], 1);
    assert.equal(bf16ToF32(f32ToBf16(new Float32Array([1 + 3 * 2 ** -8])))[0], 1 + 2 ** -6);
    assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(new Float32Array([NaN])))[0]));
  });
  test('f16 covers normals, subnormals, infinities and NaN', () => {
    for (let h = 0; h < 0x10000; h++) {
      const f = halfToFloat(h);
      if (Number.isNaN(f)) assert.ok(Number.isNaN(halfToFloat(floatToHalf(f))));
      else assert.equal(floatToHalf(f), h, `half 0x${h.toString(16)}`);
    }
    assert.equal(floatToHalf(65520), 0x7c00); // rounds up to infinity
    assert.equal(floatToHalf(2 ** -25), 0); // halfway to the smallest subnormal: ties to even (0)
    assert.equal(floatToHalf(3 * 2 ** -26), 1);
    assert.deepEqual(f16ToF32(f32ToF16(new Float32Array([0.5, -1, 2 ** -24]))), new Float32Array([0.5, -1, 2 ** -24]));
  });
});

describe('reordering', () => {
  test('byteswap reverses each element', () => {
    assert.deepEqual(byteswap(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 4), new Uint8Array([4, 3, 2, 1, 8, 7, 6, 5]));
  });
  test('Fortran ⇄ C order', () => {
    // A 2x3 matrix [[0,1,2],[3,4,5]] stored column-major is 0,3,1,4,2,5.
    const f = new Uint8Array([0, 3, 1, 4, 2, 5]);
    assert.deepEqual(reorderFortran(f, [2, 3], 1, true), new Uint8Array([0, 1, 2, 3, 4, 5]));
    assert.deepEqual(reorderFortran(new Uint8Array([0, 1, 2, 3, 4, 5]), [2, 3], 1, false), f);
    const c3 = new Uint8Array(Array.from({ length: 24 }, (_, i) => i));
    assert.deepEqual(reorderFortran(reorderFortran(c3, [2, 3, 4], 1, false), [2, 3, 4], 1, true), c3);
  });
  test('segment encodings invert', () => {
    const c = new Uint8Array(Array.from({ length: 24 }, (_, i) => i * 3));
    const enc = { order: 'F', byteOrder: 'big' } as const;
    const stored = encodeSegmentBytes(c, 'I16', [3, 4], enc);
    assert.notDeepEqual(stored, c);
    assert.deepEqual(decodeSegmentBytes(stored, 'I16', [3, 4], enc), c);
  });
});
