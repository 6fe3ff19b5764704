// Byte grouping (codec/byte-group.ts): plane k of the output holds byte k of every element, a tail
// shorter than one element follows the planes unchanged. Widths 2, 4 and 8 move 16 elements per
// step with SIMD shuffles; other widths use a scalar loop. The *_range forms take the distance
// between planes separately so that codec/delta-transform's fused kernels (delta.c includes this
// file) can group one block at a time. Also carries plane-histogram.c, so that the statistics of
// freshly grouped planes are taken while they are in this module's memory (block_stats).
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>
#include "plane-histogram.c"

#define LOAD(p) wasm_v128_load(p)
#define STORE(p, v) wasm_v128_store(p, v)

// Groups `count` elements of `width` bytes from src into dst[k * stride + i].
static void group_range(const uint8_t *src, uint8_t *dst, size_t count, size_t width, size_t stride) {
  size_t i = 0;
  if (width == 2) {
    for (; i + 16 <= count; i += 16) {
      v128_t a = LOAD(src + 2 * i), b = LOAD(src + 2 * i + 16);
      STORE(dst + i, wasm_i8x16_shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
      STORE(dst + stride + i, wasm_i8x16_shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));
    }
  } else if (width == 4) {
    for (; i + 16 <= count; i += 16) {
      const uint8_t *s = src + 4 * i;
      // Within each vector, a 4x4 byte transpose: 32-bit lane k holds byte k of its 4 elements.
      v128_t a = wasm_i8x16_swizzle(LOAD(s), wasm_i8x16_make(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
      v128_t b = wasm_i8x16_swizzle(LOAD(s + 16), wasm_i8x16_make(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
      v128_t c = wasm_i8x16_swizzle(LOAD(s + 32), wasm_i8x16_make(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
      v128_t d = wasm_i8x16_swizzle(LOAD(s + 48), wasm_i8x16_make(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
      // Then a 4x4 transpose of the 32-bit lanes across the four vectors.
      v128_t ab0 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab1 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
      v128_t cd0 = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), cd1 = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
      STORE(dst + i, wasm_i64x2_shuffle(ab0, cd0, 0, 2));
      STORE(dst + stride + i, wasm_i64x2_shuffle(ab0, cd0, 1, 3));
      STORE(dst + 2 * stride + i, wasm_i64x2_shuffle(ab1, cd1, 0, 2));
      STORE(dst + 3 * stride + i, wasm_i64x2_shuffle(ab1, cd1, 1, 3));
    }
  } else if (width == 8) {
    for (; i + 16 <= count; i += 16) {
      const uint8_t *s = src + 8 * i;
      v128_t v[8];
      // Within each vector (2 elements), 16-bit lane k holds byte k of both.
      for (int j = 0; j < 8; j++)
        v[j] = wasm_i8x16_swizzle(LOAD(s + 16 * j), wasm_i8x16_make(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
      // An 8x8 transpose of 16-bit lanes in three interleaving stages.
      v128_t t[8], u[8];
      for (int j = 0; j < 4; j++) {
        t[2 * j] = wasm_i16x8_shuffle(v[2 * j], v[2 * j + 1], 0, 8, 1, 9, 2, 10, 3, 11);
        t[2 * j + 1] = wasm_i16x8_shuffle(v[2 * j], v[2 * j + 1], 4, 12, 5, 13, 6, 14, 7, 15);
      }
      // t[2j] lanes: (v2j.0 v2j+1.0 v2j.1 v2j+1.1 ...); t[2j+1] the same for lanes 4..7.
      for (int j = 0; j < 2; j++) {
        for (int h = 0; h < 2; h++) {
          v128_t x = t[4 * j + h], y = t[4 * j + 2 + h];
          u[4 * j + 2 * h] = wasm_i32x4_shuffle(x, y, 0, 4, 1, 5);
          u[4 * j + 2 * h + 1] = wasm_i32x4_shuffle(x, y, 2, 6, 3, 7);
        }
      }
      // u[4j + m] holds, for source vectors 4j..4j+3, 16-bit lanes 2m and 2m+1 (as 64-bit halves).
      for (int m = 0; m < 4; m++) {
        STORE(dst + (2 * m) * stride + i, wasm_i64x2_shuffle(u[m], u[4 + m], 0, 2));
        STORE(dst + (2 * m + 1) * stride + i, wasm_i64x2_shuffle(u[m], u[4 + m], 1, 3));
      }
    }
  }
  for (; i < count; i++)
    for (size_t k = 0; k < width; k++) dst[k * stride + i] = src[i * width + k];
}

// Inverts group_range: reads src[k * stride + i], writes `count` elements to dst.
static void ungroup_range(const uint8_t *src, uint8_t *dst, size_t count, size_t width, size_t stride) {
  size_t i = 0;
  if (width == 2) {
    for (; i + 16 <= count; i += 16) {
      v128_t lo = LOAD(src + i), hi = LOAD(src + stride + i);
      STORE(dst + 2 * i, wasm_i8x16_shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
      STORE(dst + 2 * i + 16, wasm_i8x16_shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
    }
  } else if (width == 4) {
    for (; i + 16 <= count; i += 16) {
      v128_t p0 = LOAD(src + i), p1 = LOAD(src + stride + i), p2 = LOAD(src + 2 * stride + i), p3 = LOAD(src + 3 * stride + i);
      v128_t a01 = wasm_i32x4_shuffle(p0, p1, 0, 4, 1, 5), a23 = wasm_i32x4_shuffle(p2, p3, 0, 4, 1, 5);
      v128_t b01 = wasm_i32x4_shuffle(p0, p1, 2, 6, 3, 7), b23 = wasm_i32x4_shuffle(p2, p3, 2, 6, 3, 7);
      // Vector j: word j of each plane, i.e. bytes of elements 4j..4j+3 grouped by plane.
      v128_t w0 = wasm_i64x2_shuffle(a01, a23, 0, 2), w1 = wasm_i64x2_shuffle(a01, a23, 1, 3);
      v128_t w2 = wasm_i64x2_shuffle(b01, b23, 0, 2), w3 = wasm_i64x2_shuffle(b01, b23, 1, 3);
      v128_t m = wasm_i8x16_make(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      uint8_t *d = dst + 4 * i;
      STORE(d, wasm_i8x16_swizzle(w0, m));
      STORE(d + 16, wasm_i8x16_swizzle(w1, m));
      STORE(d + 32, wasm_i8x16_swizzle(w2, m));
      STORE(d + 48, wasm_i8x16_swizzle(w3, m));
    }
  } else if (width == 8) {
    for (; i + 16 <= count; i += 16) {
      v128_t p[8], t[8], u[8];
      for (int k = 0; k < 8; k++) p[k] = LOAD(src + k * stride + i);
      // Two interleaving stages: t[2j] pairs planes 2j, 2j+1 of elements 0..7 (t[2j+1]: 8..15),
      // then u[4j + q] holds planes 4j..4j+3 of elements 4q..4q+3.
      for (int j = 0; j < 4; j++) {
        t[2 * j] = wasm_i8x16_shuffle(p[2 * j], p[2 * j + 1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        t[2 * j + 1] = wasm_i8x16_shuffle(p[2 * j], p[2 * j + 1], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      }
      for (int j = 0; j < 2; j++) {
        for (int h = 0; h < 2; h++) {
          v128_t x = t[4 * j + h], y = t[4 * j + 2 + h];
          u[4 * j + 2 * h] = wasm_i16x8_shuffle(x, y, 0, 8, 1, 9, 2, 10, 3, 11);
          u[4 * j + 2 * h + 1] = wasm_i16x8_shuffle(x, y, 4, 12, 5, 13, 6, 14, 7, 15);
        }
      }
      // u[q] holds planes 0..3 and u[4 + q] planes 4..7 of elements 4q..4q+3, one 32-bit lane
      // each: interleaving the lanes gives the elements whole.
      uint8_t *d = dst + 8 * i;
      for (int q = 0; q < 4; q++) {
        STORE(d + 32 * q, wasm_i32x4_shuffle(u[q], u[4 + q], 0, 4, 1, 5));
        STORE(d + 32 * q + 16, wasm_i32x4_shuffle(u[q], u[4 + q], 2, 6, 3, 7));
      }
    }
  }
  for (; i < count; i++)
    for (size_t k = 0; k < width; k++) dst[i * width + k] = src[k * stride + i];
}

__attribute__((export_name("group_bytes")))
void group_bytes(const uint8_t *src, uint8_t *dst, size_t length, size_t width) {
  size_t n = length / width;
  group_range(src, dst, n, width, n);
  for (size_t i = n * width; i < length; i++) dst[i] = src[i];
}

__attribute__((export_name("ungroup_bytes")))
void ungroup_bytes(const uint8_t *src, uint8_t *dst, size_t length, size_t width) {
  size_t n = length / width;
  ungroup_range(src, dst, n, width, n);
  for (size_t i = n * width; i < length; i++) dst[i] = src[i];
}
