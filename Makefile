# mcpd top-level driver. The build itself is CMake + Ninja; this file only names the jobs.
#   make          build (RelWithDebInfo) into build/release
#   make install PREFIX=/usr/local   install headers, libmcp.a, libmcp.so, mcp.pc, the CMake package
#   make run      build and serve mcpd (its default config) over Streamable HTTP on 127.0.0.1:8080/mcp
#   make test     install what is missing, build, run every test (ASan+UBSan, optimized, TSan)
#   make tsan     the test suite under ThreadSanitizer
#   make fuzz     build the libFuzzer targets (clang) and run each for FUZZ_SECONDS (default 60);
#                 fails on a crash, leak, timeout or OOM (docs/internals/testing.md, Fuzzing)
#   make bench    benchmarks (not part of make test)
#   make soak     SOAK_TIME seconds (default 600) of mixed valid, malformed and hostile clients;
#                 fails if a valid call goes unanswered or RSS / fds grow (not part of make test)
#   make format   clang-format every C file
.PHONY: all build install run run-everything deps test test-asan test-release tsan fuzz fuzz-build bench bench-json soak format clean

JOBS     ?= $(shell nproc)
FUZZ_TIME ?= 60
FUZZ_SECONDS ?= $(FUZZ_TIME)
CMAKE_GEN = -G Ninja

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B build/release $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ninja -C build/release

PREFIX ?= /usr/local

install: build
	@cmake --install build/release --prefix $(PREFIX)

HOST ?= 127.0.0.1
PORT ?= 8080

# make run serves mcpd with its default config (CONFIG=file for another one); make
# run-everything serves the conformance fixtures server.
run: build
	@echo "mcpd: serving MCP at http://$(HOST):$(PORT)/mcp (Ctrl-C to stop; SIGHUP reloads)" >&2
	@./build/release/mcpd $(if $(CONFIG),--config $(CONFIG)) --listen $(HOST):$(PORT)

run-everything: build
	@echo "everything: serving MCP at http://$(HOST):$(PORT)/mcp (Ctrl-C to stop)" >&2
	@./build/release/everything --listen $(HOST):$(PORT)

test-asan: deps
	@cmake -S . -B build/asan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Asan >/dev/null
	@ninja -C build/asan
	@bash scripts/e2e-deps.sh
	@bash scripts/conformance-deps.sh
	@cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

test-release: build
	@bash scripts/e2e-deps.sh
	@bash scripts/conformance-deps.sh
	@cd build/release && ctest --output-on-failure -j $(JOBS)

test: test-asan test-release tsan
	@echo "make test: all suites passed"

tsan: deps
	@cmake -S . -B build/tsan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Tsan >/dev/null
	@ninja -C build/tsan
	@bash scripts/e2e-deps.sh
	@bash scripts/conformance-deps.sh
	@cd build/tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS)

fuzz-build: deps
	@CC=clang cmake -S . -B build/fuzz $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Fuzz >/dev/null
	@ninja -C build/fuzz

# Each target runs for FUZZ_SECONDS seconds (FUZZ_TIME is the old name), one at a time, niced;
# its last lines are shown. A crash (or leak, timeout, OOM past 1 GiB, UB report)
# makes the target exit non-zero: make fuzz then stops with that status, the crash input is
# left as build/fuzz/crash-* (libFuzzer's -artifact_prefix) and the full log in build/fuzz/<target>.log.
fuzz: fuzz-build
	@for t in build/fuzz/fuzz_*; do \
		[ -x "$$t" ] && [ -f "$$t" ] || continue; \
		n=$$(basename $$t); c=tests/fuzz/corpus/$${n#fuzz_}; mkdir -p build/fuzz/corpus-$$n; \
		echo "== $$n for $(FUZZ_SECONDS) s"; \
		nice $$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=5 -print_final_stats=1 \
			-artifact_prefix=build/fuzz/ \
			build/fuzz/corpus-$$n $$c > build/fuzz/$$n.log 2>&1; rc=$$?; \
		tail -15 build/fuzz/$$n.log; \
		if [ $$rc -ne 0 ]; then echo "make fuzz: $$n failed (exit $$rc), log build/fuzz/$$n.log" >&2; exit $$rc; fi; \
	done

# Benchmarks (bench/run.sh; results in bench/results/, report in docs/benchmarks.md and
# docs/bench/*.png). BENCH_QUICK=1 for short runs; SCENARIOS="1 3" for a subset.
.PHONY: bench-deps bench-build bench-http bench-report
bench-deps:
	@bash scripts/deps.sh --bench
	@bash bench/peers/install.sh

bench-build: bench-deps
	@cmake -S . -B build/bench $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DMCP_BENCH=ON >/dev/null
	@ninja -C build/bench everything bench_server mcpload bench_json mcpd

bench: bench-build
	@out=$$(bash bench/run.sh) && bash bench/report.sh "$$out"

# Scenario 1 (and 8) only, 1 run x 3 s at 1, 16, 64, 256 connections; the report goes to
# bench/results/<stamp>/report.md (docs/benchmarks.md is left alone).
bench-http: bench-build
	@out=$$(SCENARIOS=1 RUNS=$${RUNS:-1} DURATION=$${DURATION:-3} bash bench/run.sh) && \
		bash bench/report.sh "$$out" "$$out/report.md" && sed -n "/^## Targets/,/^## Notes/p" "$$out/report.md"

# Rewrites docs/benchmarks.md and the plots from the newest results (or OUT=bench/results/...).
bench-report:
	@bash bench/report.sh "$${OUT:-$$(ls -d bench/results/*/ | tail -1)}"

bench-json:
	@bash scripts/deps.sh --bench
	@cmake -S . -B build/bench $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DMCP_BENCH=ON >/dev/null
	@ninja -C build/bench bench_json
	@./build/bench/bench_json

# The soak (tests/soak/soak.mjs) against the optimized build; figures in docs/limits.md.
SOAK_TIME ?= 600
soak: build
	@bash scripts/e2e-deps.sh
	@SOAK_TIME=$(SOAK_TIME) node tests/soak/soak.mjs build/release/everything

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
