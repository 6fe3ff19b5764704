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
