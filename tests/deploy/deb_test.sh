#!/bin/sh
# Builds the .deb with CPack, checks its contents and control data, and (as
# root, when the package is not already installed) installs it with dpkg,
# checks the user, groups, conffile and enabled unit, runs the installed
# binary the way the unit does (as "mailhealth", its groups, no_new_privs)
# and scrapes it, then purges the package again.
#
#   deb_test.sh BUILD_DIR PORT
# Exit 77 (skipped) when the install part cannot run here.
set -eu
build=$1
port=${2:-19733}
work=$(mktemp -d)
created_user=no
installed=no
pid=

cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "$installed" = yes ]; then
    dpkg --purge mailhealth-exporter >/dev/null 2>&1 || true
  fi
  if [ "$created_user" = yes ]; then
    userdel mailhealth 2>/dev/null || true
    groupdel mailhealth 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

# --- build and inspect ------------------------------------------------------
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$work"/mailhealth-exporter_*.deb)
echo "built $(basename "$deb")"
dpkg-deb -c "$deb" >"$work/contents"
for f in ./usr/bin/mailhealth_exporter ./lib/systemd/system/mailhealth-exporter.service \
         ./etc/mailhealth/mailhealth.yml ./usr/share/mailhealth-exporter/prometheus/mailhealth.rules.yml \
         ./usr/share/mailhealth-exporter/prometheus/fleet.rules.yml \
         ./usr/share/mailhealth-exporter/prometheus/targets/fleet.yml.example \
         ./usr/share/mailhealth-exporter/alertmanager/alertmanager.yml \
         ./usr/share/mailhealth-exporter/mailhealth-probe.yml \
         ./usr/share/mailhealth-exporter/grafana/mailhealth.json; do
  grep -q " $f\$" "$work/contents" || fail "$f not in the package"
done
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/mailhealth/mailhealth.yml "$work/control/conffiles" || fail "config is not a conffile"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libstdc++6 libyaml-cpp libssl3; do
  echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib"
done
# HTTPS links OpenSSL directly: no -dev package at run time.
if echo "$depends" | grep -q -- '-dev'; then fail "Depends names a -dev package"; fi
objdump -p "$build/cmd/mailhealth_exporter" | grep -q 'NEEDED.*libssl\.so\.3' ||
  fail "the binary does not link libssl.so.3"
grep -q " ./lib/systemd/system/mailhealth-exporter.socket\$" "$work/contents" ||
  fail "socket unit not in the package"
for f in ./usr/lib/mailhealth/mailhealth-spool-stat \
         ./lib/systemd/system/mailhealth-spool-stat.socket \
         ./lib/systemd/system/mailhealth-spool-stat@.service; do
  grep -q " $f\$" "$work/contents" || fail "$f not in the package"
done
# Not executable by others even before the postinst gives it its group.
grep " ./usr/lib/mailhealth/mailhealth-spool-stat\$" "$work/contents" |
  grep -q '^-rwxr-x--- ' || fail "helper is not mode 0750 in the package"

# --- install, check, run, purge ----------------------------------------------
if [ "$(id -u)" != 0 ]; then echo "not root: install part skipped"; exit 77; fi
if dpkg -s mailhealth-exporter >/dev/null 2>&1; then
  echo "mailhealth-exporter already installed: install part skipped"; exit 77
fi
getent passwd mailhealth >/dev/null || created_user=yes
# Serialise with other build dirs' runs of this test on the same machine.
exec 9>/tmp/mailhealth-deb-test.lock
flock -w 120 9 || fail "lock"
installed=yes
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
id mailhealth || fail "no user mailhealth"
groups=$(id -nG mailhealth)
for g in adm systemd-journal postdrop; do
  if getent group "$g" >/dev/null; then
    echo " $groups " | grep -q " $g " || fail "mailhealth not in group $g"
  fi
done
[ -f /etc/mailhealth/mailhealth.yml ] || fail "no /etc/mailhealth/mailhealth.yml"
cmp /lib/systemd/system/mailhealth-exporter.service "$(dirname "$0")/../../deploy/systemd/mailhealth-exporter.service" ||
  fail "installed unit differs from deploy/systemd"
# All three groups exist here: no drop-in that narrows SupplementaryGroups=.
[ ! -e /etc/systemd/system/mailhealth-exporter.service.d/10-groups.conf ] ||
  fail "groups drop-in written although every group exists"
[ -L /etc/systemd/system/multi-user.target.wants/mailhealth-exporter.service ] ||
  fail "unit not enabled"
/usr/bin/mailhealth_exporter --config.file=/etc/mailhealth/mailhealth.yml --config.check ||
  fail "shipped config does not pass --config.check"
[ -L /etc/systemd/system/sockets.target.wants/mailhealth-spool-stat.socket ] ||
  fail "helper socket unit not enabled"

# The queue helper: root:mailhealth 0750, cap_dac_read_search where the file
# system takes it; mailhealth may run it, others may not; under
# no_new_privs (the exporter's unit) the file capability is ignored.
helper=/usr/lib/mailhealth/mailhealth-spool-stat
[ "$(stat -c '%U:%G %a' "$helper")" = "root:mailhealth 750" ] ||
  fail "helper is $(stat -c '%U:%G %a' "$helper"), not root:mailhealth 750"
if getcap "$helper" | grep -q cap_dac_read_search; then
  setpriv --reuid=mailhealth --regid=mailhealth --init-groups \
    /bin/sh -c 'exec "$0"' "$helper" >"$work/spool-stat" 2>&1 ||
    { cat "$work/spool-stat"; fail "helper fails for user mailhealth"; }
  grep -q '^queue deferred ' "$work/spool-stat" || fail "helper printed no listing"
  if setpriv --reuid=mailhealth --regid=mailhealth --init-groups --no-new-privs \
      /bin/sh -c 'exec "$0"' "$helper" >/dev/null 2>&1; then
    fail "helper listed the queue under no_new_privs (file capability honoured?)"
  fi
  echo "helper: cap_dac_read_search set, works for mailhealth, not under no_new_privs"
else
  echo "helper: no file capability here (postinst said why)"
fi
if setpriv --reuid=nobody --regid=nogroup --clear-groups /bin/sh -c 'exec "$0"' "$helper" \
    >/dev/null 2>&1; then
  fail "helper runs for nobody"
fi

# Run it as the unit would: user mailhealth with its groups, no_new_privs
# (so postqueue's setgid bit is ignored and group postdrop must come from
# the supplementary groups).
setpriv --reuid=mailhealth --regid=mailhealth --init-groups --no-new-privs \
  /usr/bin/mailhealth_exporter --config.file=/etc/mailhealth/mailhealth.yml \
  --web.listen-address=127.0.0.1:"$port" >"$work/exporter.log" 2>&1 &
pid=$!
ok=no
# Both collectors report success once their first run is done (a big
# Postfix queue takes postqueue seconds to list).
for _ in $(seq 1 150); do
  if curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics" 2>/dev/null &&
     grep -q '^mailhealth_scrape_collector_success{collector="queue"} 1' "$work/metrics" &&
     grep -q '^mailhealth_scrape_collector_success{collector="log"} 1' "$work/metrics"; then
    ok=yes; break
  fi
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics" ||
  { cat "$work/exporter.log"; fail "installed exporter did not serve /metrics"; }
grep '^mailhealth_scrape_collector_success' "$work/metrics"
grep -q '^mailhealth_scrape_collector_success{collector="log"} 1' "$work/metrics" ||
  { cat "$work/exporter.log"; fail "log collector fails as user mailhealth"; }
if postfix status >/dev/null 2>&1; then
  # Postfix runs: the queue must be readable without root (group postdrop).
  grep -q '^mailhealth_scrape_collector_success{collector="queue"} 1' "$work/metrics" ||
    { cat "$work/exporter.log"; fail "queue collector fails as user mailhealth"; }
  # ... and Postfix must be seen as up by the unprivileged service user.
  grep -q '^mailhealth_postfix_up{postfix_instance="postfix"} 1' "$work/metrics" ||
    { grep postfix_up "$work/metrics"; cat "$work/exporter.log";
      fail "mailhealth_postfix_up is not 1 for user mailhealth while Postfix runs"; }
fi
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

dpkg --purge mailhealth-exporter >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg --purge"; }
installed=no
[ ! -e /usr/bin/mailhealth_exporter ] || fail "binary left after purge"
[ ! -e /etc/mailhealth/mailhealth.yml ] || fail "config left after purge"
[ ! -e /etc/systemd/system/multi-user.target.wants/mailhealth-exporter.service ] ||
  fail "enable symlink left after purge"
echo "PASS"
