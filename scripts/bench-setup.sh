#!/usr/bin/env bash
# Installs what `npm run bench` compares engram against: Debian's python3-torch (and numpy), used
# through /usr/bin/python3 for the torch.save / torch.load baseline. Skips the install when
# Debian's python can already import torch. Needs root (or sudo) and Debian's apt mirror.
set -euo pipefail

PY=/usr/bin/python3

if [ -x "$PY" ] && "$PY" -c 'import torch' >/dev/null 2>&1; then
  echo "bench:setup: $PY already imports torch $("$PY" -c 'import torch; print(torch.__version__)')"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "bench:setup: installing python3-torch needs root; run as root or install sudo" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends python3 python3-torch python3-numpy

"$PY" -c 'import torch; print("bench:setup: torch", torch.__version__, "ready for", __import__("sys").executable)'
