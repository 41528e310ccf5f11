# BIAFLOWS in C — plain GNU Make build (see docs/build.md).
#   make            build build/biaflows
#   make check      install missing deps, build normal + ASan/UBSan (+ the
#                   concurrency tests with TSan), run all tests
#   make demo       build, create ./demo-instance (every class, runs, benchmarks)
#                   and serve the web app on http://127.0.0.1:8080
#   make fuzz       build libFuzzer targets with clang (build/fuzz/)
SHELL := /bin/bash
BUILD ?= build
SAN ?=
CC ?= cc
PKGS := libtiff-4 libpng libjpeg libzstd libwebp jansson libsodium sqlite3 libxml-2.0 libarchive libgit2 libseccomp libmicrohttpd libpq libcurl

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	-Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Isrc -MMD -MP
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
ifeq ($(SAN),1)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),thread)
OPT := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
else
OPT := -O2 -g
endif
CFLAGS += $(CFLAGS_BASE) $(OPT) $(PKG_CFLAGS)
LDFLAGS += $(OPT)

LIB_SRC := $(wildcard src/util/*.c src/wfkit/*.c src/image/*.c src/store/*.c src/dataset/*.c \
	src/annot/*.c src/metrics/*.c src/gen/*.c src/exec/*.c src/workflow/*.c \
	src/runs/*.c src/bench/*.c src/auth/*.c src/server/*.c src/exchange/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_TARGETS := $(patsubst fuzz/fuzz-%.c,%,$(wildcard fuzz/fuzz-*.c))

LIB := $(BUILD)/libbiaflows.a
BIN := $(BUILD)/biaflows
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
REPLAY_BIN := $(patsubst %,$(BUILD)/fuzz/replay-%,$(FUZZ_TARGETS))
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

# C workflows (docs/build.md): each workflows/<Name>/<prog>.c is a program;
# $(BUILD)/workflows/<Name>/ gets <prog> and a copy of the folder's other
# files, a runnable workflow folder. Normal build only (not with SAN).
ifeq ($(SAN),)
WF_C_SRC := $(wildcard workflows/*/*.c)
WF_C_BIN := $(patsubst workflows/%.c,$(BUILD)/workflows/%,$(WF_C_SRC))
WF_C_FILES := $(patsubst workflows/%,$(BUILD)/workflows/%,$(if $(WF_C_SRC),$(shell \
	find $(sort $(dir $(WF_C_SRC))) -type f ! -name '*.c' ! -name '.*')))
# Derived workflows: a folder with a file `base` naming another workflow
# folder runs that folder's code under its own descriptor; $(BUILD)/workflows/
# <Name>/ gets the base's files, then its own (which win), `base` left out.
WF_DERIVED := $(patsubst workflows/%/base,$(BUILD)/workflows/%/.built,$(wildcard workflows/*/base))
endif

# The web app (web/, docs/web.md): npm packages from the lockfile, bundled by
# esbuild into $(BUILD)/web, which biaflows serve finds beside the program.
# Normal build only.
ifeq ($(SAN),)
WEB_OUT := web/node_modules/.installed $(BUILD)/web/index.html
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/build.mjs web/tsconfig.json
endif

# keep objects of test programs (make would delete them as intermediates)
.SECONDARY:

# the concurrency tests, also built with ThreadSanitizer (SAN=thread)
THREAD_TESTS := $(BUILD)/tests/test_threads $(BUILD)/tests/test_runs_core $(BUILD)/tests/test_pyramid

.PHONY: all bench check deps demo fuzz clean tests thread-tests
all: $(BIN) $(UNIT_BIN) $(REPLAY_BIN) $(WF_C_BIN) $(WF_C_FILES) $(WF_DERIVED) $(WEB_OUT)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/fuzz/replay-%: $(BUILD)/obj/fuzz/fuzz-%.o $(BUILD)/obj/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(WF_C_BIN): $(BUILD)/workflows/%: $(BUILD)/obj/workflows/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(WF_C_FILES): $(BUILD)/workflows/%: workflows/%
	@mkdir -p $(dir $@)
	cp $< $@

$(WF_DERIVED): $(BUILD)/workflows/%/.built: workflows/%/base $(wildcard workflows/*/*)
	rm -rf $(dir $@) && mkdir -p $(dir $@)
	cp -p workflows/$$(cat $<)/* $(dir $@)
	cp -p $(filter-out %/base,$(wildcard workflows/$*/*)) $(dir $@)
	touch $@

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(BUILD)/web/index.html: web/node_modules/.installed $(WEB_SRC)
	cd web && node build.mjs $(abspath $(BUILD))/web

thread-tests: $(THREAD_TESTS)

bench: $(BIN) $(BENCH_BIN)

deps:
	@scripts/install-deps --check >/dev/null 2>&1 || scripts/install-deps

check: deps
	$(MAKE) --no-print-directory all BUILD=build
	$(MAKE) --no-print-directory all BUILD=build/asan SAN=1
	$(MAKE) --no-print-directory thread-tests BUILD=build/tsan SAN=thread
	@# a throwaway PostgreSQL (scripts/services) for the second pass of the
	@# store, run and API suites; stopped at the end unless it was running
	@up=0; scripts/services status postgres && up=1; \
	db=$$(scripts/services up postgres) || { echo "check: PostgreSQL did not start" >&2; exit 1; }; \
	TSAN_BUILD=build/tsan BIAFLOWS_TEST_DATABASE=$$db tests/run-tests build build/asan; rc=$$?; \
	[ $$up = 1 ] || scripts/services down postgres; exit $$rc

demo: deps
	$(MAKE) --no-print-directory all BUILD=build
	scripts/demo

# libFuzzer builds (clang); run e.g. build/fuzz/fuzz-tiff fuzz/corpus/tiff
fuzz: deps
	@mkdir -p build/fuzz
	for t in $(FUZZ_TARGETS); do \
	  clang $(CFLAGS_BASE) -Wno-unknown-warning-option -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
	    fuzz/fuzz-$$t.c $(LIB_SRC) -o build/fuzz/fuzz-$$t $(PKG_LIBS) || exit 1; \
	done

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
