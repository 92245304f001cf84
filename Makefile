# Core library, command-line tool and unit tests (no nginx needed).
# The nginx module itself is built by ./build.sh through nginx's configure.

CC          ?= cc
OPT         ?= -O2
CFLAGS      ?= -g
WARN        := -Wall -Wextra -Wpointer-arith -Wshadow -Wno-unused-parameter \
               -Werror
STD         := -std=gnu99
CPPFLAGS    += -Icore/include -D_GNU_SOURCE
LIBS        := -lyajl -lm

BUILD       := build
# core/src is what the module links; core/offline what only llmr and the
# tests use (calibration, training)
CORE_SRCS   := $(sort $(wildcard core/src/*.c)) \
               $(sort $(wildcard core/offline/*.c)) \
               $(BUILD)/gen/llmr_model_text.c
CORE_HDRS   := $(wildcard core/include/llmr/*.h) $(wildcard core/src/*.h)
TEST_SRCS   := $(sort $(wildcard core/tests/test_*.c))
TESTS       := $(patsubst core/tests/test_%.c,$(BUILD)/tests/%.t,$(TEST_SRCS))
ASAN_TESTS  := $(patsubst core/tests/test_%.c,$(BUILD)/asan/%.t,$(TEST_SRCS))
SAN         := -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all

.PHONY: all llmr tests asan-tests check check-asan check-valgrind clean

# the built-in classifier model: the model file as a C string, read at
# startup by the same loader as any model file (config does the same for
# the nginx build)
MODEL       := core/model/default.model

# make model: retrain the built-in model on the evaluation data's dev
# split (docs/routing-quality.md), deterministic for the seed.  The data
# is not in the repository: LLMR_EVAL_DIR names its directory (or
# EVAL_DEV the dev directory itself); there is no default.
EVAL_DEV    ?= $(if $(LLMR_EVAL_DIR),$(LLMR_EVAL_DIR)/dev)
DEV_DATA    := $(EVAL_DEV)/gsm8k.jsonl,$(EVAL_DEV)/mmlu.jsonl,$\
               $(EVAL_DEV)/mt_bench.jsonl
DENSE       := length,sentences,numbers,questions,list_items,$\
               number_share,word_bytes,relations
# chosen by leave-one-source-out APGR (eval/lobo.py, docs/research/
# classifier-transfer.md): 4096 hashed grams (a 16 KB table; 65536 learn
# MMLU subjects, no better out of domain), the learned layer at 3; the
# thresholds give 15/35/25/15/10 % tier shares on the prompt corpora
# (eval/lobo.py --calibrate)
THRESHOLDS  := 0.18,0.341,0.536,0.696
TRAIN_OPTS  := --epochs 8 --lr 0.02 --balance 0.5 --bags 3 --mix 3 \
               --min-weight 0.05 --seed 1 --bits 12 --dense $(DENSE) \
               --thresholds $(THRESHOLDS)

.PHONY: model model-cv eval-dev

model: eval-dev $(BUILD)/llmr
	$(BUILD)/llmr train --data $(DEV_DATA) $(TRAIN_OPTS) --out $(MODEL)

model-cv: eval-dev $(BUILD)/llmr
	$(BUILD)/llmr train --data $(DEV_DATA) $(TRAIN_OPTS) --cv 5

eval-dev:
	@test -n "$(EVAL_DEV)" || { echo "make: set LLMR_EVAL_DIR=DIR (the \
	evaluation data, DIR/dev/*.jsonl) or EVAL_DEV=DIR/dev; see \
	docs/routing-quality.md" >&2; exit 2; }
	@for f in gsm8k mmlu mt_bench; do test -f "$(EVAL_DEV)/$$f.jsonl" \
	    || { echo "make: $(EVAL_DEV)/$$f.jsonl not found (EVAL_DEV)" >&2; \
	         exit 2; }; done

$(BUILD)/gen/llmr_model_text.c: $(MODEL) core/tools/model2c.sh
	@mkdir -p $(@D)
	sh core/tools/model2c.sh $(MODEL) > $@.tmp
	mv $@.tmp $@

all: llmr tests

llmr: $(BUILD)/llmr

# only the tool fetches over HTTP: libcurl stays out of the module
LLMR_SRCS   := core/tools/llmr.c core/tools/llmr_cmd_calibrate.c \
               core/tools/llmr_fetch.c core/tools/llmr_cmd_train.c \
               core/tools/llmr_cmd_explain.c core/tools/llmr_cmd_suggest.c
LLMR_LIBS   := $(LIBS) -lcurl

$(BUILD)/llmr: $(LLMR_SRCS) core/tools/llmr_fetch.h $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(STD) $(OPT) $(CFLAGS) $(WARN) $(CPPFLAGS) -o $@ \
	    $(LLMR_SRCS) $(CORE_SRCS) $(LLMR_LIBS)

tests: $(TESTS)

# the core is compiled once per flavour, and every test links it
TEST_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
ASAN_OBJS   := $(patsubst %.c,$(BUILD)/asan-obj/%.o,$(CORE_SRCS))

$(BUILD)/obj/%.o: %.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(STD) -O1 $(CFLAGS) $(WARN) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/asan-obj/%.o: %.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(STD) -O1 $(CFLAGS) $(WARN) $(SAN) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/tests/%.t: core/tests/test_%.c $(TEST_OBJS) $(CORE_HDRS) \
                    core/tests/tap.h
	@mkdir -p $(@D)
	$(CC) $(STD) -O1 $(CFLAGS) $(WARN) $(CPPFLAGS) -o $@ $< $(TEST_OBJS) \
	    $(LIBS)

asan-tests: $(ASAN_TESTS)

$(BUILD)/asan/%.t: core/tests/test_%.c $(ASAN_OBJS) $(CORE_HDRS) \
                   core/tests/tap.h
	@mkdir -p $(@D)
	$(CC) $(STD) -O1 $(CFLAGS) $(WARN) $(SAN) $(CPPFLAGS) -o $@ $< \
	    $(ASAN_OBJS) $(LIBS)

check: tests
	prove --exec '' $(TESTS)

check-asan: asan-tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1 prove --exec '' $(ASAN_TESTS)

VALGRIND    := valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
               --error-exitcode=99

check-valgrind: tests
	prove --exec '$(VALGRIND)' $(TESTS)

clean:
	rm -rf $(BUILD)

# fuzzing: make fuzz, fuzz-run SECONDS=N, fuzz-replay (fuzz/fuzz.mk)
include fuzz/fuzz.mk

# make bench-throughput: the extractor's and the usage reader's speed on
# big and long bodies (bench/README.md); optimized as the module is
BENCH       := $(BUILD)/bench/throughput

.PHONY: bench-throughput

bench-throughput: $(BENCH)
	$(BENCH)

$(BENCH): bench/throughput.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(STD) $(OPT) $(CFLAGS) $(WARN) $(CPPFLAGS) -o $@ $< \
	    $(CORE_SRCS) $(LIBS)
