# Install rules for the deployment files and the Debian package (CPack).
#   cmake --build BUILD --target mailhealth_exporter && (cd BUILD && cpack -G DEB)
# gives mailhealth-exporter_VERSION_ARCH.deb: the binary in /usr/bin (its
# install(TARGETS) is in cmd/CMakeLists.txt), the systemd unit, the
# example config as the conffile /etc/mailhealth/mailhealth.yml, and the
# Prometheus rules, Alertmanager routing and Grafana dashboard under
# /usr/share/mailhealth-exporter/, and the queue helper
# /usr/lib/mailhealth/mailhealth-spool-stat (its install(TARGETS) is in
# collectors/queue/spool_stat/) with its socket-activated units. The
# postinst creates the "mailhealth" system user (groups adm,
# systemd-journal, postdrop), gives the helper to root:mailhealth 0750 with
# cap_dac_read_search, and enables the units.
set(_mh_share share/mailhealth-exporter)

install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/mailhealth-exporter.service
    ${PROJECT_SOURCE_DIR}/deploy/systemd/mailhealth-exporter.socket
    ${PROJECT_SOURCE_DIR}/deploy/systemd/mailhealth-spool-stat.socket
    ${PROJECT_SOURCE_DIR}/deploy/systemd/mailhealth-spool-stat@.service
  DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/mailhealth.yml
  DESTINATION /etc/mailhealth)
install(FILES
    ${PROJECT_SOURCE_DIR}/deploy/prometheus/prometheus.yml
    ${PROJECT_SOURCE_DIR}/deploy/prometheus/mailhealth.rules.yml
    ${PROJECT_SOURCE_DIR}/deploy/prometheus/fleet.rules.yml
  DESTINATION ${_mh_share}/prometheus)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/targets/mailhealth.yml
    ${PROJECT_SOURCE_DIR}/deploy/prometheus/targets/fleet.yml.example
  DESTINATION ${_mh_share}/prometheus/targets)
# The outside prober: the probe-only config (an example to copy to
# /etc/mailhealth/mailhealth.yml on the outside machine, docs/deploy.md
# section 7) and its Prometheus targets.
install(FILES ${PROJECT_SOURCE_DIR}/deploy/mailhealth-probe.yml
  DESTINATION ${_mh_share})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/targets-outside/smtp.yml
    ${PROJECT_SOURCE_DIR}/deploy/prometheus/targets-outside/dns.yml
  DESTINATION ${_mh_share}/prometheus/targets-outside)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/alertmanager/alertmanager.yml
  DESTINATION ${_mh_share}/alertmanager)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/launchd/org.mailhealth.exporter.plist
  DESTINATION ${_mh_share}/launchd)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/grafana/
  DESTINATION ${_mh_share}/grafana
  PATTERN "*.py" EXCLUDE)
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/deploy.md)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/deploy.md
    DESTINATION share/doc/mailhealth-exporter)
endif()

set(CPACK_PACKAGE_NAME mailhealth-exporter)
set(CPACK_PACKAGE_VENDOR "mailhealth")
set(CPACK_PACKAGE_CONTACT "mailhealth maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Prometheus exporter for the health of a Postfix mail system")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_NAME mailhealth-exporter)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "Queue, mail log, DNS (MX) and SMTP checks, with alert rules,\n Alertmanager routing and a Grafana dashboard.")
# Runtime libraries (libssl3 -- OpenSSL is linked directly, HTTPS goes
# through boost::asio::ssl --, libcares2, libre2-9, libyaml-cpp0.7,
# libsystemd0, libprometheus-cpp, ...) found by dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser | passwd")
# libcap2-bin: setcap, for the helper's file capability (postinst; without
# it the helper runs only through its systemd socket, or the queue
# collector uses postqueue).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postfix, libcap2-bin")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, prometheus-alertmanager")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles
  ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
  ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
