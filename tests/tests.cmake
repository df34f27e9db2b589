# Test registration. Unit tests (cmocka) are tests/unit/test_*.c, one executable each; end-to-end
# tests are tests/e2e/*.sh, run with the built binary and the corpus location in the environment;
# fuzz harnesses tests/fuzz/fuzz_*.c are replayed over their seed inputs in every build and run
# under libFuzzer when QW_FUZZ is on.
# cmocka is a test-only package: `make demo` and `make build` install the build packages only,
# so without it the unit tests are left out of the build (said at configure time). `make check`
# installs it first and configures with QW_REQUIRE_TESTS=ON, so a check never passes without them.
if(QW_REQUIRE_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
else()
  pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)
endif()
if(CMOCKA_FOUND)
  file(GLOB QW_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
else()
  message(STATUS "cmocka not found: unit tests not built (make check installs libcmocka-dev)")
  set(QW_UNIT_TESTS "")
endif()
foreach(src ${QW_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE qwcore PkgConfig::CMOCKA)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES ENVIRONMENT
    "QW_CORPUS=${QW_CORPUS};QW_SRC=${CMAKE_SOURCE_DIR};CMOCKA_MESSAGE_OUTPUT=stdout")
endforeach()

# The interpreter `python3` names, asked at each configure: the end-to-end tests call it directly
# (QW_PYTHON, tests/e2e/lib.sh) instead of through PATH, where a version manager's shim (pyenv's
# runs several shell scripts per call) costs as much as Python's own start on every one of the
# hundreds of calls. Empty without python3: the tests then use PATH's python3, or skip.
execute_process(COMMAND python3 -c "import sys; print(sys.executable)"
  OUTPUT_VARIABLE QW_PYTHON OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE qw_python_rc)
if(NOT qw_python_rc EQUAL 0)
  set(QW_PYTHON "")
endif()

# Which corpus captures hold a protocol (tests/e2e/lib.sh corpus_with): MANIFEST.tsv's protocol
# column where it is whole, and where it is cut at 10, a table tshark writes once per ctest run
# into the build directory (the fixture's setup) and that is deleted when the tests that read it
# are done (its cleanup). The tests whose script calls corpus_with require it.
set(QW_E2E_ENV "QW_BIN=$<TARGET_FILE:quaywatch>;QW_CORPUS=${QW_CORPUS};QW_SRC=${CMAKE_SOURCE_DIR};QW_BUILD=${CMAKE_BINARY_DIR};QW_PYTHON=${QW_PYTHON};QW_PROTOCOLS=${CMAKE_BINARY_DIR}/corpus_protocols.tsv")
add_test(NAME e2e.corpus_protocols COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/corpus_protocols.sh)
add_test(NAME e2e.corpus_protocols_cleanup
  COMMAND ${CMAKE_COMMAND} -E rm -f ${CMAKE_BINARY_DIR}/corpus_protocols.tsv)
set_tests_properties(e2e.corpus_protocols PROPERTIES ENVIRONMENT "${QW_E2E_ENV}"
  FIXTURES_SETUP qw_corpus_protocols TIMEOUT 300)
set_tests_properties(e2e.corpus_protocols_cleanup PROPERTIES FIXTURES_CLEANUP qw_corpus_protocols)
# (only differentials read it: `ctest -LE differential`, the sanitizer half of make check, leaves
# it out too; ctest adds a fixture's setup and cleanup to any selection holding a test that
# requires it)
set_tests_properties(e2e.corpus_protocols e2e.corpus_protocols_cleanup PROPERTIES
  LABELS differential)

# The longest tests start first in a build directory without Testing/Temporary/CTestCostData.txt
# (ctest writes measured times there after a run and then orders by those): otherwise ctest
# starts tests in the order they are listed, and a long one started late runs on alone while the
# other CPU idles. Seconds from `ctest -j2` on two cores; only the order matters, and an unlisted
# test counts 0. The fixture's setup comes first: nine differentials wait for it.
set(QW_E2E_COST
  corpus_protocols=100 test_flows_vs_tshark=42 test_inventory_tshark=37 test_dns_tshark=37
  test_dhcp_tshark=30 test_lldp_cdp_tshark=27 test_bacnet_tshark=24 test_dnp3_tshark=24
  test_enip_tshark=23 test_s7comm_tshark=21 test_goose_tshark=19 test_synth=18 test_arp_tshark=18
  test_workers=17 test_tls_tshark=16 test_mms_tshark=15 test_modbus_tshark=15
  test_http_tshark=10 test_profinet_dcp_tshark=10 test_live=10 test_smb_tshark=9
  test_opcua_tshark=9 test_s7comm_plus=8 test_mqtt_tshark=8)
foreach(entry ${QW_E2E_COST})
  string(REPLACE "=" ";" entry "${entry}")
  list(GET entry 0 name)
  list(GET entry 1 cost)
  set(QW_E2E_COST_${name} ${cost})
endforeach()
set_tests_properties(e2e.corpus_protocols PROPERTIES COST ${QW_E2E_COST_corpus_protocols})

file(GLOB QW_E2E_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/e2e/test_*.sh)
foreach(script ${QW_E2E_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME e2e.${name} COMMAND bash ${script})
  set_tests_properties(e2e.${name} PROPERTIES ENVIRONMENT "${QW_E2E_ENV}"
    SKIP_RETURN_CODE 77 TIMEOUT 900)
  if(DEFINED QW_E2E_COST_${name})
    set_tests_properties(e2e.${name} PROPERTIES COST ${QW_E2E_COST_${name}})
  endif()
  file(STRINGS ${script} uses_table REGEX "corpus_with ")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${script})
  if(uses_table)
    set_tests_properties(e2e.${name} PROPERTIES FIXTURES_REQUIRED qw_corpus_protocols)
  endif()
  # Per-protocol differentials against tshark (and the synthetic capture's tshark validation)
  # spend their time in tshark; under the sanitizers quaywatch already analyses every corpus
  # capture with its event log on (flows_vs_tshark), every parser replays the corpus
  # (fuzz_replay) and the detection tests run the synthesiser, so `make check` runs these in
  # the optimised build only (label "differential").
  if((name MATCHES "_tshark$" AND NOT name STREQUAL "test_flows_vs_tshark") OR
     name STREQUAL "test_synth")
    set_tests_properties(e2e.${name} PROPERTIES LABELS differential)
  endif()
endforeach()

# Fuzz harnesses: each defines LLVMFuzzerTestOneInput. The replay driver runs it over the seed
# inputs named in the harness's seeds file, so every build catches regressions on known inputs.
file(GLOB QW_FUZZ_HARNESSES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
if(QW_FUZZ)
  # libFuzzer steers by coverage of the code under test: instrument the library too, not only
  # the harnesses (the sanitizer runtime supplies the hooks to every other binary).
  target_compile_options(qwcore PRIVATE -fsanitize=fuzzer-no-link)
endif()
foreach(src ${QW_FUZZ_HARNESSES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name}_replay ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
  target_link_libraries(${name}_replay PRIVATE qwcore)
  add_test(NAME fuzz_replay.${name} COMMAND ${name}_replay ${QW_CORPUS}/pcaps)
  set_tests_properties(fuzz_replay.${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
  if(QW_FUZZ)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE qwcore)
  endif()
endforeach()
