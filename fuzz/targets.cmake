# Every fuzz target and the libraries it links, in one list. fuzz/ builds
# them with libFuzzer (scripts/fuzz); tests/fuzz_replay/ builds the same
# sources with fuzz/replay_main.cc into ordinary binaries that replay the
# seed corpus under ctest, so a target that no longer compiles fails the
# normal build, not only the fuzz step.
set(MAILHEALTH_FUZZ_TARGETS
  fuzz_config fuzz_web_config fuzz_log_line fuzz_postqueue_json
  fuzz_postqueue_text fuzz_deferral_reason fuzz_smtp_reply fuzz_dns_response
  fuzz_spool_stat)
set(MAILHEALTH_FUZZ_LIBS_fuzz_config mailhealth::app mailhealth::builtin)
set(MAILHEALTH_FUZZ_LIBS_fuzz_web_config mailhealth::daemon)
set(MAILHEALTH_FUZZ_LIBS_fuzz_log_line mailhealth_collector_log)
set(MAILHEALTH_FUZZ_LIBS_fuzz_postqueue_json mailhealth_collector_queue)
set(MAILHEALTH_FUZZ_LIBS_fuzz_postqueue_text mailhealth_collector_queue)
set(MAILHEALTH_FUZZ_LIBS_fuzz_deferral_reason mailhealth_collector_queue)
set(MAILHEALTH_FUZZ_LIBS_fuzz_smtp_reply mailhealth_smtp_protocol)
set(MAILHEALTH_FUZZ_LIBS_fuzz_dns_response mailhealth_resolve)
set(MAILHEALTH_FUZZ_LIBS_fuzz_spool_stat mailhealth_collector_queue)
