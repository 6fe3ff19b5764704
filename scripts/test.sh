#!/usr/bin/env bash
# scripts/test.sh — the test command (`npm test` runs `tsc --noEmit && bash scripts/test.sh`).
#
# 1. Installs the Debian packages the tests need, if any is missing, in one apt-get call (as root, or
#    through sudo when not root: the README says what and why).
# 2. Unless the environment already names an S3 server (ENGRAM_TEST_S3_ENDPOINT or AWS_ENDPOINT_URL,
#    with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), starts a throw-away Ceph RGW with
#    scripts/rgw-start.sh in a temp dir, exports its env, and stops it at exit whatever happens.
#    If it cannot start, the tests still run and the S3 tests fail with the reason
#    (ENGRAM_TEST_S3_ERROR): they never skip.
# 3. Compiles src/ into dist/ (JavaScript only; the CLI tests run bin/engram.cjs, which runs dist/).
# 4. Runs every test file with node's test runner and exits with its status.
#
# Extra arguments replace the default file list: `bash scripts/test.sh test/store/*.test.ts`.
set -uo pipefail
cd "$(dirname "$0")/.."

PKGS=(ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl python3-torch python3-h5py python3-onnx python3-numpy clang-16 lld-16 chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  SUDO=(); [ "$(id -u)" = 0 ] || SUDO=(sudo)
  apt() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
  # `apt-get update` only when the install fails without it (stale or empty package lists).
  apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt update -qq >/dev/null 2>&1 && apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    echo "test.sh: could not install ${missing[*]}; tests that need them will fail and say so" >&2
fi

RGW_DIR=""
stop_rgw() {
  if [ -n "$RGW_DIR" ]; then
    bash scripts/rgw-stop.sh "$RGW_DIR" >/dev/null 2>&1
    rmdir "$RGW_DIR" 2>/dev/null # still there if rgw-start.sh failed before writing its ceph.conf
  fi
  RGW_DIR=""
}
trap stop_rgw EXIT
trap 'stop_rgw; exit 130' INT TERM

if [ -n "${ENGRAM_TEST_S3_ENDPOINT:-${AWS_ENDPOINT_URL:-}}" ] && [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then
  echo "test.sh: using the S3 server at ${ENGRAM_TEST_S3_ENDPOINT:-$AWS_ENDPOINT_URL}" >&2
else
  RGW_DIR=$(mktemp -d "${TMPDIR:-/tmp}/engram-rgw-test.XXXXXX")
  RGW_LOG=$RGW_DIR.log
  if bash scripts/rgw-start.sh "$RGW_DIR" 2>"$RGW_LOG"; then
    # shellcheck disable=SC1091
    source "$RGW_DIR/s3.env"
    echo "test.sh: Ceph RGW at $AWS_ENDPOINT_URL" >&2
  else
    ENGRAM_TEST_S3_ERROR="scripts/rgw-start.sh failed: $(tail -n 5 "$RGW_LOG" | tr '\n' ' ')"
    export ENGRAM_TEST_S3_ERROR
    echo "test.sh: $ENGRAM_TEST_S3_ERROR" >&2
    # It may have started some daemons before failing: stop exactly those.
    stop_rgw
  fi
  rm -f "$RGW_LOG"
fi

# Before the test files start: each would otherwise bring dist/ up to date itself, all at once.
node --import tsx scripts/build.ts --js || exit 1

if [ $# -gt 0 ]; then files=("$@"); else files=(test/*/*.test.ts); fi
node --import tsx --test --test-concurrency=2 "${files[@]}"
status=$?
stop_rgw
exit $status
