// The per-symbol loops of codec/rans.ts (order-0 static rANS, 4 interleaved states, L = 2^15,
// 16-bit renormalisation): the histogram, the encoder and the decoder. The payload format, the
// frequency quantisation and every check on the payload's header stay in TypeScript; these loops
// do the same integer arithmetic as the TypeScript reference, so both produce the same bytes.
// Every pointer is into this module's memory, laid out by codec/rans-kernel.ts.
#include <stddef.h>
#include <stdint.h>

#define L (1u << 15)
#define WAYS 4

/** Fills counts[0..255] with the histogram of p[0..n); returns the number of distinct symbols. */
__attribute__((export_name("rans_histogram")))
uint32_t rans_histogram(const uint8_t *p, uint32_t n, uint32_t *counts) {
  // Four sub-histograms, so that a run of one symbol does not serialise on one counter.
  static uint32_t c[4][256];
  __builtin_memset(c, 0, sizeof c);
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    c[0][p[i]]++;
    c[1][p[i + 1]]++;
    c[2][p[i + 2]]++;
    c[3][p[i + 3]]++;
  }
  for (; i < n; i++) c[0][p[i]]++;
  uint32_t k = 0;
  for (int s = 0; s < 256; s++) {
    uint32_t t = c[0][s] + c[1][s] + c[2][s] + c[3][s];
    counts[s] = t;
    k += t != 0;
  }
  return k;
}

/** Encoder, per symbol. */
typedef struct {
  uint32_t max;   // the bound at or above which a state must first shed its low word
  uint32_t rcp;   // ⌈2^(31+shift) / freq⌉: ⌊x / freq⌋ = (x · rcp) >> (31 + shift) for x < 2^31
  uint32_t shift; // 31 + ⌈log2 freq⌉
  uint32_t cmpl;  // 2^scale − freq
  uint32_t start; // cumulative frequency below the symbol
  uint32_t pad[3];
} EncSym;

static EncSym enc[256];

/** One encoder step of state x with symbol s; w is the stream's write position (in words). */
#define ENC_STEP(x, w, s)                                          \
  do {                                                             \
    const EncSym *e = &enc[s];                                     \
    words[w - 1] = (uint16_t)x;                                    \
    uint32_t shed = x >= e->max;                                   \
    w -= shed;                                                     \
    x >>= shed << 4;                                               \
    uint32_t q = (uint32_t)(((uint64_t)x * e->rcp) >> e->shift);   \
    x = x + e->start + q * e->cmpl;                                \
  } while (0)

/**
 * Encodes p[0..n) last symbol first, symbol i by state i mod 4 into word stream i mod 4, which
 * occupies words[w·r, (w+1)·r) and is filled back to front. freqs sums to 2^scale. io: on return
 * the four final states, then the four streams' first word (its start position).
 */
__attribute__((export_name("rans_encode")))
void rans_encode(const uint32_t *freqs, uint32_t scale, const uint8_t *p, uint32_t n,
                 uint16_t *words, uint32_t r, uint32_t *io) {
  for (uint32_t s = 0, start = 0; s < 256; s++) {
    uint32_t f = freqs[s];
    enc[s].start = start;
    start += f;
    if (f == 0) continue;
    // Coding s into x ≥ f·2^(31−scale) would leave [L, 2^31): such x shed their low word first.
    enc[s].max = f == 1u << scale ? 0x7fffffffu : f << (31 - scale);
    uint32_t lg = 0;
    while ((1u << lg) < f) lg++;
    // Exact for every x < 2^31 (Alverson): the error of the rounded-up reciprocal, times x, stays
    // below 2^−lg ≤ 1/f, which is less than the distance from x/f to the next integer.
    enc[s].rcp = (uint32_t)((((uint64_t)1 << (31 + lg)) + f - 1) / f);
    enc[s].shift = 31 + lg;
    enc[s].cmpl = (1u << scale) - f;
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
    uint32_t q = (uint32_t)(((uint64_t)x[j] * e->rcp) >> e->shift);
    x[j] = x[j] + e->start + q * e->cmpl;
  }
  // The body, branch-free: a state's low word is always stored below its stream's write position,
  // and kept (the position moved) only when the state must shrink.
  uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
  uint32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
  for (uint32_t i = n4; i >= 4;) {
    i -= 4;
    uint32_t b;
    __builtin_memcpy(&b, p + i, 4);
    ENC_STEP(x3, w3, b >> 24);
    ENC_STEP(x2, w2, (b >> 16) & 0xff);
    ENC_STEP(x1, w1, (b >> 8) & 0xff);
    ENC_STEP(x0, w0, b & 0xff);
  }
  io[0] = x0; io[1] = x1; io[2] = x2; io[3] = x3;
  io[4] = w0; io[5] = w1; io[6] = w2; io[7] = w3;
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
  uint32_t x[WAYS] = {x0, x1, x2, x3}, a[WAYS] = {a0, a1, a2, a3}, e[WAYS] = {e0, e1, e2, e3};
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
