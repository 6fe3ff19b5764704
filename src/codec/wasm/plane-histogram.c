// Byte histogram of one plane, the first pass of both rANS (frequencies) and the encoder's choice
// between keyframe and delta. Four sub-histograms so that a run of one symbol does not serialise
// on one counter (the same reason as the TypeScript reference in codec/rans.ts).
#include <stddef.h>
#include <stdint.h>

__attribute__((export_name("plane_histogram")))
void plane_histogram(const uint8_t *p, size_t n, uint32_t *out) {
  uint32_t c[4][256] = {{0}};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    c[0][p[i]]++;
    c[1][p[i + 1]]++;
    c[2][p[i + 2]]++;
    c[3][p[i + 3]]++;
  }
  for (; i < n; i++) c[0][p[i]]++;
  for (int s = 0; s < 256; s++) out[s] = c[0][s] + c[1][s] + c[2][s] + c[3][s];
}

// The counting half of codec/plane-stats.ts (the entropy arithmetic stays in TypeScript, so both
// paths give the same floating-point results), taken block by block while a chunk is grouped in
// blocks (codec/byte-group.ts runBlocked): `planes` holds `width` plane segments of `count` bytes each, covering positions
// [first, first + count) of planes whose samples are the multiples of `step`. `state` keeps 258
// words per plane across blocks, zeroed by the caller before the first: 256 counts, the repeats,
// and the last byte of the previous block's segment (the predecessor of a sample at `first`).
__attribute__((export_name("block_stats")))
void block_stats(const uint8_t *planes, size_t count, size_t width, size_t first, size_t step, uint32_t *state) {
  if (count == 0) return;
  size_t i0 = (first + step - 1) / step * step;
  for (size_t p = 0; p < width; p++) {
    const uint8_t *seg = planes + p * count;
    uint32_t *st = state + 258 * p;
    uint32_t repeats = 0;
    for (size_t i = i0; i < first + count; i += step) {
      uint8_t b = seg[i - first];
      st[b]++;
      if (i > 0) repeats += b == (i > first ? seg[i - first - 1] : (uint8_t)st[257]);
    }
    st[256] += repeats;
    st[257] = seg[count - 1];
  }
}
