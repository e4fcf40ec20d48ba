# SPDX-License-Identifier: EUPL-1.2
# datahabitat - plain GNU Makefile (see docs/architecture.md for the source tour).
#
#   make              library build/<variant>/libdatahabitat.a and CLI bin/datahabitat
#   make check        the whole suite under AddressSanitizer + UBSan (unit, golden, fuzz replay)
#   make asan         same as check (kept as the name people look for)
#   make demo         installs what is missing, builds, generates and loads the demo region
#   make fuzz         libFuzzer targets with clang, run FUZZ_SECONDS each
#   make bench        benchmarks under bench/ (large generated files, minutes)
#   make install PREFIX=/usr/local   library, headers, datahabitat.pc, CLI and reference data
#   make format       clang-format the sources in place; make format-check only lists changes
#   make compdb       compile_commands.json for clangd / clang-tidy
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
               -DDH_REF_DIR='"$(REF_DIR)"' -DDH_GIT_DESCRIBE='"$(GIT_DESCRIBE)"'
CFLAGS_ALL = -std=c11 $(WARN) $(OPT) -MMD -MP $(DEPS_CFLAGS) $(CPPFLAGS_ALL) $(CFLAGS)
# GLPK (libglpk-dev) has no pkg-config file: linked by name (disclosure interval audit)
LDLIBS_ALL = $(DEPS_LIBS) -lglpk -lm -lpthread $(LDLIBS)

# The version is DH_VERSION of the public header (semantic versioning, CHANGELOG.md); the git
# description only decorates `datahabitat --version` when built from a checkout.
VERSION := $(shell sed -n 's/^\#define DH_VERSION "\(.*\)"/\1/p' include/datahabitat/base.h)
GIT_DESCRIBE := $(shell git describe --always --dirty 2>/dev/null)
REF_DIR ?= $(REF_DIR_BUILD)

SUBSYSTEMS = base store geo ingest cube gen governance
CORE_SRC = $(sort $(foreach s,$(SUBSYSTEMS),$(wildcard src/$(s)/*.c)))
CLI_SRC  = $(sort $(wildcard src/cli/*.c))
# The HTTP server (`datahabitat serve`), linked into the CLI binary, not the library.
SERVER_SRC = $(sort $(wildcard src/server/*.c))
SERVER_PKGS = libmicrohttpd
SERVER_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(SERVER_PKGS) 2>/dev/null)
SERVER_LIBS   := $(shell $(PKG_CONFIG) --libs $(SERVER_PKGS) 2>/dev/null)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))

CORE_OBJ = $(CORE_SRC:%.c=$(OUT)/%.o)
CLI_OBJ  = $(CLI_SRC:%.c=$(OUT)/%.o) $(SERVER_SRC:%.c=$(OUT)/%.o)
LIB      = $(OUT)/libdatahabitat.a
CLI      = $(OUT)/datahabitat
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
REPLAY_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(OUT)/tests/replay_%)

.PHONY: all check asan test-run demo fuzz bench install clean deps lint-clang pc format \
        format-check compdb layout
.DEFAULT_GOAL := all

# A missing development package stops the build here, in one line, instead of a wall of
# compiler errors. The goals that install what is missing first (scripts/install-deps), and
# those that compile nothing, are exempt.
SELF_INSTALLING_GOALS = check asan demo fuzz bench deps clean format format-check layout
NEEDED_PKGS = $(PKGS) $(SERVER_PKGS) $(if $(filter test-run %/tests/%,$(MAKECMDGOALS)),$(TEST_PKGS))
ifeq ($(filter $(SELF_INSTALLING_GOALS),$(MAKECMDGOALS)),)
MISSING_PKGS := $(strip $(shell for p in $(NEEDED_PKGS); do \
                  $(PKG_CONFIG) --exists $$p 2>/dev/null || echo $$p; done))
ifneq ($(MISSING_PKGS),)
$(error paquets de développement manquants ($(MISSING_PKGS)) : lancez scripts/install-deps, ou make check qui l'appelle)
endif
endif

all: $(BINDIR)/datahabitat

$(BINDIR)/datahabitat: $(CLI)
	@mkdir -p $(BINDIR)
	cp $(CLI) $@

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# The cube's row loops vectorise only with -O3's cost model (gcc -O2 keeps them scalar):
# ~30 % less CPU for a first query at a new date (bench/cube). Every file of the query engine
# keeps it, not only the two scan engines: with the plan, cache, per-date, split and driver
# files at -O2, bench/cube measured the département and one-territory queries 10-30 % slower.
CUBE_O3 = cube_scan cube_bitmap cube_dateplan cube_split cube_plan cube_cache cube_query cube_snapshot
$(CUBE_O3:%=$(BUILD)/rel/src/cube/%.o): OPT = -O3 -g

$(LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CLI): $(CLI_OBJ) $(LIB)
	$(CC) $(OPT) $(LDOPT) -o $@ $(CLI_OBJ) $(LIB) $(SERVER_LIBS) $(LDLIBS_ALL)

$(SERVER_SRC:%.c=$(OUT)/%.o): CFLAGS += $(SERVER_CFLAGS)
# The OpenAPI description is embedded in routes.o (.incbin).
$(OUT)/src/server/routes.o: src/server/openapi.json

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

# The CLI without main() (cli_main() only) for the fuzz target over argument vectors.
CLI_NOMAIN_OBJ = $(filter-out $(OUT)/src/cli/main.o,$(CLI_OBJ)) $(OUT)/src/cli/main-nomain.o
$(OUT)/src/cli/main-nomain.o: src/cli/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DDH_CLI_NO_MAIN -c $< -o $@

$(OUT)/tests/replay_fuzz_cli_args: tests/fuzz/fuzz_cli_args.c tests/fuzz/replay.c $(CLI_NOMAIN_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DDH_SOURCE_DIR='"$(CURDIR)"' -o $@ $< tests/fuzz/replay.c $(CLI_NOMAIN_OBJ) $(LIB) $(LDOPT) $(SERVER_LIBS) $(LDLIBS_ALL)

# The server's request layer: a daemon in process (src/server/ objects, no main()).
SERVER_OBJ = $(SERVER_SRC:%.c=$(OUT)/%.o)
$(OUT)/tests/replay_fuzz_server_request: tests/fuzz/fuzz_server_request.c tests/fuzz/replay.c $(SERVER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SERVER_CFLAGS) -DDH_SOURCE_DIR='"$(CURDIR)"' -o $@ $< tests/fuzz/replay.c $(SERVER_OBJ) $(LIB) $(LDOPT) $(SERVER_LIBS) $(LDLIBS_ALL)

# The suite: unit tests, golden CLI cases and fuzz corpora replay, all sanitized; then the
# layout rules of the tree (scripts/check-layout) on the release objects.
check asan: deps
	$(MAKE) all
	$(MAKE) VARIANT=asan test-run
	@if command -v $(CLANG) >/dev/null 2>&1; then $(MAKE) lint-clang; fi
	$(MAKE) layout
	@if [ "$(FORMAT_CHECK)" != 1 ]; then :; \
	 elif command -v $(CLANG_FORMAT) >/dev/null 2>&1; then $(MAKE) --no-print-directory format-check; \
	 else echo "format : $(CLANG_FORMAT) absent, vérification du format sautée"; fi

# Internal headers stay in their subsystem, dependencies run one way, no oversized file.
layout: $(CORE_OBJ) $(CLI_OBJ)
	@scripts/check-layout $(OUT)

test-run: $(CLI) $(UNIT_BIN) $(REPLAY_BIN)
	@DH_BIN=$(CURDIR)/$(CLI) DH_OUT=$(CURDIR)/$(OUT) DH_SOURCE_DIR=$(CURDIR) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run-all $(UNIT_BIN:%=$(CURDIR)/%) -- $(REPLAY_BIN:%=$(CURDIR)/%)

# Compile everything once more with clang, warnings as errors, no output.
lint-clang:
	@for f in $(CORE_SRC) $(CLI_SRC) $(SERVER_SRC); do \
	  $(CLANG) -fsyntax-only -std=c11 $(WARN) $(DEPS_CFLAGS) $(SERVER_CFLAGS) $(CPPFLAGS_ALL) $$f || exit 1; done
	@echo "clang: aucun avertissement"

deps:
	@scripts/install-deps --check >/dev/null 2>&1 || scripts/install-deps

demo: deps
	$(MAKE) all
	scripts/demo

# FUZZ_TARGETS=fuzz_cli_args runs one target. Paths are absolute: a target may change
# directory (fuzz_cli_args works in a scratch directory); crashes go to $(BUILD)/fuzz/.
FUZZ_TARGETS ?= $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_BIN = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined $(DEPS_CFLAGS) $(CPPFLAGS_ALL) \
	  -DDH_SOURCE_DIR='"$(CURDIR)"' -o $@ $< $(CORE_SRC) $(LDLIBS_ALL)

# The CLI target links the CLI's sources too, main() left out.
$(BUILD)/fuzz/fuzz_cli_args: tests/fuzz/fuzz_cli_args.c $(CORE_SRC) $(CLI_SRC) $(SERVER_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined $(DEPS_CFLAGS) $(CPPFLAGS_ALL) \
	  -DDH_SOURCE_DIR='"$(CURDIR)"' -DDH_CLI_NO_MAIN -o $@ $< $(CORE_SRC) $(CLI_SRC) $(SERVER_SRC) $(SERVER_LIBS) $(LDLIBS_ALL)

$(BUILD)/fuzz/fuzz_server_request: tests/fuzz/fuzz_server_request.c $(CORE_SRC) $(SERVER_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined $(DEPS_CFLAGS) $(SERVER_CFLAGS) $(CPPFLAGS_ALL) \
	  -DDH_SOURCE_DIR='"$(CURDIR)"' -o $@ $< $(CORE_SRC) $(SERVER_SRC) $(SERVER_LIBS) $(LDLIBS_ALL)

fuzz: deps $(FUZZ_BIN)
	@for t in $(FUZZ_BIN); do n=$$(basename $$t); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	      -artifact_prefix=$(CURDIR)/$(BUILD)/fuzz/$$n- \
	      $(CURDIR)/$(BUILD)/fuzz/corpus-$$n $(CURDIR)/tests/fuzz/corpus/$$n || exit 1; done

bench: deps
	$(MAKE) all
	bench/run

# pkg-config file for programs built against the installed library (written every time:
# it depends on PREFIX).
pc:
	@mkdir -p $(OUT)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES@|$(PKGS)|' \
	  datahabitat.pc.in | grep -v '^#' >$(OUT)/datahabitat.pc

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include/datahabitat $(DESTDIR)$(PREFIX)/share/datahabitat/ref
	$(MAKE) REF_DIR=$(PREFIX)/share/datahabitat/ref BUILD=$(BUILD)/install BINDIR=$(BUILD)/install/bin all pc
	install -m 755 $(BUILD)/install/bin/datahabitat $(DESTDIR)$(PREFIX)/bin/datahabitat
	install -m 644 $(BUILD)/install/$(VARIANT)/libdatahabitat.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(BUILD)/install/$(VARIANT)/datahabitat.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 include/datahabitat/*.h $(DESTDIR)$(PREFIX)/include/datahabitat/
	cp -r data/ref/. $(DESTDIR)$(PREFIX)/share/datahabitat/ref/

# Formatting (.clang-format, clang-format 14 as in Debian bookworm). With FORMAT_CHECK=1,
# `make check` ends with format-check when clang-format is installed. 0 until the tree has
# been formatted once: flip it in the same commit as the `make format` of the whole tree.
CLANG_FORMAT ?= clang-format
FORMAT_CHECK ?= 0
FORMAT_SRC = $(sort $(wildcard src/*/*.c src/*/*.h include/datahabitat/*.h tests/unit/*.c \
               tests/unit/*.h tests/fuzz/*.c bench/*.c))
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)
format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRC) && echo "format : conforme"

# compile_commands.json with the flags this Makefile uses (scripts/compdb; no bear needed).
compdb:
	@{ echo '['; \
	   scripts/compdb $(CC) $(CFLAGS_ALL) -- $(CORE_SRC) $(CLI_SRC); \
	   scripts/compdb $(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -DDH_SOURCE_DIR='"$(CURDIR)"' -Itests/unit \
	     -- $(UNIT_SRC) $(FUZZ_SRC) tests/fuzz/replay.c; \
	 } | sed '$$ s/,$$//' >compile_commands.json
	@echo ']' >>compile_commands.json
	@echo "compile_commands.json : $$(grep -c '"file"' compile_commands.json) fichiers"

clean:
	rm -rf $(BUILD) $(BINDIR)

-include $(CORE_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
