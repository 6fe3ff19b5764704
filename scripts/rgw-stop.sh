#!/usr/bin/env bash
# rgw-stop.sh DIR — stops the daemons scripts/rgw-start.sh DIR started, found by their pid files and
# killed only while the pid still belongs to a ceph process started with DIR/ceph.conf (so a
# recycled pid is never hit), then removes DIR.
set -uo pipefail
DIR=${1:?usage: rgw-stop.sh DIR}
[ -d "$DIR" ] || exit 0
DIR=$(cd "$DIR" && pwd)
[ -f "$DIR/ceph.conf" ] || { echo "rgw-stop: $DIR is not an rgw-start.sh directory; left alone" >&2; exit 1; }

ours() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$DIR/ceph.conf"; }
pids=()
# gateway first, monitor last, so the others can still talk to it while they shut down
for f in "$DIR"/run/client.rgw.*.pid "$DIR"/run/osd.*.pid "$DIR"/run/mon.*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid"; then kill -TERM "$pid" 2>/dev/null && pids+=("$pid"); fi
done
for _ in $(seq 50); do
  alive=()
  for p in "${pids[@]}"; do ours "$p" && alive+=("$p"); done
  [ ${#alive[@]} = 0 ] && break
  sleep 0.2
done
for p in "${alive[@]}"; do ours "$p" && kill -KILL "$p" 2>/dev/null; done
rm -rf "$DIR"
echo "rgw-stop: stopped ${#pids[@]} daemons" >&2
