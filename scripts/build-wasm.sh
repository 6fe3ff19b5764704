#!/usr/bin/env bash
# Rebuilds the codec's WebAssembly kernels: src/codec/wasm/<name>.c → <out>/<name>.wasm (default
# src/codec/wasm/, where the built modules are committed so that no user needs a compiler).
# Needs Debian's clang-16 and lld-16 (`apt-get install clang-16 lld-16`). The flags are part of
# the build: test/codec/wasm-build.test.ts rebuilds every kernel with this script into a scratch
# folder and compares the bytes with the committed modules.
#
#   bash scripts/build-wasm.sh            # rebuild in place, then commit the .wasm files
#   bash scripts/build-wasm.sh /tmp/out   # build elsewhere (what the test does)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-src/codec/wasm}
mkdir -p "$out"
command -v clang-16 >/dev/null || { echo "build-wasm: clang-16 is missing: apt-get install clang-16 lld-16" >&2; exit 1; }
command -v wasm-ld-16 >/dev/null || { echo "build-wasm: wasm-ld-16 is missing: apt-get install lld-16" >&2; exit 1; }
for c in src/codec/wasm/*.c; do
  name=$(basename "$c" .c)
  # Freestanding (no libc: the kernels are loops over memory the host lays out), SIMD128 and bulk
  # memory (both in every Node since 16), memory exported and growable, names stripped so that
  # the output depends on the source and the flags only.
  clang-16 --target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -ffreestanding \
    -fuse-ld=lld -Wl,--no-entry -Wl,--strip-all -Wl,--export=__heap_base -Wl,-z,stack-size=262144 \
    -o "$out/$name.wasm" "$c"
done
