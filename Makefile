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
CORE_SRCS   := $(sort $(wildcard core/src/*.c))
CORE_HDRS   := $(wildcard core/include/llmr/*.h) $(wildcard core/src/*.h)
TEST_SRCS   := $(sort $(wildcard core/tests/test_*.c))
TESTS       := $(patsubst core/tests/test_%.c,$(BUILD)/tests/%.t,$(TEST_SRCS))
ASAN_TESTS  := $(patsubst core/tests/test_%.c,$(BUILD)/asan/%.t,$(TEST_SRCS))
SAN         := -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all

.PHONY: all llmr tests asan-tests check check-asan check-valgrind clean

all: llmr tests

llmr: $(BUILD)/llmr

# only the tool fetches over HTTP: libcurl stays out of the module
LLMR_SRCS   := core/tools/llmr.c core/tools/llmr_cmd_calibrate.c \
               core/tools/llmr_fetch.c
LLMR_LIBS   := $(LIBS) -lcurl

$(BUILD)/llmr: $(LLMR_SRCS) core/tools/llmr_fetch.h $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(STD) $(OPT) $(CFLAGS) $(WARN) $(CPPFLAGS) -o $@ \
	    $(LLMR_SRCS) $(CORE_SRCS) $(LLMR_LIBS)

tests: $(TESTS)

$(BUILD)/tests/%.t: core/tests/test_%.c $(CORE_SRCS) $(CORE_HDRS) \
                    core/tests/tap.h
	@mkdir -p $(@D)
	$(CC) $(STD) -O1 $(CFLAGS) $(WARN) $(CPPFLAGS) -o $@ $< $(CORE_SRCS) \
	    $(LIBS)

asan-tests: $(ASAN_TESTS)

$(BUILD)/asan/%.t: core/tests/test_%.c $(CORE_SRCS) $(CORE_HDRS) \
                   core/tests/tap.h
	@mkdir -p $(@D)
	$(CC) $(STD) -O1 $(CFLAGS) $(WARN) $(SAN) $(CPPFLAGS) -o $@ $< \
	    $(CORE_SRCS) $(LIBS)

check: tests
	prove --exec '' $(TESTS)

check-asan: asan-tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1 prove --exec '' $(ASAN_TESTS)

VALGRIND    := valgrind -q --leak-check=full --errors-for-leak-kinds=all \
               --error-exitcode=99

check-valgrind: tests
	prove --exec '$(VALGRIND)' $(TESTS)

clean:
	rm -rf $(BUILD)

# fuzzing: make fuzz, fuzz-run SECONDS=N, fuzz-replay (fuzz/fuzz.mk)
include fuzz/fuzz.mk
