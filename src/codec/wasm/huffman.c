// The per-symbol loops of codec/huffman.ts (canonical Huffman, codes of at most 12 bits, four bit
// streams each coding a quarter of the plane, LSB-first): the segment histograms and the plane
// check, the encoder and the decoder. The payload format, the code lengths, the codes, the
// decoder's table and every check of the payload's header stay in TypeScript; these loops write
// the same bits as the TypeScript reference. Every pointer is into this module's memory, laid out
// by codec/huffman-kernel.ts, which leaves at least 16 bytes of slack after every region that is
// read or written 8 bytes at a time.
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

#define WAYS 4

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

static inline void store64(uint8_t *p, uint64_t v) { __builtin_memcpy(p, &v, 8); }

/**
 * Keeps a value scalar: without it clang's SLP vectorizer packs the four streams' bit positions
 * into one v128 and extracts a lane for every load, which halves the decoder's speed.
 */
#define SCALAR(x) __asm__("" : "+r"(x))

static inline uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/** Where segment w of a plane of n bytes starts: min(n, w·⌈n/4⌉). */
static inline uint32_t seg_start(uint32_t n, uint32_t w) { return min32(n, w * ((n + 3) / 4)); }

/** The plane check of the format (huffman.ts planeCheck): four lanes of running sums and sums of them. */
static uint32_t plane_check(const uint8_t *p, uint32_t n) {
  v128_t a = wasm_i32x4_splat(0), b = a;
  uint32_t blocks = n >> 4;
  for (uint32_t i = 0; i < blocks; i++) {
    a = wasm_i32x4_add(a, wasm_v128_load(p + 16 * i));
    b = wasm_i32x4_add(b, a);
  }
  if (n & 15) {
    uint8_t t[16] = {0};
    __builtin_memcpy(t, p + 16 * blocks, n & 15);
    a = wasm_i32x4_add(a, wasm_v128_load(t));
    b = wasm_i32x4_add(b, a);
  }
  uint32_t a0 = wasm_i32x4_extract_lane(a, 0), a1 = wasm_i32x4_extract_lane(a, 1);
  uint32_t a2 = wasm_i32x4_extract_lane(a, 2), a3 = wasm_i32x4_extract_lane(a, 3);
  uint32_t b0 = wasm_i32x4_extract_lane(b, 0), b1 = wasm_i32x4_extract_lane(b, 1);
  uint32_t b2 = wasm_i32x4_extract_lane(b, 2), b3 = wasm_i32x4_extract_lane(b, 3);
  uint32_t h = a0 ^ (a1 * 0x9e3779b1u);
  h = ((h ^ (h >> 15)) * 0x85ebca77u) ^ a2;
  h = ((h ^ (h >> 13)) * 0xc2b2ae3du) ^ a3;
  h = ((h ^ (h >> 16)) * 0x27d4eb2fu) ^ b0;
  h = ((h ^ (h >> 15)) * 0x85ebca77u) ^ b1;
  h = ((h ^ (h >> 13)) * 0xc2b2ae3du) ^ b2;
  h = ((h ^ (h >> 16)) * 0x27d4eb2fu) ^ b3;
  h = ((h ^ (h >> 15)) * 0x85ebca77u) ^ n;
  return h ^ (h >> 13);
}

/**
 * counts[256·w + s] ← how often s occurs in segment w of p[0..n); returns the plane's check. The
 * four segments are walked together, so that a run of one symbol does not serialise on one counter.
 */
__attribute__((export_name("huffman_histogram")))
uint32_t huffman_histogram(const uint8_t *p, uint32_t n, uint32_t *counts) {
  __builtin_memset(counts, 0, 4 * 256 * WAYS);
  uint32_t q = (n + 3) / 4;
  const uint8_t *p1 = p + seg_start(n, 1), *p2 = p + seg_start(n, 2), *p3 = p + seg_start(n, 3);
  uint32_t common = n - seg_start(n, 3);
  for (uint32_t i = 0; i < common; i++) {
    counts[p[i]]++;
    counts[256 + p1[i]]++;
    counts[512 + p2[i]]++;
    counts[768 + p3[i]]++;
  }
  for (uint32_t w = 0; w < WAYS - 1; w++) {
    uint32_t to = min32(n, seg_start(n, w) + q);
    for (uint32_t i = seg_start(n, w) + common; i < to; i++) counts[256 * w + p[i]]++;
  }
  return plane_check(p, n);
}

/** Appends symbol s's code to bit buffer b holding nb bits. */
#define PUT(b, nb, s)                               \
  do {                                              \
    uint32_t c = codes[s];                          \
    b |= (uint64_t)(c & 0xffff) << nb;              \
    nb += c >> 16;                                  \
  } while (0)

/** Stores the buffer's whole bytes at o (8 bytes written, the rest rewritten later). */
#define FLUSH(b, nb, o)                             \
  do {                                              \
    store64(o, b);                                  \
    o += nb >> 3;                                   \
    b >>= nb & 56;                                  \
    nb &= 7;                                        \
  } while (0)

/** One stream's step of S symbols: S codes of ≤ 64/S − 1 bits on top of ≤ 7 pending bits fit 64. */
#define ENC_STEP(b, nb, o, src, S)                  \
  do {                                              \
    for (int j = 0; j < S; j++) PUT(b, nb, src[j]); \
    FLUSH(b, nb, o);                                \
  } while (0)

static inline __attribute__((always_inline)) void encode_body(const uint32_t *codes, const uint8_t *p, uint32_t n,
                                                              uint32_t *io, int S) {
  const uint8_t *src[WAYS];
  uint8_t *o[WAYS];
  uint64_t b[WAYS] = {0};
  uint32_t nb[WAYS] = {0};
  for (int w = 0; w < WAYS; w++) {
    src[w] = p + seg_start(n, w);
    o[w] = (uint8_t *)(uintptr_t)io[w];
  }
  uint32_t common = n - seg_start(n, 3);
  uint32_t run = common - common % (uint32_t)S;
  uint64_t b0 = 0, b1 = 0, b2 = 0, b3 = 0;
  uint32_t n0 = 0, n1 = 0, n2 = 0, n3 = 0;
  uint8_t *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3];
  const uint8_t *q0 = src[0], *q1 = src[1], *q2 = src[2], *q3 = src[3];
  for (uint32_t i = 0; i < run; i += (uint32_t)S) {
    ENC_STEP(b0, n0, o0, (q0 + i), S);
    ENC_STEP(b1, n1, o1, (q1 + i), S);
    ENC_STEP(b2, n2, o2, (q2 + i), S);
    ENC_STEP(b3, n3, o3, (q3 + i), S);
  }
  b[0] = b0; b[1] = b1; b[2] = b2; b[3] = b3;
  nb[0] = n0; nb[1] = n1; nb[2] = n2; nb[3] = n3;
  o[0] = o0; o[1] = o1; o[2] = o2; o[3] = o3;
  for (int w = 0; w < WAYS; w++) {
    uint32_t size = seg_start(n, (uint32_t)w + 1) - seg_start(n, (uint32_t)w);
    for (uint32_t i = run; i < size; i++) {
      PUT(b[w], nb[w], src[w][i]);
      FLUSH(b[w], nb[w], o[w]);
    }
    store64(o[w], b[w]);
    o[w] += (nb[w] + 7) >> 3;
    io[4 + w] = (uint32_t)(o[w] - (uint8_t *)(uintptr_t)io[w]);
  }
}

/**
 * Codes p[0..n), segment w into the stream starting at io[w], with codes[s] = bit-reversed code |
 * length << 16 (every length ≤ `longest` ≤ 12). io[4 + w] ← stream w's length in bytes.
 */
__attribute__((export_name("huffman_encode")))
void huffman_encode(const uint32_t *codes, const uint8_t *p, uint32_t n, uint32_t longest, uint32_t *io) {
  if (longest <= 11) encode_body(codes, p, n, io, 5);
  else encode_body(codes, p, n, io, 4);
}

/** One stream's step of S symbols from bit position x (S codes of ≤ 57/S bits: one load suffices). */
#define DEC_STEP(x, dst, S)                                    \
  do {                                                         \
    uint64_t v = load64(payload + (x >> 3)) >> (x & 7);        \
    for (int j = 0; j < S; j++) {                              \
      uint32_t e = table[v & mask];                            \
      dst[j] = (uint8_t)e;                                     \
      v >>= e >> 8;                                            \
      x += e >> 8;                                             \
    }                                                          \
  } while (0)

static inline __attribute__((always_inline)) uint32_t decode_body(const uint16_t *table, uint32_t bits,
                                                                  const uint8_t *payload, uint8_t *out,
                                                                  uint32_t n, uint32_t *x, const uint32_t *e,
                                                                  int S) {
  const uint32_t mask = (1u << bits) - 1;
  const uint32_t most = (uint32_t)S * bits;
  uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
  uint8_t *d0 = out + seg_start(n, 0), *d1 = out + seg_start(n, 1);
  uint8_t *d2 = out + seg_start(n, 2), *d3 = out + seg_start(n, 3);
  uint32_t common = n - seg_start(n, 3), i = 0;
  // Runs of as many steps as every stream provably has the bits for: a step takes at most S·bits
  // bits of each, so no position of a run passes its stream's end, and the reads need no check
  // (the 8-byte load at the end of a stream stays within the payload's slack).
  for (;;) {
    uint32_t steps = (common - i) / (uint32_t)S;
    steps = min32(steps, min32(min32((e[0] - x0) / most, (e[1] - x1) / most), min32((e[2] - x2) / most, (e[3] - x3) / most)));
    if (steps == 0) break;
    for (uint32_t stop = i + steps * (uint32_t)S; i < stop; i += (uint32_t)S) {
      DEC_STEP(x0, (d0 + i), S);
      DEC_STEP(x1, (d1 + i), S);
      DEC_STEP(x2, (d2 + i), S);
      DEC_STEP(x3, (d3 + i), S);
      SCALAR(x0);
      SCALAR(x1);
      SCALAR(x2);
      SCALAR(x3);
    }
  }
  x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3;
  return i;
}

/**
 * Decodes n symbols into out, segment w from the stream payload[io[w], io[4 + w]), with the table
 * of 2^bits entries (length << 8 | symbol; a complete code, bits ≤ 12). Returns 0 (and io[8] ← the
 * plane's check), or 1 + w when a code of stream w runs past its end, or 5 + w when stream w does
 * not end with its last code (bytes left over, or nonzero padding bits). Streams are checked in
 * order, as the TypeScript reference decodes them.
 */
__attribute__((export_name("huffman_decode")))
int32_t huffman_decode(const uint16_t *table, uint32_t bits, const uint8_t *payload, uint8_t *out, uint32_t n,
                       uint32_t *io) {
  uint32_t x[WAYS], e[WAYS];
  for (int w = 0; w < WAYS; w++) {
    x[w] = io[w] * 8;
    e[w] = io[4 + w] * 8;
  }
  uint32_t i = bits <= 11 ? decode_body(table, bits, payload, out, n, x, e, 5)
                          : decode_body(table, bits, payload, out, n, x, e, 4);
  const uint32_t mask = (1u << bits) - 1;
  for (uint32_t w = 0; w < WAYS; w++) {
    uint32_t size = seg_start(n, w + 1) - seg_start(n, w);
    uint8_t *d = out + seg_start(n, w);
    uint32_t p = x[w];
    for (uint32_t j = i; j < size; j++) {
      uint32_t v = (uint32_t)(load64(payload + (p >> 3)) >> (p & 7));
      uint32_t en = table[v & mask];
      if (p + (en >> 8) > e[w]) return (int32_t)(1 + w);
      d[j] = (uint8_t)en;
      p += en >> 8;
    }
    if ((p + 7) >> 3 != e[w] >> 3 || ((p & 7) && (payload[p >> 3] >> (p & 7)) != 0)) return (int32_t)(5 + w);
  }
  io[8] = plane_check(out, n);
  return 0;
}
