// The rotated byte grouping of codec/rotate-group.ts: every element of 2 or 4 bytes (a
// little-endian integer) rotated left by one bit, then byte-grouped, and the inverse. For
// bfloat16 and float32 the rotation moves the sign below the mantissa, so the top plane holds
// the whole 8-bit exponent instead of the sign and 7 exponent bits. Includes byte-group.c for
// the grouping itself; the rotation runs in place on the caller's block in this module's memory
// (codec/byte-group.ts runBlocked copies each block in), which stays in cache.
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>
#include "byte-group.c"

// Rotates `count` elements of `width` (2 or 4) bytes at p by one bit, left or right, in place.
static void rotate_range(uint8_t *p, size_t count, size_t width, int left) {
  size_t bytes = count * width, i = 0;
  if (width == 2) {
    for (; i + 16 <= bytes; i += 16) {
      v128_t v = LOAD(p + i);
      STORE(p + i, left ? wasm_v128_or(wasm_i16x8_shl(v, 1), wasm_u16x8_shr(v, 15))
                        : wasm_v128_or(wasm_u16x8_shr(v, 1), wasm_i16x8_shl(v, 15)));
    }
    for (; i + 2 <= bytes; i += 2) {
      uint16_t v;
      __builtin_memcpy(&v, p + i, 2);
      v = left ? (uint16_t)(v << 1 | v >> 15) : (uint16_t)(v >> 1 | v << 15);
      __builtin_memcpy(p + i, &v, 2);
    }
  } else if (width == 4) {
    for (; i + 16 <= bytes; i += 16) {
      v128_t v = LOAD(p + i);
      STORE(p + i, left ? wasm_v128_or(wasm_i32x4_shl(v, 1), wasm_u32x4_shr(v, 31))
                        : wasm_v128_or(wasm_u32x4_shr(v, 1), wasm_i32x4_shl(v, 31)));
    }
    for (; i + 4 <= bytes; i += 4) {
      uint32_t v;
      __builtin_memcpy(&v, p + i, 4);
      v = left ? (v << 1 | v >> 31) : (v >> 1 | v << 31);
      __builtin_memcpy(p + i, &v, 4);
    }
  }
}

// Rotates the whole elements of src[0..length) left in place, then groups them into dst (the
// bytes past the last whole element are the caller's).
__attribute__((export_name("group_rotated")))
void group_rotated(uint8_t *src, uint8_t *dst, size_t length, size_t width) {
  size_t n = length / width;
  rotate_range(src, n, width, 1);
  group_range(src, dst, n, width, n);
}

// Ungroups src[0..length) into dst, then rotates dst's whole elements right in place.
__attribute__((export_name("ungroup_rotated")))
void ungroup_rotated(const uint8_t *src, uint8_t *dst, size_t length, size_t width) {
  size_t n = length / width;
  ungroup_range(src, dst, n, width, n);
  rotate_range(dst, n, width, 0);
}

// Sampled statistics of both layouts, taken from the raw elements while they are in this
// module's memory (the counting half of codec/plane-stats.ts, as block_stats in
// plane-histogram.c takes it from grouped planes): per plane 258 words, 256 counts, the repeats,
// the byte of the last element of the previous block; the plain layout's `width` planes first,
// then the rotated layout's. Zeroed by layout_stats_reset before a chunk's first block.
static uint32_t layout_state[2 * 4 * 258];

__attribute__((export_name("layout_stats_reset")))
uint32_t layout_stats_reset(void) {
  __builtin_memset(layout_state, 0, sizeof layout_state);
  return (uint32_t)(uintptr_t)layout_state;
}

static inline uint32_t element_at(const uint8_t *p, size_t width) {
  if (width == 2) {
    uint16_t v;
    __builtin_memcpy(&v, p, 2);
    return v;
  }
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

static inline uint32_t rotl1(uint32_t v, size_t width) {
  return width == 2 ? ((v << 1 | v >> 15) & 0xffff) : (v << 1 | v >> 31);
}

// Samples the `count` elements of src (positions [first, first + count) of the chunk, samples at
// the multiples of `step`) into layout_state for both layouts.
static void sample_layouts(const uint8_t *src, size_t count, size_t width, size_t first, size_t step) {
  if (count == 0) return;
  uint32_t *plain = layout_state, *rot = layout_state + 258 * width;
  size_t i0 = (first + step - 1) / step * step;
  for (size_t i = i0; i < first + count; i += step) {
    uint32_t v = element_at(src + (i - first) * width, width), r = rotl1(v, width);
    uint32_t u = 0, s = 0;
    if (i > first) {
      u = element_at(src + (i - first - 1) * width, width);
      s = rotl1(u, width);
    } else {
      for (size_t p = 0; p < width; p++) {
        u |= (plain[258 * p + 257] & 0xff) << (8 * p);
        s |= (rot[258 * p + 257] & 0xff) << (8 * p);
      }
    }
    for (size_t p = 0; p < width; p++) {
      uint32_t b = (v >> (8 * p)) & 0xff, c = (r >> (8 * p)) & 0xff;
      plain[258 * p + b]++;
      rot[258 * p + c]++;
      if (i > 0) {
        plain[258 * p + 256] += b == ((u >> (8 * p)) & 0xff);
        rot[258 * p + 256] += c == ((s >> (8 * p)) & 0xff);
      }
    }
  }
  uint32_t last = element_at(src + (count - 1) * width, width), rl = rotl1(last, width);
  for (size_t p = 0; p < width; p++) {
    plain[258 * p + 257] = (last >> (8 * p)) & 0xff;
    rot[258 * p + 257] = (rl >> (8 * p)) & 0xff;
  }
}

// group_rotated, sampling both layouts' statistics first (block `first` of the chunk).
__attribute__((export_name("group_rotated_stats")))
void group_rotated_stats(uint8_t *src, uint8_t *dst, size_t length, size_t width, size_t first, size_t step) {
  sample_layouts(src, length / width, width, first, step);
  group_rotated(src, dst, length, width);
}
