// The scatter of the sparse plane code (codec/sparse-plane.ts, which holds the TypeScript reference):
// plane byte 8j + i is the next value when bit i of mask byte j is set, else zero. A mask byte of
// zero (most of them, on the top plane of a delta) is one 8-byte store.
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

// Writes mask_len * 8 bytes at out from the mask and the count values; returns how many values the
// mask used, or 0xFFFFFFFF when it flags more than count. values must be readable up to count + 8.
__attribute__((export_name("scatter")))
u32 scatter(const u8 *mask, u32 mask_len, const u8 *values, u32 count, u8 *out) {
  u32 v = 0;
  for (u32 j = 0; j < mask_len; j++) {
    u32 m = mask[j];
    u8 *o = out + ((u64)j << 3);
    if (m == 0) {
      __builtin_memset(o, 0, 8);
      continue;
    }
    if (v + (u32)__builtin_popcount(m) > count) return 0xFFFFFFFFu;
    for (u32 b = 0; b < 8; b++) {
      u32 bit = (m >> b) & 1;
      o[b] = bit ? values[v] : 0;
      v += bit;
    }
  }
  return v;
}
