#!/usr/bin/env bash
# Log benchmark (not part of ctest): reads tests/tools/gen-maillog files of
# 1,000,000 and 5,000,000 lines from the beginning and prints, side by side,
# lines per second and peak RSS of
#   - mailhealth (bench_log: the collector's FileReader + LineProcessor on
#     one thread), without rules and with 20 user rules;
#   - `grep -c status=` (the floor);
#   - mtail --one_shot with a small Postfix program (6 counters, the
#     program written below), if mtail is installed;
#   - prometheus-postfix-exporter ingesting the same lines (it only reads
#     new lines: started on an empty file, then the file is appended), if
#     installed and RIVALS_SLOW=1 (it takes about a minute per million
#     lines).
# Everything listens on 127.0.0.1 only. Wall times depend on the load of
# the machine: the CPU columns (user+sys) are the fairer comparison on a
# shared host.
#
#   bench/log/run.sh [BUILD_DIR]     (BUILD_DIR with bench_log built,
#                                     default build-release)
# Env: WORK (default /tmp/mailhealth-bench-log, generated files are kept),
#      SIZES (default "1000000 5000000"), RIVALS_SLOW=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-release}
bench=$build/bench/log/bench_log
gen=$root/tests/tools/gen-maillog
work=${WORK:-/tmp/mailhealth-bench-log}
sizes=${SIZES:-"1000000 5000000"}
[ -x "$bench" ] || { echo "build bench_log first: ninja -C $build bench_log" >&2; exit 2; }
mkdir -p "$work"

row() { printf '%-34s %9s %8s %8s %12s %12s %8s\n' "$@"; }
# timed LABEL LINES CMD...: runs CMD under GNU time, prints a row.
timed() {
  local label=$1 lines=$2; shift 2
  /usr/bin/time -o "$work/time.out" -f '%e %U %S %M' "$@" > "$work/cmd.out" 2>/dev/null || true
  read -r wall user sys rss < "$work/time.out"
  local cpu; cpu=$(echo "$user + $sys" | bc -l)
  row "$label" "$lines" "$wall" "$cpu" \
    "$(echo "$lines / $wall" | bc)" "$(echo "$lines / ($cpu + 0.001)" | bc)" \
    "$(echo "$rss / 1024" | bc)"
}

cat > "$work/small.mtail" <<'EOF'
counter postfix_delivery_status_total by status
counter postfix_noqueue_reject_total by code
counter postfix_log_severity_total by severity
counter postfix_sasl_auth_failed_total
counter postfix_smtpd_connects_total
counter postfix_lines_total

/\spostfix\/[\w\-\/]+\[\d+\]: / {
  postfix_lines_total++
  /, status=(sent|deferred|bounced|expired)/ {
    postfix_delivery_status_total[$1]++
  }
  /NOQUEUE: reject: \S+ from \S+: (\d{3}) / {
    postfix_noqueue_reject_total[$1]++
  }
  /\]: (warning|error|fatal|panic): / {
    postfix_log_severity_total[$1]++
  }
  /: SASL \S+ authentication failed: / {
    postfix_sasl_auth_failed_total++
  }
  /\]: connect from / {
    postfix_smtpd_connects_total++
  }
}
EOF
mkdir -p "$work/progs" && cp "$work/small.mtail" "$work/progs/"

for n in $sizes; do
  f=$work/mail-$n.log
  if [ ! -s "$f" ]; then
    echo "generating $n lines..." >&2
    seed=7; [ "$n" = 1000000 ] && seed=1   # gen-maillog's own examples
    "$gen" --lines "$n" --seed "$seed" --truth "$f.truth.json" > "$f"
  fi
  cat "$f" > /dev/null  # warm the page cache for everyone alike
  echo
  echo "== $f ($(du -m "$f" | cut -f1) MiB)"
  row tool lines wall_s cpu_s lines/s_wall lines/s_cpu rss_MiB
  timed "mailhealth (no rules)" "$n" "$bench" "$f" 0
  sed -n 2p "$work/cmd.out" | sed 's/^/    /'
  timed "mailhealth (20 rules)" "$n" "$bench" "$f" 20
  timed "grep -c status= (floor)" "$n" grep -c status= "$f"
  if command -v mtail > /dev/null; then
    timed "mtail --one_shot (6 counters)" "$n" mtail --one_shot --one_shot_format=prometheus \
      --progs "$work/progs" --logs "$f" --address 127.0.0.1 --port 3913
  fi
  if [ "${RIVALS_SLOW:-0}" = 1 ] && [ -x /usr/bin/prometheus-postfix-exporter ]; then
    want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['smtpd_connect'])" "$f.truth.json")
    : > "$work/tail.log"
    /usr/bin/prometheus-postfix-exporter --postfix.logfile_path="$work/tail.log" \
      --postfix.showq_path=/nonexistent/showq --web.listen-address=127.0.0.1:9155 \
      > /dev/null 2>&1 &
    pid=$!
    sleep 2
    cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat")
    t0=$(date +%s.%N)
    cat "$f" >> "$work/tail.log"
    got=0
    while [ "$got" != "$want" ] && kill -0 "$pid" 2>/dev/null; do
      sleep 0.5
      got=$(curl -s 127.0.0.1:9155/metrics | awk '/^postfix_smtpd_connects_total/ {printf "%d", $2}')
    done
    t1=$(date +%s.%N)
    cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat")
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    wall=$(echo "$t1 - $t0" | bc -l)
    cpu=$(echo "($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc -l)
    row "prometheus-postfix-exporter" "$n" "$(printf %.2f "$wall")" "$(printf %.2f "$cpu")" \
      "$(echo "$n / $wall" | bc)" "$(echo "$n / $cpu" | bc)" "$((rss / 1024))"
  fi
done
