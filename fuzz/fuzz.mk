# libFuzzer targets for every core parser that sees outside bytes,
# included by the top-level Makefile.
#
#   make fuzz                      build build/fuzz/fuzz_* (clang)
#   make fuzz-run SECONDS=60       run each target for SECONDS, one by one
#   make fuzz-replay               the seed corpora and the committed crash
#                                  inputs, replayed under ASan + UBSan with
#                                  $(CC) (no clang needed): a TAP test
#   make fuzz-seeds                regenerate the seeds from the unit tests
#
# A target's working corpus (what a run finds) is build/fuzz/corpus/T; the
# committed seeds are fuzz/corpus/T, crash inputs that became regression
# tests fuzz/regress/T.  bench/fuzz_long.sh runs the long campaign.

FUZZ_CC       ?= clang
FUZZ_TARGETS  := extract rewrite usage registry calibrate api xreq xans
FUZZ_SAN      := -fsanitize=fuzzer,address,undefined \
                 -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   := $(STD) -g -O1 $(WARN) $(CPPFLAGS)

# only the parsers and what they call: the classifier is not needed here
FUZZ_CORE     := core/src/llmr_core.c core/src/llmr_extract.c \
                 core/src/llmr_json.c core/src/llmr_sse.c \
                 core/src/llmr_rewrite.c core/src/llmr_usage.c \
                 core/src/llmr_registry.c core/src/llmr_policy.c \
                 core/offline/llmr_calibrate.c core/offline/llmr_calibrate_out.c \
                 core/src/llmr_api.c core/src/llmr_api_error.c \
                 core/src/llmr_jdoc.c $(sort $(wildcard core/src/llmr_xreq*.c)) \
                 $(sort $(wildcard core/src/llmr_xans*.c))

# the feedback endpoint's parser, once the core has it
FUZZ_SRCS_feedback := $(wildcard core/src/llmr_feedback.c)
ifneq ($(FUZZ_SRCS_feedback),)
FUZZ_TARGETS  += feedback state
FUZZ_SRCS_state := $(FUZZ_SRCS_feedback)
endif

FUZZ_BINS     := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_REPLAY   := $(patsubst %,$(BUILD)/fuzz/replay_%.t,$(FUZZ_TARGETS))

SECONDS       ?= 60
FUZZ_OPTS     ?=

.PHONY: fuzz fuzz-run fuzz-replay fuzz-seeds

fuzz: $(FUZZ_BINS)

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_CORE) $(CORE_HDRS) \
                      $(FUZZ_SRCS_feedback)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_CORE) \
	    $(FUZZ_SRCS_$*) $(LIBS)

# the same entry points with a plain main that replays files: a TAP test
$(BUILD)/fuzz/replay_%.t: fuzz/fuzz_%.c fuzz/fuzz.h fuzz/replay.c \
                          $(FUZZ_CORE) $(CORE_HDRS) $(FUZZ_SRCS_feedback)
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) $(SAN) -DFUZZ_TARGET='"$*"' -o $@ $< fuzz/replay.c \
	    $(FUZZ_CORE) $(FUZZ_SRCS_$*) $(LIBS)

fuzz-replay: $(FUZZ_REPLAY)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1 prove --exec '' $(FUZZ_REPLAY)

fuzz-run: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$t $(BUILD)/fuzz/artifacts/$$t; \
	    echo "==> fuzz_$$t for $(SECONDS) s"; \
	    nice -n 19 $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(SECONDS) -timeout=10 \
	        -rss_limit_mb=2048 -max_len=65536 -dict=fuzz/json.dict \
	        -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/artifacts/$$t/ $(FUZZ_OPTS) \
	        $(BUILD)/fuzz/corpus/$$t fuzz/corpus/$$t \
	        $$(test -d fuzz/regress/$$t && echo fuzz/regress/$$t) \
	        2>$(BUILD)/fuzz/fuzz_$$t.log \
	    || { tail -n 40 $(BUILD)/fuzz/fuzz_$$t.log; exit 1; }; \
	    grep -E '^(#[0-9]+ *DONE|stat::)' $(BUILD)/fuzz/fuzz_$$t.log; \
	done

FUZZ_SEEDS_CC := $(CC) $(STD) -g $(CPPFLAGS)

fuzz-seeds:
	@mkdir -p $(BUILD)/fuzz fuzz/corpus/extract fuzz/corpus/rewrite \
	    fuzz/corpus/usage
	$(FUZZ_SEEDS_CC) -DSEEDS_EXTRACT -o $(BUILD)/fuzz/seeds_extract \
	    fuzz/seeds.c $(FUZZ_CORE) $(LIBS)
	$(FUZZ_SEEDS_CC) -DSEEDS_REWRITE -o $(BUILD)/fuzz/seeds_rewrite \
	    fuzz/seeds.c $(FUZZ_CORE) $(LIBS)
	$(FUZZ_SEEDS_CC) -DSEEDS_USAGE -o $(BUILD)/fuzz/seeds_usage \
	    fuzz/seeds.c $(FUZZ_CORE) $(LIBS)
	$(BUILD)/fuzz/seeds_extract fuzz/corpus/extract
	$(BUILD)/fuzz/seeds_rewrite fuzz/corpus/rewrite
	$(BUILD)/fuzz/seeds_usage fuzz/corpus/usage
