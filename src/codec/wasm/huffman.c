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

/** Two sub-histograms per segment (even and odd positions): halves the store-to-load chains of runs. */
static uint32_t sub[2 * WAYS][256];

/**
 * counts[256·w + s] ← how often s occurs in segment w of p[0..n); returns the plane's check. The
 * four segments are walked together, two positions at a time into separate sub-histograms, so that
 * a run of one symbol (half the exponent plane is one value) does not serialise on one counter.
 */
__attribute__((export_name("huffman_histogram")))
uint32_t huffman_histogram(const uint8_t *p, uint32_t n, uint32_t *counts) {
  __builtin_memset(sub, 0, sizeof sub);
  uint32_t q = (n + 3) / 4;
  const uint8_t *p1 = p + seg_start(n, 1), *p2 = p + seg_start(n, 2), *p3 = p + seg_start(n, 3);
  uint32_t common = n - seg_start(n, 3);
  uint32_t i = 0;
  // Eight bytes of each segment per load: a load, a shift and a mask per byte instead of a load.
  for (; i + 8 <= common; i += 8) {
    uint64_t a = load64(p + i), b = load64(p1 + i), c = load64(p2 + i), d = load64(p3 + i);
    for (int j = 0; j < 64; j += 16) {
      sub[0][(a >> j) & 0xff]++;
      sub[1][(a >> (j + 8)) & 0xff]++;
      sub[2][(b >> j) & 0xff]++;
      sub[3][(b >> (j + 8)) & 0xff]++;
      sub[4][(c >> j) & 0xff]++;
      sub[5][(c >> (j + 8)) & 0xff]++;
      sub[6][(d >> j) & 0xff]++;
      sub[7][(d >> (j + 8)) & 0xff]++;
    }
  }
  for (uint32_t w = 0; w < WAYS; w++) {
    uint32_t to = min32(n, seg_start(n, w) + q);
    for (uint32_t j = seg_start(n, w) + i; j < to; j++) sub[2 * w][p[j]]++;
  }
  for (uint32_t w = 0; w < WAYS; w++)
    for (uint32_t s = 0; s < 256; s++) counts[256 * w + s] = sub[2 * w][s] + sub[2 * w + 1][s];
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

/**
 * The encoder's pair table: for symbols a, b both present, the codes of a then b as one code:
 * code(a) | code(b) << len(a) | (len(a) + len(b)) << 24, indexed by a | b << 8 (the two bytes as
 * one little-endian u16). Entries of absent symbols are stale and never read. Halves the work per
 * symbol; only the k² entries of present pairs are built (1,600 for an exponent plane).
 */
static uint32_t pair_codes[1 << 16];

static void build_pair_codes(const uint32_t *codes) {
  uint8_t present[256];
  uint32_t k = 0;
  for (uint32_t s = 0; s < 256; s++)
    if (codes[s] >> 16) present[k++] = (uint8_t)s;
  for (uint32_t i = 0; i < k; i++) {
    uint32_t a = codes[present[i]], la = a >> 16;
    for (uint32_t j = 0; j < k; j++) {
      uint32_t b = codes[present[j]];
      pair_codes[present[i] | (uint32_t)present[j] << 8] = ((a & 0xffff) | (b & 0xffff) << la) | (la + (b >> 16)) << 24;
    }
  }
}

/** Appends the pair table's entry e (two codes) to bit buffer b holding nb bits. */
#define PUT2(b, nb, e)                              \
  do {                                              \
    b |= (uint64_t)(e & 0xffffff) << nb;            \
    nb += e >> 24;                                  \
  } while (0)

/** Codes the eight symbols at src into bit buffer b (nb bits pending) and stream position o. */
#define ENC8(b, nb, o, src)                                                           \
  do {                                                                                \
    uint64_t w8 = load64(src);                                                        \
    uint32_t lo = (uint32_t)w8, hi = (uint32_t)(w8 >> 32);                            \
    uint32_t e0 = pair_codes[lo & 0xffff], e1 = pair_codes[lo >> 16];                 \
    uint32_t e2 = pair_codes[hi & 0xffff], e3 = pair_codes[hi >> 16];                 \
    PUT2(b, nb, e0);                                                                  \
    PUT2(b, nb, e1);                                                                  \
    FLUSH(b, nb, o);                                                                  \
    PUT2(b, nb, e2);                                                                  \
    PUT2(b, nb, e3);                                                                  \
    FLUSH(b, nb, o);                                                                  \
  } while (0)

/** A stream being coded: bit buffer, pending bits, write position. */
typedef struct {
  uint64_t b;
  uint32_t nb;
  uint8_t *o;
} Writer;

/** Codes src[i, size) into the writer, then its last bits; returns the stream's end. */
static uint8_t *encode_rest(const uint32_t *codes, Writer *wr, const uint8_t *src, uint32_t i, uint32_t size) {
  uint64_t b = wr->b;
  uint32_t nb = wr->nb;
  uint8_t *o = wr->o;
  for (; i + 8 <= size; i += 8) ENC8(b, nb, o, (src + i));
  for (; i < size; i++) {
    PUT(b, nb, src[i]);
    FLUSH(b, nb, o);
  }
  store64(o, b);
  return o + ((nb + 7) >> 3);
}

/**
 * Codes two segments into the streams at oa and ob, eight symbols of each per step (four codes of
 * ≤ 12 bits on top of ≤ 7 pending bits fit 64 before each store), two streams at a time so that
 * their dependency chains overlap; sets each stream's length.
 */
static void encode_pair(const uint32_t *codes, const uint8_t *sa, uint32_t na, uint8_t *oa, uint32_t *la,
                        const uint8_t *sb, uint32_t nb_, uint8_t *ob, uint32_t *lb) {
  Writer wa = {0, 0, oa}, wb = {0, 0, ob};
  uint64_t ba = 0, bb = 0;
  uint32_t ka = 0, kb = 0, i = 0;
  uint8_t *pa = oa, *pb = ob;
  for (uint32_t both = min32(na, nb_) & ~7u; i < both; i += 8) {
    ENC8(ba, ka, pa, (sa + i));
    ENC8(bb, kb, pb, (sb + i));
    SCALAR(ka);
    SCALAR(kb);
  }
  wa.b = ba; wa.nb = ka; wa.o = pa;
  wb.b = bb; wb.nb = kb; wb.o = pb;
  *la = (uint32_t)(encode_rest(codes, &wa, sa, i, na) - oa);
  *lb = (uint32_t)(encode_rest(codes, &wb, sb, i, nb_) - ob);
}

/**
 * Codes p[0..n), segment w into the stream starting at io[w], with codes[s] = bit-reversed code |
 * length << 16 (every length ≤ 12; 0 for absent symbols). io[4 + w] ← stream w's length in bytes.
 */
__attribute__((export_name("huffman_encode")))
void huffman_encode(const uint32_t *codes, const uint8_t *p, uint32_t n, uint32_t *io) {
  build_pair_codes(codes);
  for (uint32_t w = 0; w < WAYS; w += 2) {
    uint32_t a = seg_start(n, w), b = seg_start(n, w + 1), c = seg_start(n, w + 2);
    encode_pair(codes, p + a, b - a, (uint8_t *)(uintptr_t)io[w], &io[4 + w], p + b, c - b,
                (uint8_t *)(uintptr_t)io[w + 1], &io[5 + w]);
  }
}

/**
 * The decoder's multi-symbol table, built from the single-symbol table: per 2^bits index, the
 * symbols whose codes fit whole in those bits, up to three: bits taken | symbols (1..3) << 6 |
 * sym0 << 8 | sym1 << 16 | sym2 << 24. The bits taken sit lowest so that a 64-bit shift by the
 * entry (which WebAssembly masks to 6 bits) consumes them with no extraction. The exponent plane
 * averages 2.7 bits per symbol, so a lookup of 11 bits yields 2–3 symbols.
 */
static uint32_t multi[1 << 12];

static void build_multi(const uint16_t *table, uint32_t bits) {
  const uint32_t size = 1u << bits;
  for (uint32_t j = 0; j < size; j++) {
    uint32_t e = table[j], used = e >> 8, syms = e & 0xff, count = 1;
    for (; count < 3; count++) {
      uint32_t f = table[j >> used], lf = f >> 8;
      if (used + lf > bits) break;
      syms |= (f & 0xff) << (8 * count);
      used += lf;
    }
    multi[j] = used | count << 6 | syms << 8;
  }
}

/** Bit 56 of a step's window: the bits below it are the stream's, and where it ends up tells how many were taken. */
#define SENTINEL ((uint64_t)1 << 56)

/**
 * One stream's step of S lookups from bit position x, writing 1–3 symbols each at d (S lookups of
 * ≤ 56/S bits: one load suffices). A lookup stores four bytes always; those that are not symbols
 * are overwritten by the next lookup, or lie past the run (see decode_body). The window carries a
 * sentinel bit above its 56 bits, so the bits the step took are counted once, from where the
 * sentinel moved to, instead of once per lookup.
 */
#define DEC_STEP(x, d, S)                                                        \
  do {                                                                           \
    uint64_t v = (load64(payload + (x >> 3)) >> (x & 7) & (SENTINEL - 1)) | SENTINEL; \
    for (int j = 0; j < S; j++) {                                                \
      uint32_t e = multi[v & mask];                                              \
      uint32_t syms = e >> 8;                                                    \
      __builtin_memcpy(d, &syms, 4);                                             \
      d += (e >> 6) & 3;                                                         \
      v >>= e & 63;                                                              \
    }                                                                            \
    x += (uint32_t)__builtin_clzll(v) - 7;                                       \
  } while (0)

static inline uint32_t steps_left(uint32_t x, uint32_t end, const uint8_t *d, const uint8_t *stop, uint32_t most, uint32_t out_most) {
  return min32((end - x) / most, (uint32_t)(stop - d) / out_most);
}

/**
 * Decodes all four streams by pair lookups while every stream provably has the bits and the room
 * for the whole run: a step takes at most S·bits bits of each stream and writes at most 3·S + 1
 * bytes, so no position of a run passes its stream's end nor any store its segment's end (the
 * 8-byte load at the end of a stream stays within the payload's slack). Leaves each stream's bit
 * position in x and its output position in d.
 */
static inline __attribute__((always_inline)) void decode_body(uint32_t bits, const uint8_t *payload, uint32_t *x,
                                                              const uint32_t *e, uint8_t **d, uint8_t *const *stop, int S) {
  const uint32_t mask = (1u << bits) - 1;
  const uint32_t most = (uint32_t)S * bits, out_most = 3 * (uint32_t)S + 1;
  uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
  uint8_t *d0 = d[0], *d1 = d[1], *d2 = d[2], *d3 = d[3];
  for (;;) {
    uint32_t steps = min32(min32(steps_left(x0, e[0], d0, stop[0], most, out_most), steps_left(x1, e[1], d1, stop[1], most, out_most)),
                           min32(steps_left(x2, e[2], d2, stop[2], most, out_most), steps_left(x3, e[3], d3, stop[3], most, out_most)));
    if (steps == 0) break;
    for (; steps > 0; steps--) {
      DEC_STEP(x0, d0, S);
      DEC_STEP(x1, d1, S);
      DEC_STEP(x2, d2, S);
      DEC_STEP(x3, d3, S);
      SCALAR(x0);
      SCALAR(x1);
      SCALAR(x2);
      SCALAR(x3);
    }
  }
  x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3;
  d[0] = d0; d[1] = d1; d[2] = d2; d[3] = d3;
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
  uint8_t *d[WAYS], *stop[WAYS];
  for (uint32_t w = 0; w < WAYS; w++) {
    x[w] = io[w] * 8;
    e[w] = io[4 + w] * 8;
    d[w] = out + seg_start(n, w);
    stop[w] = out + seg_start(n, w + 1);
  }
  build_multi(table, bits);
  if (bits <= 11) decode_body(bits, payload, x, e, d, stop, 5);
  else decode_body(bits, payload, x, e, d, stop, 4);
  const uint32_t mask = (1u << bits) - 1;
  // The rest one symbol at a time, every code checked against its stream's end.
  for (uint32_t w = 0; w < WAYS; w++) {
    uint32_t p = x[w];
    for (uint8_t *o = d[w]; o < stop[w]; o++) {
      uint32_t v = (uint32_t)(load64(payload + (p >> 3)) >> (p & 7));
      uint32_t en = table[v & mask];
      if (p + (en >> 8) > e[w]) return (int32_t)(1 + w);
      *o = (uint8_t)en;
      p += en >> 8;
    }
    if ((p + 7) >> 3 != e[w] >> 3 || ((p & 7) && (payload[p >> 3] >> (p & 7)) != 0)) return (int32_t)(5 + w);
  }
  io[8] = plane_check(out, n);
  return 0;
}
