/**
 * @module Byte-grouping: plane k holds byte k of every element. In float weights the sign/exponent
 * bytes are highly repetitive while the low mantissa bytes are near random; separating them lets
 * zstd compress the former well and lets us skip the latter (what ZipNN does).
 */

/** Groups `data` into `width` planes; a tail shorter than one element follows the planes unchanged. */
export function groupBytes(data: Uint8Array, width: number, out = new Uint8Array(data.byteLength)): Uint8Array {
  const n = Math.floor(data.byteLength / width);
  if (width <= 1) {
    out.set(data);
    return out;
  }
  if (width === 4) {
    const p1 = n, p2 = 2 * n, p3 = 3 * n;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      out[i] = data[j]!;
      out[p1 + i] = data[j + 1]!;
      out[p2 + i] = data[j + 2]!;
      out[p3 + i] = data[j + 3]!;
    }
  } else if (width === 2) {
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      out[i] = data[j]!;
      out[n + i] = data[j + 1]!;
    }
  } else {
    for (let k = 0; k < width; k++) {
      const base = k * n;
      for (let i = 0, j = k; i < n; i++, j += width) out[base + i] = data[j]!;
    }
  }
  out.set(data.subarray(n * width), n * width);
  return out;
}

/** Inverts {@link groupBytes}. */
export function ungroupBytes(grouped: Uint8Array, width: number, out = new Uint8Array(grouped.byteLength)): Uint8Array {
  const n = Math.floor(grouped.byteLength / width);
  if (width <= 1) {
    out.set(grouped);
    return out;
  }
  if (width === 4) {
    const p1 = n, p2 = 2 * n, p3 = 3 * n;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      out[j] = grouped[i]!;
      out[j + 1] = grouped[p1 + i]!;
      out[j + 2] = grouped[p2 + i]!;
      out[j + 3] = grouped[p3 + i]!;
    }
  } else if (width === 2) {
    for (let i = 0, j = 0; i < n; i++, j += 2) {
      out[j] = grouped[i]!;
      out[j + 1] = grouped[n + i]!;
    }
  } else {
    for (let k = 0; k < width; k++) {
      const base = k * n;
      for (let i = 0, j = k; i < n; i++, j += width) out[j] = grouped[base + i]!;
    }
  }
  out.set(grouped.subarray(n * width), n * width);
  return out;
}
