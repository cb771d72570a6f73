# ward: the two quick-start commands and the developer targets.
#   make demo    build, then show what the node can do today
#   make test    install missing packages, build, run every test;
#                ends with 'N passed, N failed'
#   make bench   run every benchmark and print figures beside their anchors
#   make fuzz    build the libFuzzer harnesses with clang, run each briefly
#   make test-asan  the test suite under AddressSanitizer + UBSan
#   make soak    the simulator's swarm test over $(SOAK_SEEDS) seeds

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
MESON_OPTS ?=
BENCHES = field noise dp gc ot gc2pc sim agg fl
FUZZERS = noise_read envelope frame circuit csv roster where conf ot scenario ldp_report group_key policy json script peer ctl
SOAK_SEEDS ?= 10000
WARD = $(BUILD)/ward

.PHONY: all deps build test test-asan soak bench bench-quick fuzz demo clean

all: build

deps:
	@tools/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: build
	@meson test -C $(BUILD) --print-errorlogs --num-processes 2 >$(BUILD)/test-output.txt 2>&1; \
	  sed '/^Ok:/,$$d' $(BUILD)/test-output.txt | grep -v '^$$'; \
	  grep -h -E '^(swarm|injected bug)' $(BUILD)/meson-logs/testlog.txt; \
	  tools/summarize.py $(BUILD)/meson-logs/testlog.json

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)

test-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	@meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 --timeout-multiplier 4 \
	  >$(ASAN_BUILD)/test-output.txt 2>&1; \
	  sed '/^Ok:/,$$d' $(ASAN_BUILD)/test-output.txt | grep -v '^$$'; \
	  grep -h -E '^(swarm|injected bug)' $(ASAN_BUILD)/meson-logs/testlog.txt; \
	  tools/summarize.py $(ASAN_BUILD)/meson-logs/testlog.json

# The simulator's swarm test over many seeds (a failing seed prints the
# command that replays it); WARD_SWARM_START picks the first seed.
soak: build
	WARD_SWARM_SEEDS=$(SOAK_SEEDS) $(BUILD)/tests/test_swarm

bench: build
	@for b in $(BENCHES); do $(WARD) bench $$b || exit 1; done

bench-quick: build
	@for b in $(BENCHES); do $(WARD) bench $$b --quick || exit 1; done

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false

fuzz:
	@tools/deps.sh clang libclang-rt-14-dev
	@$(MAKE) --no-print-directory $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	@for f in $(FUZZERS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$f; \
	  echo "fuzzing $$f for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/tests/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(FUZZ_BUILD)/corpus/$$f tests/fuzz/corpus/$$f 2>$(FUZZ_BUILD)/fuzz_$$f.log \
	    || { tail -n 30 $(FUZZ_BUILD)/fuzz_$$f.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units' $(FUZZ_BUILD)/fuzz_$$f.log; \
	done

demo: build
	@tools/demo.sh $(WARD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
