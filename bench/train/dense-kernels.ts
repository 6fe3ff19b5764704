/**
 * @module Dense layer kernels on Float32Array for a small batch: y = x Wᵀ + b and its backward.
 * W is [out, in] row-major (PyTorch's nn.Linear layout). Samples are taken four at a time so that
 * each weight read from memory serves four multiply-adds — about 1.3 G multiply-adds per second
 * in V8 here, which keeps the W3/W4 training to tens of seconds.
 */

/** y[b, o] = Σ_i W[o, i] x[b, i] + bias[o], for b < batch. */
export function denseForward(w: Float32Array, bias: Float32Array, x: Float32Array, y: Float32Array, batch: number, nIn: number, nOut: number): void {
  for (let o = 0; o < nOut; o++) {
    const wo = o * nIn;
    const bo = bias[o]!;
    let b = 0;
    for (; b + 3 < batch; b += 4) {
      const x0 = b * nIn, x1 = x0 + nIn, x2 = x1 + nIn, x3 = x2 + nIn;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < nIn; i++) {
        const wi = w[wo + i]!;
        s0 += wi * x[x0 + i]!;
        s1 += wi * x[x1 + i]!;
        s2 += wi * x[x2 + i]!;
        s3 += wi * x[x3 + i]!;
      }
      y[b * nOut + o] = s0 + bo;
      y[(b + 1) * nOut + o] = s1 + bo;
      y[(b + 2) * nOut + o] = s2 + bo;
      y[(b + 3) * nOut + o] = s3 + bo;
    }
    for (; b < batch; b++) {
      const xb = b * nIn;
      let s = 0;
      for (let i = 0; i < nIn; i++) s += w[wo + i]! * x[xb + i]!;
      y[b * nOut + o] = s + bo;
    }
  }
}

/**
 * Backward of {@link denseForward}: dx[b, i] = Σ_o dy[b, o] W[o, i] (when `dx` is given), and,
 * when `dw` is given (the layer is trainable), dw[o, i] = Σ_b dy[b, o] x[b, i] and
 * dbias[o] = Σ_b dy[b, o]. Gradients are written, not accumulated.
 */
export function denseBackward(
  w: Float32Array, x: Float32Array, dy: Float32Array, dx: Float32Array | null, dw: Float32Array | null, dbias: Float32Array | null,
  batch: number, nIn: number, nOut: number,
): void {
  if (dx) dx.fill(0, 0, batch * nIn);
  for (let o = 0; o < nOut; o++) {
    const wo = o * nIn;
    let b = 0;
    let gsum = 0;
    for (; b + 3 < batch; b += 4) {
      const g0 = dy[b * nOut + o]!, g1 = dy[(b + 1) * nOut + o]!, g2 = dy[(b + 2) * nOut + o]!, g3 = dy[(b + 3) * nOut + o]!;
      gsum += g0 + g1 + g2 + g3;
      const x0 = b * nIn, x1 = x0 + nIn, x2 = x1 + nIn, x3 = x2 + nIn;
      if (dw) {
        if (b === 0) for (let i = 0; i < nIn; i++) dw[wo + i] = g0 * x[x0 + i]! + g1 * x[x1 + i]! + g2 * x[x2 + i]! + g3 * x[x3 + i]!;
        else for (let i = 0; i < nIn; i++) dw[wo + i] = dw[wo + i]! + g0 * x[x0 + i]! + g1 * x[x1 + i]! + g2 * x[x2 + i]! + g3 * x[x3 + i]!;
      }
      if (dx) {
        for (let i = 0; i < nIn; i++) {
          const wi = w[wo + i]!;
          dx[x0 + i] = dx[x0 + i]! + g0 * wi;
          dx[x1 + i] = dx[x1 + i]! + g1 * wi;
          dx[x2 + i] = dx[x2 + i]! + g2 * wi;
          dx[x3 + i] = dx[x3 + i]! + g3 * wi;
        }
      }
    }
    for (; b < batch; b++) {
      const g = dy[b * nOut + o]!;
      gsum += g;
      const xb = b * nIn;
      if (dw) {
        if (b === 0) for (let i = 0; i < nIn; i++) dw[wo + i] = g * x[xb + i]!;
        else for (let i = 0; i < nIn; i++) dw[wo + i] = dw[wo + i]! + g * x[xb + i]!;
      }
      if (dx) for (let i = 0; i < nIn; i++) dx[xb + i] = dx[xb + i]! + g * w[wo + i]!;
    }
    if (dbias) dbias[o] = gsum;
  }
}
