# Quick start: `make demo` and `make check` work on a fresh Debian 12 machine as root; they
# install the Debian packages they need (scripts/setup-deps.sh) before building.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build deps test-deps demo check check-fast check-asan check-tsan fuzz clean

all: build

deps:
	@scripts/setup-deps.sh build

test-deps:
	@scripts/setup-deps.sh test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/quaywatch

# Every test twice: an optimised build, then the suite under AddressSanitizer and
# UndefinedBehaviorSanitizer (clang, which also builds the libFuzzer harnesses). The per-protocol
# tshark differentials (label "differential") run in the optimised build only: see
# tests/tests.cmake.
check: test-deps check-fast check-asan

check-fast:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQW_REQUIRE_TESTS=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

check-asan:
	@CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DQW_SANITIZE=ON -DQW_FUZZ=ON \
	  -DQW_REQUIRE_TESTS=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS) \
	  -LE differential

# --workers under ThreadSanitizer: the tests that run several engines on threads (not part of
# check: a third full build would push check past its time budget; run it after touching
# src/engine/shards.c, the event log, syslog or any state shared between engines).
check-tsan: test-deps
	@CC=clang cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DQW_REQUIRE_TESTS=ON \
	  -DCMAKE_C_FLAGS="-fsanitize=thread -O1 -g" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
	  $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS) --target quaywatch test_shards test_pcap_reader
	@cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -R "test_workers|test_live|test_consistency|test_shards|test_pcap_reader"

# Run every libFuzzer harness for FUZZ_SECONDS each, FUZZ_JOBS at once, seeded from the corpus
# (not part of check; scripts/fuzz.sh). FUZZ_TARGETS="fuzz_modbus fuzz_dnp3" picks some.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= $(JOBS)
FUZZ_TARGETS ?=
fuzz: test-deps
	@CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DQW_SANITIZE=ON -DQW_FUZZ=ON \
	  $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@scripts/fuzz.sh $(ASAN_BUILD) $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
