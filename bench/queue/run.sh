#!/bin/sh
# bench/queue/run.sh: the queue collector against a real, full Postfix queue.
#
#   bench/queue/run.sh [COUNT...]        (default: 10000 50000; run as root)
#
# For each COUNT it puts COUNT deferred messages into the loopback-only
# Postfix of scripts/setup-postfix and prints, side by side, in one run
# (medians of RUNS; wall times from date +%s%N around each command):
#   - `find QUEUE_DIR/deferred -type f | wc -l`: the floor of a directory walk;
#   - mailhealth-spool-stat (the helper; its walk lists and stats all six
#     queues), and its ratio to find (target: within 2x);
#   - `postqueue -j > /dev/null` alone: the floor of the postqueue path;
#   - bench_queue --method postqueue, one collector run through postqueue:
#     wall time, CPU, peak RSS of the collector and of postqueue, and its
#     ratio to postqueue -j alone (target: within 1.1x);
#   - Debian's prometheus-postfix-exporter (if installed), which reads the
#     queue through the showq socket at scrape time: scrape time, RSS;
#   - mailhealth_exporter with only the queue collector (method auto, so
#     the spool walk as root): scrape time, RSS.
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
HELPER=$BUILD/collectors/queue/spool_stat/mailhealth-spool-stat
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
# wall CMD...: prints the median wall time (s, ms resolution) of RUNS runs.
wall() {
  i=0
  while [ $i -lt "$RUNS" ]; do
    s=$(date +%s%N)
    "$@" >/dev/null
    e=$(date +%s%N)
    echo "$(( (e - s) / 1000 ))" | awk '{printf "%.4f\n", $1 / 1e6}'
    i=$((i + 1))
  done | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else print "-"}'; }
find_deferred() { find "$SPOOL/deferred" -type f | wc -l; }
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

# run.sh always runs in its own Postfix (tests/tools/isolate, above), whose
# queue holds nothing but what restore() put there: remove it all. (The
# restored files' names no longer match their inodes, so going by queue ID
# with postsuper -d - left some behind.)
remove() {
  postsuper -d ALL >/dev/null 2>&1 || true
  (cd "$SPOOL" && find deferred defer -type f -delete) 2>/dev/null || true
}

printf '%-8s | %-10s | %-20s | %-16s | %-48s | %-28s | %-28s\n' messages "find|wc -l" \
  "spool-stat (vs find)" "postqueue -j" "collector, postqueue path (vs -j; cpu; rss; pq rss)" \
  "prometheus-postfix-exporter" "mailhealth_exporter scrape"
for n in "$@"; do
  remove
  restore "$n"
  trap 'remove '"$n" EXIT
  postqueue -j > /dev/null  # warm the page cache
  find_wall=$(wall find_deferred)
  find_n=$(find_deferred)
  if [ -x "$HELPER" ]; then
    # As the collector runs it: the queue directory named, so the walk
    # overlaps the helper's postconf check.
    helper_wall=$(wall "$HELPER" "$SPOOL")
    helper_n=$("$HELPER" "$SPOOL" | awk '$1 == "queue" && $2 == "deferred" {print $3}')
    helper="${helper_wall}s ($(ratio "$helper_wall" "$find_wall"))"
    [ "$helper_n" = "$find_n" ] || helper="$helper COUNT $helper_n != find $find_n"
  else
    helper="not built"
  fi
  pq_wall=$(wall postqueue -j)
  pq_rss=$( /usr/bin/time -f '%M' sh -c 'postqueue -j >/dev/null' 2>&1 | tail -1)
  col=$("$BENCH" --runs "$RUNS" --method postqueue)
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
  queue: { enabled: true, interval: 60s, timeout: 55s, spool_stat: "$HELPER" }
  log: { enabled: false }
  dns: { enabled: false }
  smtp: { enabled: false }
CFG
    "$EXPORTER" --config.file="$cfg" --web.listen-address=127.0.0.1:$OUR_PORT \
      --log.level=warn --allow-root >/dev/null 2>&1 &
    our_pid=$!
    if wait_http "http://127.0.0.1:$OUR_PORT/metrics" 'mailhealth_queue_messages{postfix_instance="postfix",queue="deferred"}' 120; then
      t=$(scrape_times "http://127.0.0.1:$OUR_PORT/metrics" | median)
      ours="${t}s scrape, $(hwm_kib $our_pid) KiB HWM"
    else
      ours="no queue metrics"
    fi
    kill "$our_pid" 2>/dev/null || true; wait "$our_pid" 2>/dev/null || true
    rm -f "$cfg"
  fi
  printf '%-8s | %-10s | %-20s | %-16s | %-48s | %-28s | %-28s\n' "$col_msgs" "${find_wall}s" \
    "$helper" "${pq_wall}s, ${pq_rss} KiB" \
    "${col_wall}s ($(ratio "$col_wall" "$pq_wall")); ${col_cpu}s; ${col_rss} KiB; ${col_krss} KiB" \
    "$ppe" "$ours"
  remove "$n"
  trap - EXIT
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (runs: $RUNS, medians)"
