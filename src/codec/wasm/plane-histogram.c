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

// The counting half of codec/plane-stats.ts: the histogram of positions 0, step, 2*step, ... and
// how many of them (past the first) equal the byte before them. The entropy arithmetic stays in
// TypeScript so that both paths give the same floating-point results. `counts` is zeroed here.
__attribute__((export_name("plane_stats")))
uint32_t plane_stats(const uint8_t *p, size_t length, size_t step, uint32_t *counts) {
  for (int s = 0; s < 256; s++) counts[s] = 0;
  if (length == 0) return 0;
  uint32_t repeats = 0;
  counts[p[0]]++;
  for (size_t i = step; i < length; i += step) {
    uint8_t b = p[i];
    counts[b]++;
    repeats += b == p[i - 1];
  }
  return repeats;
}
