// The per-symbol loops of codec/rans.ts (order-0 static rANS, 4 interleaved states, L = 2^15,
// 16-bit renormalisation): the encoder and the decoder, and (from plane-histogram.c, compiled into
// this module too so that the plane is copied into one memory only) the histogram. The payload format, the
// frequency quantisation and every check on the payload's header stay in TypeScript; these loops
// do the same integer arithmetic as the TypeScript reference, so both produce the same bytes.
// Every pointer is into this module's memory, laid out by codec/rans-kernel.ts.
#include <stddef.h>
#include <stdint.h>

#include "plane-histogram.c"

#define L (1u << 15)
#define WAYS 4

/** Encoder, per symbol. */
typedef struct {
  uint64_t rcp;   // ⌈2^(31+scale) / freq⌉: ⌊x / freq⌋ = (x · rcp) >> (31 + scale) for x < max
  uint32_t max;   // the bound at or above which a state must first shed its low word
  uint16_t start; // cumulative frequency below the symbol
  uint16_t cmpl;  // 2^scale − freq
} EncSym;

static EncSym enc[256];

/**
 * x ← C(s, x) = ⌊x/f⌋·2^scale + x mod f + start = x + start + ⌊x/f⌋·(2^scale − f), for x < max.
 * The quotient is exact: x < f·2^(31−scale), so the rounded-up reciprocal's error times x is below
 * f/2^(2·scale) < 1/f (as f < 2^scale when there are two symbols or more; f = 2^scale has rcp =
 * 2^31 exactly), less than the distance from x/f to the next integer; and x·rcp < 2^63.
 */
#define ENC_CODE(x, e, scale) \
  x = x + (e)->start + (uint32_t)(((uint64_t)x * (e)->rcp) >> (31 + (scale))) * (e)->cmpl

/** One branch-free encoder step of state x with symbol s; w is the stream's write position. */
#define ENC_STEP(x, w, s, scale)                                   \
  do {                                                             \
    const EncSym *e = &enc[s];                                     \
    words[w - 1] = (uint16_t)x;                                    \
    uint32_t shed = x >= e->max;                                   \
    w -= shed;                                                     \
    x >>= shed << 4;                                               \
    ENC_CODE(x, e, scale);                                         \
  } while (0)

/** The encoder's body for one scale, a constant once inlined into each case of rans_encode. */
static inline __attribute__((always_inline)) void encode_body(const uint8_t *p, uint32_t n4, uint32_t scale,
                                                              uint16_t *words, uint32_t *x, uint32_t *w) {
  // Branch-free: a state's low word is always stored below its stream's write position, and kept
  // (the position moved) only when the state must shrink.
  uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
  uint32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
  for (uint32_t i = n4; i >= 4;) {
    i -= 4;
    uint32_t b;
    __builtin_memcpy(&b, p + i, 4);
    ENC_STEP(x3, w3, b >> 24, scale);
    ENC_STEP(x2, w2, (b >> 16) & 0xff, scale);
    ENC_STEP(x1, w1, (b >> 8) & 0xff, scale);
    ENC_STEP(x0, w0, b & 0xff, scale);
  }
  x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3;
  w[0] = w0; w[1] = w1; w[2] = w2; w[3] = w3;
}

/**
 * Encodes p[0..n) last symbol first, symbol i by state i mod 4 into word stream i mod 4, which
 * occupies words[w·r, (w+1)·r) and is filled back to front. freqs sums to 2^scale (8 ≤ scale ≤ 15).
 * io: on return the four final states, then the four streams' first word (its start position).
 */
__attribute__((export_name("rans_encode")))
void rans_encode(const uint32_t *freqs, uint32_t scale, const uint8_t *p, uint32_t n,
                 uint16_t *words, uint32_t r, uint32_t *io) {
  for (uint32_t s = 0, start = 0; s < 256; s++) {
    uint32_t f = freqs[s];
    enc[s].start = (uint16_t)start;
    start += f;
    if (f == 0) continue;
    // Coding s into x ≥ f·2^(31−scale) would leave [L, 2^31): such x shed their low word first.
    enc[s].max = f == 1u << scale ? 0x7fffffffu : f << (31 - scale);
    enc[s].rcp = (((uint64_t)1 << (31 + scale)) + f - 1) / f;
    enc[s].cmpl = (uint16_t)((1u << scale) - f);
  }
  uint32_t x[WAYS], w[WAYS];
  for (int j = 0; j < WAYS; j++) {
    x[j] = L;
    w[j] = (uint32_t)(j + 1) * r;
  }
  uint32_t n4 = n & ~3u;
  // The tail, one symbol at a time, with a branch: at most three symbols.
  for (uint32_t i = n; i-- > n4;) {
    uint32_t j = i & 3;
    const EncSym *e = &enc[p[i]];
    if (x[j] >= e->max) {
      words[--w[j]] = (uint16_t)x[j];
      x[j] >>= 16;
    }
    ENC_CODE(x[j], e, scale);
  }
  switch (scale) {
    case 8: encode_body(p, n4, 8, words, x, w); break;
    case 9: encode_body(p, n4, 9, words, x, w); break;
    case 10: encode_body(p, n4, 10, words, x, w); break;
    case 11: encode_body(p, n4, 11, words, x, w); break;
    case 12: encode_body(p, n4, 12, words, x, w); break;
    case 13: encode_body(p, n4, 13, words, x, w); break;
    case 14: encode_body(p, n4, 14, words, x, w); break;
    default: encode_body(p, n4, 15, words, x, w); break;
  }
  for (int j = 0; j < WAYS; j++) {
    io[j] = x[j];
    io[4 + j] = w[j];
  }
}

/** Decoder, per slot (x mod 2^scale): (freq << 16) | (slot − start of the symbol), and the symbol. */
static uint32_t slot_info[1 << 15];
static uint8_t slot_sym[1 << 15];

/** One branch-free decoder step of state x, stream position a (bytes), writing symbol to o. */
#define DEC_STEP(x, a, o)                                           \
  do {                                                              \
    uint32_t slot = x & mask;                                       \
    uint32_t info = slot_info[slot];                                \
    o = slot_sym[slot];                                             \
    x = (info >> 16) * (x >> scale) + (info & 0xffff);              \
    uint32_t c = (uint32_t)((int32_t)(x - L) >> 31);                \
    uint32_t word = (uint32_t)payload[a] | (uint32_t)payload[a + 1] << 8; \
    x = (x << (c & 16)) | (word & c);                               \
    a += c & 2;                                                     \
  } while (0)

static inline uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/**
 * Decodes symbols from 0 on, four per step, for one scale (a constant once inlined), while every
 * stream provably has a word for each step of the run; returns where it stopped, with the states
 * and positions in io.
 */
static inline __attribute__((always_inline)) uint32_t decode_body(const uint8_t *payload, uint8_t *out,
                                                                  uint32_t n, uint32_t scale, uint32_t *io) {
  const uint32_t mask = (1u << scale) - 1;
  uint32_t x0 = io[0], x1 = io[1], x2 = io[2], x3 = io[3];
  uint32_t a0 = io[4], a1 = io[5], a2 = io[6], a3 = io[7];
  const uint32_t e0 = io[8], e1 = io[9], e2 = io[10], e3 = io[11];
  uint32_t n4 = n & ~3u, i = 0;
  // Runs of as many steps as the shortest stream has words left: a step reads at most one word per
  // stream, so no read of a run passes an end, and the reads need no check.
  for (;;) {
    uint32_t steps = min32(min32((n4 - i) >> 2, (e0 - a0) >> 1),
                           min32(min32((e1 - a1) >> 1, (e2 - a2) >> 1), (e3 - a3) >> 1));
    if (steps == 0) break;
    for (uint32_t stop = i + 4 * steps; i < stop; i += 4) {
      uint8_t o0, o1, o2, o3;
      DEC_STEP(x0, a0, o0);
      DEC_STEP(x1, a1, o1);
      DEC_STEP(x2, a2, o2);
      DEC_STEP(x3, a3, o3);
      uint32_t b = (uint32_t)o0 | (uint32_t)o1 << 8 | (uint32_t)o2 << 16 | (uint32_t)o3 << 24;
      __builtin_memcpy(out + i, &b, 4);
    }
  }
  io[0] = x0; io[1] = x1; io[2] = x2; io[3] = x3;
  io[4] = a0; io[5] = a1; io[6] = a2; io[7] = a3;
  return i;
}

/**
 * Decodes n symbols into out from the payload's word streams. freqs sums to 2^scale (scale ≤ 15)
 * and has at least two symbols. io: the four initial states, the four streams' read positions
 * and their ends (byte offsets into payload); on return the states and positions as they ended.
 * Returns 0, or 1 + w when stream w needed a word past its end (then out holds a prefix).
 */
__attribute__((export_name("rans_decode")))
int32_t rans_decode(const uint32_t *freqs, uint32_t scale, const uint8_t *payload, uint8_t *out,
                    uint32_t n, uint32_t *io) {
  for (uint32_t s = 0, start = 0; s < 256; s++) {
    uint32_t f = freqs[s];
    for (uint32_t j = 0; j < f; j++) {
      slot_info[start + j] = f << 16 | j;
      slot_sym[start + j] = (uint8_t)s;
    }
    start += f;
  }
  uint32_t i;
  switch (scale) {
    case 8: i = decode_body(payload, out, n, 8, io); break;
    case 9: i = decode_body(payload, out, n, 9, io); break;
    case 10: i = decode_body(payload, out, n, 10, io); break;
    case 11: i = decode_body(payload, out, n, 11, io); break;
    case 12: i = decode_body(payload, out, n, 12, io); break;
    case 13: i = decode_body(payload, out, n, 13, io); break;
    case 14: i = decode_body(payload, out, n, 14, io); break;
    default: i = decode_body(payload, out, n, 15, io); break;
  }
  const uint32_t mask = (1u << scale) - 1;
  uint32_t x[WAYS] = {io[0], io[1], io[2], io[3]}, a[WAYS] = {io[4], io[5], io[6], io[7]};
  uint32_t e[WAYS] = {io[8], io[9], io[10], io[11]};
  int32_t status = 0;
  // The rest one symbol at a time, every read checked against its stream's end.
  for (; i < n; i++) {
    uint32_t j = i & 3;
    uint32_t slot = x[j] & mask;
    uint32_t info = slot_info[slot];
    out[i] = slot_sym[slot];
    uint32_t y = (info >> 16) * (x[j] >> scale) + (info & 0xffff);
    if (y < L) {
      if (a[j] + 2 > e[j]) {
        status = 1 + (int32_t)j;
        break;
      }
      y = y << 16 | (uint32_t)payload[a[j]] | (uint32_t)payload[a[j] + 1] << 8;
      a[j] += 2;
    }
    x[j] = y;
  }
  for (int j = 0; j < WAYS; j++) {
    io[j] = x[j];
    io[4 + j] = a[j];
  }
  return status;
}
