#!/bin/sh
# bench/queue/run.sh: the queue collector against a real, full Postfix queue.
#
#   bench/queue/run.sh [COUNT...]        (default: 10000 50000; run as root)
#
# For each COUNT it puts COUNT deferred messages into the loopback-only
# Postfix of scripts/setup-postfix and prints, side by side:
#   - `postqueue -j > /dev/null` alone (the floor): wall time, max RSS;
#   - bench_queue, one collector run: wall time, CPU, peak RSS of the
#     collector and of postqueue;
#   - Debian's prometheus-postfix-exporter (if installed), which reads the
#     queue through the showq socket at scrape time: scrape time, RSS;
#   - mailhealth_exporter with only the queue collector: scrape time, RSS.
# Filling takes minutes (tests/tools/fill-queue, ~100 msg/s), so the
# filled spool (deferred/ and defer/) is cached as a tarball in
# $CACHE and restored on later runs; the restored messages are removed
# again at the end (only those: other mail in the queue is left alone).
# Everything listens on 127.0.0.1 only. Not part of ctest.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# Its own Postfix, in private namespaces (tests/tools/isolate): the
# machine's Postfix and its queue are never touched.
[ "${MAILHEALTH_ISOLATED:-}" = 1 ] || exec "$SRC/tests/tools/isolate" "$0" "$@"
BUILD=${BUILD:-$SRC/build-release}
CACHE=${CACHE:-/var/tmp/mailhealth-bench}
RUNS=${RUNS:-3}
FILL=${FILL:-$SRC/tests/tools/fill-queue}
SPOOL=$(postconf -h queue_directory)
BENCH=$BUILD/bench/queue/bench_queue
EXPORTER=$BUILD/cmd/mailhealth_exporter
PPE=/usr/bin/prometheus-postfix-exporter
PPE_PORT=9154
OUR_PORT=9739
[ $# -gt 0 ] || set -- 10000 50000
mkdir -p "$CACHE"
[ -x "$BENCH" ] || { echo "build $BENCH first (BUILD=dir, Release)" >&2; exit 1; }
"$SRC/scripts/setup-postfix" start

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
scrape_times() {  # URL -> one time_total per line
  i=0
  while [ $i -lt "$RUNS" ]; do
    curl -s -o /dev/null -w '%{time_total}\n' "$1"
    i=$((i + 1))
  done
}
wait_http() {  # URL PATTERN SECONDS
  end=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    if curl -s "$1" 2>/dev/null | grep -q "$2"; then return 0; fi
    sleep 0.5
  done
  return 1
}

restore() {  # COUNT: fill once, then restore from the cache
  tarball=$CACHE/spool-$1.tar
  if [ ! -f "$tarball" ]; then
    echo "filling $1 messages (cached afterwards in $tarball)..." >&2
    before=$(mktemp)
    (cd "$SPOOL" && find deferred defer -type f | sort) > "$before"
    "$FILL" --count "$1" --seed 42 --concurrency 4 --wait 1800 >&2
    (cd "$SPOOL" && find deferred defer -type f | sort | comm -13 "$before" - |
      tar -cf "$tarball" -T -)
    rm -f "$before"
  else
    # (deferred files carry their next retry time as mtime: "in the future")
    tar --warning=no-timestamp -C "$SPOOL" -xf "$tarball"
  fi
}

# fill-queue's senders are all @mail.bench.test; our tests use other
# senders. Queue IDs present before the restore are left alone.
bench_ids() {
  postqueue -j | python3 -c '
import json, sys
keep = set(open(sys.argv[1]).read().split()) if len(sys.argv) > 1 else set()
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("sender", "").endswith("@mail.bench.test") and m["queue_id"] not in keep:
        print(m["queue_id"])
' "$@"
}

remove() {  # delete the restored messages again (file names may have been
            # renamed by postsuper's inode check, so go by postqueue)
  bench_ids "$CACHE/before.ids" | postsuper -d - >/dev/null 2>&1 || true
}

printf '%-8s %-34s %-40s %-30s %-30s\n' messages "postqueue -j >/dev/null" \
  "collector run (wall/cpu/rss/postqueue rss)" "prometheus-postfix-exporter" "mailhealth_exporter scrape"
for n in "$@"; do
  bench_ids > "$CACHE/before.ids"
  restore "$n"
  trap 'remove '"$n" EXIT
  postqueue -j > /dev/null  # warm the page cache
  pq=$(for i in $(seq "$RUNS"); do /usr/bin/time -f '%e %M' sh -c 'postqueue -j >/dev/null' 2>&1 | tail -1; done)
  pq_wall=$(echo "$pq" | awk '{print $1}' | median)
  pq_rss=$(echo "$pq" | awk '{print $2}' | median)
  col=$("$BENCH" --runs "$RUNS")
  col_msgs=$(echo "$col" | sed 's/.*"messages": \([0-9]*\).*/\1/')
  col_wall=$(echo "$col" | sed 's/.*"wall_median_s": \([0-9.]*\).*/\1/')
  col_cpu=$(echo "$col" | sed 's/.*"self_cpu_s": \([0-9.]*\).*/\1/')
  col_rss=$(echo "$col" | sed 's/.*"self_maxrss_kib": \([0-9]*\).*/\1/')
  col_krss=$(echo "$col" | sed 's/.*"children_maxrss_kib": \([0-9]*\).*/\1/')

  ppe="not installed"
  if [ -x "$PPE" ]; then
    empty=$(mktemp)
    "$PPE" --web.listen-address=127.0.0.1:$PPE_PORT --postfix.logfile_path="$empty" \
      >/dev/null 2>&1 &
    ppe_pid=$!
    if wait_http "http://127.0.0.1:$PPE_PORT/metrics" postfix_up 120; then
      t=$(scrape_times "http://127.0.0.1:$PPE_PORT/metrics" | median)
      ppe="${t}s scrape, $(hwm_kib $ppe_pid) KiB HWM"
    else
      ppe="did not answer"
    fi
    kill "$ppe_pid" 2>/dev/null || true; wait "$ppe_pid" 2>/dev/null || true
    rm -f "$empty"
  fi

  ours="not built"
  if [ -x "$EXPORTER" ]; then
    cfg=$(mktemp --suffix=.yml)
    cat > "$cfg" <<CFG
collectors:
  queue: { enabled: true, interval: 60s, timeout: 55s }
  log: { enabled: false }
  dns: { enabled: false }
  smtp: { enabled: false }
CFG
    "$EXPORTER" --config.file="$cfg" --web.listen-address=127.0.0.1:$OUR_PORT \
      --log.level=warn --allow-root >/dev/null 2>&1 &
    our_pid=$!
    if wait_http "http://127.0.0.1:$OUR_PORT/metrics" 'mailhealth_queue_messages{queue="deferred"}' 120; then
      t=$(scrape_times "http://127.0.0.1:$OUR_PORT/metrics" | median)
      ours="${t}s scrape, $(hwm_kib $our_pid) KiB HWM"
    else
      ours="no queue metrics"
    fi
    kill "$our_pid" 2>/dev/null || true; wait "$our_pid" 2>/dev/null || true
    rm -f "$cfg"
  fi
  printf '%-8s %-34s %-40s %-30s %-30s\n' "$col_msgs" "${pq_wall}s, ${pq_rss} KiB" \
    "${col_wall}s / ${col_cpu}s cpu / ${col_rss} KiB / ${col_krss} KiB" "$ppe" "$ours"
  remove "$n"
  trap - EXIT
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (runs: $RUNS, medians)"
