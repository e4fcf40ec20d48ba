# SPDX-License-Identifier: EUPL-1.2
# datahabitat - plain GNU Makefile (see docs/architecture.md for the source tour).
#
#   make              library build/<variant>/libdatahabitat.a and CLI bin/datahabitat
#   make check        the whole suite under AddressSanitizer + UBSan (unit, golden, fuzz replay)
#   make asan         same as check (kept as the name people look for)
#   make demo         installs what is missing, builds, generates and loads the demo region
#   make fuzz         libFuzzer targets with clang, run FUZZ_SECONDS each
#   make bench        benchmarks under bench/ (large generated files, minutes)
#   make install PREFIX=/usr/local
#
# Several builds can share the tree: BUILD=build-foo keeps objects apart.

PREFIX   ?= /usr/local
BUILD    ?= build
VARIANT  ?= rel
BINDIR   ?= bin
CC       ?= cc
CLANG    ?= clang
PKG_CONFIG ?= pkg-config
FUZZ_SECONDS ?= 60

PKGS      = sqlite3 libsodium jansson libcrypto
TEST_PKGS = cmocka

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wformat=2 -Wvla -Wwrite-strings -Wconversion -Wno-sign-conversion -Werror

ifeq ($(VARIANT),asan)
  OPT = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDOPT = -fsanitize=address,undefined
else
  OPT = -O2 -g
  LDOPT =
endif

OUT = $(BUILD)/$(VARIANT)
REF_DIR_BUILD = $(CURDIR)/data/ref

DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEPS_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

CPPFLAGS_ALL = -Iinclude -Isrc -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 \
               -DDH_REF_DIR='"$(REF_DIR)"' -DDH_VERSION='"$(VERSION)"'
CFLAGS_ALL = -std=c11 $(WARN) $(OPT) -MMD -MP $(DEPS_CFLAGS) $(CPPFLAGS_ALL) $(CFLAGS)
LDLIBS_ALL = $(DEPS_LIBS) -lm -lpthread $(LDLIBS)

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
REF_DIR ?= $(REF_DIR_BUILD)

SUBSYSTEMS = base store geo ingest cube gen governance
CORE_SRC = $(sort $(foreach s,$(SUBSYSTEMS),$(wildcard src/$(s)/*.c)))
CLI_SRC  = $(sort $(wildcard src/cli/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))

CORE_OBJ = $(CORE_SRC:%.c=$(OUT)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(OUT)/%.o)
LIB      = $(OUT)/libdatahabitat.a
CLI      = $(OUT)/datahabitat
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
REPLAY_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(OUT)/tests/replay_%)

.PHONY: all check asan test-run demo fuzz bench install clean deps lint-clang
.DEFAULT_GOAL := all

all: $(BINDIR)/datahabitat

$(BINDIR)/datahabitat: $(CLI)
	@mkdir -p $(BINDIR)
	cp $(CLI) $@

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# The cube's row loops vectorise only with -O3's cost model (gcc -O2 keeps them scalar):
# ~30 % less CPU for a first query at a new date (bench/cube).
$(BUILD)/rel/src/cube/cube_query.o: OPT = -O3 -g

$(LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CLI): $(CLI_OBJ) $(LIB)
	$(CC) $(OPT) $(LDOPT) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS_ALL)

$(OUT)/tests/test_%: tests/unit/test_%.c tests/unit/testutil.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -DDH_SOURCE_DIR='"$(CURDIR)"' -Itests/unit -o $@ $< $(LIB) $(LDOPT) $(TEST_LIBS) $(LDLIBS_ALL)

# The attack suite (issue 10) solves the attacker's linear programmes with GLPK.
ATTACK_BIN = $(filter $(OUT)/tests/test_attack_%,$(UNIT_BIN))
$(ATTACK_BIN): tests/unit/attack_lib.h
$(ATTACK_BIN): LDLIBS += -lglpk

$(OUT)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DDH_SOURCE_DIR='"$(CURDIR)"' -o $@ $< tests/fuzz/replay.c $(LIB) $(LDOPT) $(LDLIBS_ALL)

# The suite: unit tests, golden CLI cases and fuzz corpora replay, all sanitized.
check asan: deps
	$(MAKE) all
	$(MAKE) VARIANT=asan test-run
	@if command -v $(CLANG) >/dev/null 2>&1; then $(MAKE) lint-clang; fi

test-run: $(CLI) $(UNIT_BIN) $(REPLAY_BIN)
	@DH_BIN=$(CURDIR)/$(CLI) DH_OUT=$(CURDIR)/$(OUT) DH_SOURCE_DIR=$(CURDIR) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run-all $(UNIT_BIN:%=$(CURDIR)/%) -- $(REPLAY_BIN:%=$(CURDIR)/%)

# Compile everything once more with clang, warnings as errors, no output.
lint-clang:
	@for f in $(CORE_SRC) $(CLI_SRC); do \
	  $(CLANG) -fsyntax-only -std=c11 $(WARN) $(DEPS_CFLAGS) $(CPPFLAGS_ALL) $$f || exit 1; done
	@echo "clang: aucun avertissement"

deps:
	@scripts/install-deps --check >/dev/null 2>&1 || scripts/install-deps

demo: deps
	$(MAKE) all
	scripts/demo

FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined $(DEPS_CFLAGS) $(CPPFLAGS_ALL) \
	  -DDH_SOURCE_DIR='"$(CURDIR)"' -o $@ $< $(CORE_SRC) $(LDLIBS_ALL)

fuzz: deps $(FUZZ_BIN)
	@for t in $(FUZZ_BIN); do n=$$(basename $$t); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	      $(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

bench: deps
	$(MAKE) all
	bench/run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/datahabitat \
	  $(DESTDIR)$(PREFIX)/share/datahabitat/ref
	$(MAKE) REF_DIR=$(PREFIX)/share/datahabitat/ref BUILD=$(BUILD)/install BINDIR=$(BUILD)/install/bin all
	install -m 755 $(BUILD)/install/bin/datahabitat $(DESTDIR)$(PREFIX)/bin/datahabitat
	install -m 644 $(BUILD)/install/$(VARIANT)/libdatahabitat.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/datahabitat/*.h $(DESTDIR)$(PREFIX)/include/datahabitat/
	cp -r data/ref/. $(DESTDIR)$(PREFIX)/share/datahabitat/ref/

clean:
	rm -rf $(BUILD) $(BINDIR)

-include $(CORE_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
