// Element-wise deltas (codec/delta-transform.ts): the zigzag-mapped integer difference for widths
// 1, 2 and 4 (`sub` set) or XOR, bytes past the last whole element XORed; and the fused forms
// the chunk codec uses, delta then byte-group on encode and ungroup then undo on decode, which
// walk the chunk in blocks small enough to stay in cache instead of writing a whole intermediate
// buffer. Includes byte-group.c (and through it plane-histogram.c), so one module serves the
// whole transform and the grouped planes' statistics.
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>
#include "byte-group.c"

// Elements per fused block: 8 KiB of intermediate bytes, reused, never leaving L1.
#define BLOCK_BYTES 8192
static uint8_t block[BLOCK_BYTES] __attribute__((aligned(16)));

static void xor_range(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t from, size_t to) {
  size_t i = from;
  for (; i + 16 <= to; i += 16) STORE(out + i, wasm_v128_xor(LOAD(a + i), LOAD(b + i)));
  for (; i < to; i++) out[i] = a[i] ^ b[i];
}

// delta(raw, base) over `length` bytes; `out` may alias neither.
static void apply_core(const uint8_t *raw, const uint8_t *base, uint8_t *out, size_t length, size_t width, int sub) {
  size_t done = 0;
  if (sub && (width == 1 || width == 2 || width == 4)) {
    size_t whole = length / width * width, i = 0;
    if (width == 4) {
      for (; i + 16 <= whole; i += 16) {
        v128_t d = wasm_i32x4_sub(LOAD(raw + i), LOAD(base + i));
        STORE(out + i, wasm_v128_xor(wasm_i32x4_shl(d, 1), wasm_i32x4_shr(d, 31)));
      }
      for (; i < whole; i += 4) {
        int32_t r, b;
        __builtin_memcpy(&r, raw + i, 4);
        __builtin_memcpy(&b, base + i, 4);
        int32_t d = (int32_t)((uint32_t)r - (uint32_t)b);
        uint32_t z = ((uint32_t)d << 1) ^ (uint32_t)(d >> 31);
        __builtin_memcpy(out + i, &z, 4);
      }
    } else if (width == 2) {
      for (; i + 16 <= whole; i += 16) {
        v128_t d = wasm_i16x8_sub(LOAD(raw + i), LOAD(base + i));
        STORE(out + i, wasm_v128_xor(wasm_i16x8_shl(d, 1), wasm_i16x8_shr(d, 15)));
      }
      for (; i < whole; i += 2) {
        uint16_t r, b;
        __builtin_memcpy(&r, raw + i, 2);
        __builtin_memcpy(&b, base + i, 2);
        int16_t d = (int16_t)(uint16_t)(r - b);
        uint16_t z = (uint16_t)(((uint16_t)d << 1) ^ (uint16_t)(d >> 15));
        __builtin_memcpy(out + i, &z, 2);
      }
    } else {
      for (; i + 16 <= whole; i += 16) {
        v128_t d = wasm_i8x16_sub(LOAD(raw + i), LOAD(base + i));
        STORE(out + i, wasm_v128_xor(wasm_i8x16_shl(d, 1), wasm_i8x16_shr(d, 7)));
      }
      for (; i < whole; i++) {
        int8_t d = (int8_t)(uint8_t)(raw[i] - base[i]);
        out[i] = (uint8_t)(((uint8_t)d << 1) ^ (uint8_t)(d >> 7));
      }
    }
    done = whole;
  }
  xor_range(raw, base, out, done, length);
}

// Inverts apply_core; `out` may alias `delta`.
static void undo_core(const uint8_t *delta, const uint8_t *base, uint8_t *out, size_t length, size_t width, int sub) {
  size_t done = 0;
  if (sub && (width == 1 || width == 2 || width == 4)) {
    size_t whole = length / width * width, i = 0;
    if (width == 4) {
      for (; i + 16 <= whole; i += 16) {
        v128_t v = LOAD(delta + i);
        v128_t t = wasm_v128_xor(wasm_u32x4_shr(v, 1), wasm_i32x4_neg(wasm_v128_and(v, wasm_i32x4_splat(1))));
        STORE(out + i, wasm_i32x4_add(LOAD(base + i), t));
      }
      for (; i < whole; i += 4) {
        uint32_t v, b;
        __builtin_memcpy(&v, delta + i, 4);
        __builtin_memcpy(&b, base + i, 4);
        uint32_t o = b + ((v >> 1) ^ (0u - (v & 1)));
        __builtin_memcpy(out + i, &o, 4);
      }
    } else if (width == 2) {
      for (; i + 16 <= whole; i += 16) {
        v128_t v = LOAD(delta + i);
        v128_t t = wasm_v128_xor(wasm_u16x8_shr(v, 1), wasm_i16x8_neg(wasm_v128_and(v, wasm_i16x8_splat(1))));
        STORE(out + i, wasm_i16x8_add(LOAD(base + i), t));
      }
      for (; i < whole; i += 2) {
        uint16_t v, b;
        __builtin_memcpy(&v, delta + i, 2);
        __builtin_memcpy(&b, base + i, 2);
        uint16_t o = (uint16_t)(b + ((v >> 1) ^ (0u - (v & 1))));
        __builtin_memcpy(out + i, &o, 2);
      }
    } else {
      for (; i + 16 <= whole; i += 16) {
        v128_t v = LOAD(delta + i);
        v128_t t = wasm_v128_xor(wasm_u8x16_shr(v, 1), wasm_i8x16_neg(wasm_v128_and(v, wasm_i8x16_splat(1))));
        STORE(out + i, wasm_i8x16_add(LOAD(base + i), t));
      }
      for (; i < whole; i++) out[i] = (uint8_t)(base[i] + ((delta[i] >> 1) ^ (0u - (delta[i] & 1))));
    }
    done = whole;
  }
  xor_range(delta, base, out, done, length);
}

__attribute__((export_name("apply_delta")))
void apply_delta(const uint8_t *raw, const uint8_t *base, uint8_t *out, size_t length, size_t width, int sub) {
  apply_core(raw, base, out, length, width, sub);
}

__attribute__((export_name("undo_delta")))
void undo_delta(const uint8_t *delta, const uint8_t *base, uint8_t *out, size_t length, size_t width, int sub) {
  undo_core(delta, base, out, length, width, sub);
}

// group_bytes(apply_delta(raw, base)) without the intermediate buffer.
__attribute__((export_name("delta_group")))
void delta_group(const uint8_t *raw, const uint8_t *base, uint8_t *out, size_t length, size_t width, int sub) {
  size_t n = length / width, per = BLOCK_BYTES / width;
  for (size_t e = 0; e < n; e += per) {
    size_t cnt = n - e < per ? n - e : per;
    apply_core(raw + e * width, base + e * width, block, cnt * width, width, sub);
    group_range(block, out + e, cnt, width, n);
  }
  xor_range(raw, base, out, n * width, length);
}

// undo_delta(ungroup_bytes(grouped), base) without the intermediate buffer.
__attribute__((export_name("ungroup_undo")))
void ungroup_undo(const uint8_t *grouped, const uint8_t *base, uint8_t *out, size_t length, size_t width, int sub) {
  size_t n = length / width, per = BLOCK_BYTES / width;
  for (size_t e = 0; e < n; e += per) {
    size_t cnt = n - e < per ? n - e : per;
    ungroup_range(grouped + e, block, cnt, width, n);
    undo_core(block, base + e * width, out + e * width, cnt * width, width, sub);
  }
  xor_range(grouped, base, out, n * width, length);
}
