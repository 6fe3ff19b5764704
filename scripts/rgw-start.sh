#!/usr/bin/env bash
# rgw-start.sh DIR — boots a throw-away one-node Ceph 16 cluster with an S3 gateway for engram's tests:
# one monitor, one memstore OSD (data in RAM, nothing on disk but logs) and one radosgw, all on
# random free 127.0.0.1 ports, all state, logs and pid files under DIR. Installs Debian's packages
# when they are missing. Creates an S3 user and the test bucket, waits for the first successful PUT,
# writes DIR/s3.env (export lines to `source`) and exits leaving the daemons running.
# Stop with scripts/rgw-stop.sh DIR, which kills exactly what this started (by pid file).
#
# Knobs: RGW_OSD_MB (memstore capacity, default 4096), RGW_ACCESS_KEY / RGW_SECRET_KEY,
# RGW_BUCKET (default engram-test), RGW_SKIP_INSTALL=1.
set -euo pipefail

DIR=${1:?usage: rgw-start.sh DIR}
OSD_MB=${RGW_OSD_MB:-4096}
ACCESS_KEY=${RGW_ACCESS_KEY:-engramtestaccesskey0}
SECRET_KEY=${RGW_SECRET_KEY:-engramtestsecretkey000000000000000000000}
BUCKET=${RGW_BUCKET:-engram-test}
START=$SECONDS
say() { echo "[rgw-start +$((SECONDS - START))s] $*" >&2; }
die() { echo "rgw-start: $*" >&2; exit 1; }

# --- packages: install only what is missing; `apt-get update` only when the install needs it
PKGS=(ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] && [ "${RGW_SKIP_INSTALL:-0}" != 1 ]; then
  say "installing ${missing[*]}"
  SUDO=(); [ "$(id -u)" = 0 ] || SUDO=(sudo)
  apt() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
  apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt update -qq >/dev/null 2>&1 && apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "could not install ${missing[*]} with apt-get"
fi
for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen curl; do
  command -v "$b" >/dev/null || die "$b is not installed (Debian packages: ${PKGS[*]})"
done

# --- layout
[ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ] && die "$DIR exists and is not empty"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
mkdir -p "$DIR"/{mon,osd,rgw,run,log}
CONF=$DIR/ceph.conf

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MON_PORT=$(free_port)
RGW_PORT=$(free_port)
FSID=$(uuidgen)

# Why these settings (measured on Ceph 16.2, see docs/ARCHITECTURE.md "S3"):
# - auth none needs every messenger mode at crc, or radosgw waits 300 s on a "secure" mon session;
# - paxos propose interval 0.05 commits pool creation at once (start-up ~4 s instead of ~15 s);
# - one OSD: pool size 1, crush picks OSDs not hosts, 8 PGs per pool, no autoscaler.
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
crash dir = $DIR/log
log to stderr = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $DIR/mon
mon cluster log file = $DIR/log/cluster.log

[osd]
osd data = $DIR/osd
osd objectstore = memstore
memstore device bytes = $((OSD_MB * 1024 * 1024))
osd op num shards = 2
osd op num threads per shard = 1

[client.rgw.engram]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw thread pool size = 64
rgw dynamic resharding = false
rgw enable usage log = false
CONF
CEPH=(ceph -c "$CONF" --connect-timeout 30)

say "mon on 127.0.0.1:$MON_PORT"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring /dev/null
ceph-mon -c "$CONF" -i a
for _ in $(seq 120); do "${CEPH[@]}" mon stat >/dev/null 2>&1 && break; sleep 0.25; done

say "osd (memstore, $OSD_MB MB)"
OSD_UUID=$(uuidgen)
OSD_ID=$("${CEPH[@]}" osd new "$OSD_UUID")
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.out" 2>&1 || { cat "$DIR/log/osd-mkfs.out" >&2; die "osd mkfs failed"; }
ceph-osd -c "$CONF" -i "$OSD_ID" 2>>"$DIR/log/osd-start.err"
up=0
for _ in $(seq 240); do "${CEPH[@]}" osd dump 2>/dev/null | grep -q "^osd.$OSD_ID up" && { up=1; break; }; sleep 0.25; done
[ $up = 1 ] || die "osd did not come up; see $DIR/log"

say "radosgw on 127.0.0.1:$RGW_PORT"
radosgw -c "$CONF" -n client.rgw.engram --rgw-init-timeout 120
ENDPOINT=http://127.0.0.1:$RGW_PORT
up=0
for _ in $(seq 480); do curl -sf -o /dev/null "$ENDPOINT/" && { up=1; break; }; sleep 0.25; done
[ $up = 1 ] || die "radosgw did not answer on $ENDPOINT; see $DIR/log"

say "S3 user, bucket $BUCKET, first PUT"
radosgw-admin -c "$CONF" user create --uid=engram-test --display-name="engram tests" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
# curl 7.88 signs SigV4 but does not send the payload hash header S3 requires unless given one.
SIGN=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
ok=0
for _ in $(seq 120); do
  # A bucket that already exists (owned by us) answers 409 BucketAlreadyOwnedByYou or 200: both fine.
  curl -s -o /dev/null -X PUT "${SIGN[@]}" "$ENDPOINT/$BUCKET" || true
  curl -sf -o /dev/null -X PUT "${SIGN[@]}" --data-binary 'ready' "$ENDPOINT/$BUCKET/.rgw-start-probe" && { ok=1; break; }
  sleep 0.25
done
[ $ok = 1 ] || die "no successful PUT to $ENDPOINT/$BUCKET; see $DIR/log"
curl -s -o /dev/null -X DELETE "${SIGN[@]}" "$ENDPOINT/$BUCKET/.rgw-start-probe" || true

cat >"$DIR/s3.env" <<ENV
export AWS_ENDPOINT_URL=$ENDPOINT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=us-east-1
export ENGRAM_TEST_S3_ENDPOINT=$ENDPOINT
export ENGRAM_TEST_S3_BUCKET=$BUCKET
export ENGRAM_TEST_S3_BUCKET_PREFIX=$BUCKET
ENV
say "ready: $ENDPOINT (env in $DIR/s3.env)"
