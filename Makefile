# lmigrate: builds build/lmigrate (the CLI) and build/lib/lmigrate/core.so
# (the same C objects as a Lua module, for the unit specs).
#
#   make                 build both targets into $(BUILD) (default build/)
#   make test            deps + build + the whole busted suite (unit+integration)
#   make asan-test       the same suite against an ASan/UBSan build in build-asan/
#   make demo            apply versions/ to build/demo.db (sqlite), twice is a no-op
#   make bench           bench/run.sh: heads/upgrade/current timings
#   make install         PREFIX=/usr/local DESTDIR= (LuaRocks passes INST_*)
#   make deps            install missing Debian packages (scripts/deps.sh)
#   make fuzz            build the libFuzzer harnesses (fuzz/) in build-fuzz/
#                        and run each for FUZZ_SECONDS (default 60)
#
# LuaRocks passes CFLAGS, LIBFLAG, LUA_INCDIR, ... and INST_* on the command
# line; the defaults below make a standalone build work.

CC        ?= cc
PKG_LUA   := $(shell pkg-config --exists lua5.4 2>/dev/null && echo lua5.4 || echo lua)
LUA_INCDIR ?= $(shell pkg-config --variable=includedir $(PKG_LUA) 2>/dev/null)/lua5.4
LUA_LIBDIR ?=
LUALIB    ?= lua5.4
LUA       ?= lua5.4
# libpq is not linked: backend_pg.c dlopen()s libpq.so.5 on the first
# postgresql:// connection (src/pq.c). Building needs only its header
# (libpq-dev); PGSQL_INCDIR may come from the environment or the command line.
PG_CONFIG_INCDIR := $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
PGSQL_INCDIR ?= $(PG_CONFIG_INCDIR)
SQLITE_INCDIR ?= /usr/include
SQLITE_LIBDIR ?=
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE
LIBFLAG   ?= -shared
BUILD     ?= build
BUSTED    ?= busted

# LuaRocks-style install variables, defaulting from PREFIX.
PREFIX      ?= /usr/local
INST_PREFIX ?= $(PREFIX)
INST_BINDIR ?= $(INST_PREFIX)/bin
INST_LIBDIR ?= $(INST_PREFIX)/lib/lua/5.4
INST_LUADIR ?= $(INST_PREFIX)/share/lua/5.4
INST_MANDIR ?= $(INST_PREFIX)/share/man/man1
INST_DOCDIR ?= $(INST_PREFIX)/share/doc/lmigrate
INST_BASHCOMPDIR ?= $(INST_PREFIX)/share/bash-completion/completions
INST_ZSHCOMPDIR ?= $(INST_PREFIX)/share/zsh/site-functions
INST_FISHCOMPDIR ?= $(INST_PREFIX)/share/fish/vendor_completions.d
INSTALL     ?= install

libdir_flag = $(if $(strip $(1)),-L$(strip $(1)))
incdir_flag = $(if $(strip $(1)),-I$(strip $(1)))
# PGSQL_INCDIR may be /usr/include or empty, but Debian keeps libpq-fe.h
# in a subdirectory: fall back to pg_config's directory then.
PG_INC     = $(call incdir_flag,$(PGSQL_INCDIR)) $(if $(wildcard $(strip $(PGSQL_INCDIR))/libpq-fe.h),,-I$(PG_CONFIG_INCDIR))
ALL_CFLAGS = $(WARN) $(CFLAGS) -fPIC -I$(LUA_INCDIR) $(PG_INC) -I$(SQLITE_INCDIR) -Isrc -I$(BUILD)
LIBDIRS    = $(call libdir_flag,$(LUA_LIBDIR)) $(call libdir_flag,$(SQLITE_LIBDIR))
# The module needs the database/crypto libraries but not liblua: the
# interpreter that loads it provides the Lua API. No -lpq (see above); -ldl
# for dlopen (part of libc since glibc 2.34, a stub library there).
DB_LIBS    = -lsqlite3 -lcrypto -lm -ldl
# LUALIB is a library name (lua5.4) or, from LuaRocks, a file (liblua5.4.a).
# LuaRocks passes it empty where it does not define it: fall back to lua5.4.
LUALIB_NAME = $(or $(patsubst lib%,%,$(patsubst %.a,%,$(patsubst %.so,%,$(notdir $(strip $(LUALIB)))))),lua5.4)
LIBS       = -l$(LUALIB_NAME) $(DB_LIBS)

# Generated sources: build/templates.c from templates/ and build/luamods.c
# from lua/ (the Lua half of lmigrate), both by tools/embed.lua.
EMBED     := $(wildcard tools/embed.lua)
TEMPLATE_FILES := $(shell find templates -type f ! -name '.*' ! -name '*~' ! -name '*.swp' 2>/dev/null)
LUAMOD_FILES := $(shell find lua -type f -name '*.lua' 2>/dev/null)
GEN_SRCS  := $(if $(EMBED),$(BUILD)/templates.c $(BUILD)/luamods.c)

SRCS      := $(sort $(wildcard src/*.c))
CORE_SRCS := $(filter-out src/main.c,$(SRCS))
GEN_OBJS  := $(patsubst $(BUILD)/%.c,$(BUILD)/obj/%.o,$(GEN_SRCS))
OBJS      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS)) $(GEN_OBJS)
CORE_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS)) $(GEN_OBJS)

# The suite: busted with a summary output handler (prints "N passed, N failed").
BUSTED_CMD = $(BUSTED) --lua=$(LUA) --run=all -o spec/support/summary.lua
# The suite runs on SQLite and on a throwaway PostgreSQL cluster that
# with-pg.sh starts before and stops after (also on failure).
WITH_PG    = bash spec/support/with-pg.sh

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: FORCE all clean deps test test-quick unit integration asan asan-test demo bench install uninstall fuzz fuzz-bins
.DELETE_ON_ERROR:

all: $(BUILD)/lmigrate $(BUILD)/lib/lmigrate/core.so

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: $(BUILD)/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/templates.c: tools/embed.lua $(TEMPLATE_FILES) | $(BUILD)/obj
	$(LUA) tools/embed.lua templates > $@.tmp && mv $@.tmp $@

# The list of lua/ files, rewritten only when it changes, so that removing
# a module also regenerates build/luamods.c.
$(BUILD)/luamods.list: FORCE | $(BUILD)/obj
	@echo '$(LUAMOD_FILES)' > $@.tmp; cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/luamods.c: tools/embed.lua $(BUILD)/luamods.list $(LUAMOD_FILES) | $(BUILD)/obj
	$(LUA) tools/embed.lua lua luamod > $@.tmp && mv $@.tmp $@

$(BUILD)/obj:
	mkdir -p $@ $(BUILD)/lib/lmigrate

$(BUILD)/lmigrate: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,-E -o $@ $(OBJS) $(LIBDIRS) $(LIBS)

$(BUILD)/lib/lmigrate/core.so: $(CORE_OBJS)
	$(CC) $(CFLAGS) $(LIBFLAG) $(LDFLAGS) -o $@ $(CORE_OBJS) $(LIBDIRS) $(DB_LIBS)

-include $(wildcard $(BUILD)/obj/*.d)

deps:
	@sh scripts/deps.sh

# --- specs ------------------------------------------------------------------

# deps first, then the build (also under make -j), then the suite.
test: deps
	$(MAKE) all
	$(WITH_PG) $(BUSTED_CMD)

# make test-quick: every spec that needs no PostgreSQL, on SQLite only
# (no server started); about a minute and a half.
test-quick: deps
	$(MAKE) all
	env -u LMIGRATE_TEST_PG_URL LMIGRATE_TEST_BACKENDS=sqlite $(BUSTED_CMD) --exclude-tags=postgres

unit: all
	$(WITH_PG) $(BUSTED) --lua=$(LUA) -o spec/support/summary.lua

integration: all
	$(WITH_PG) $(BUSTED) --lua=$(LUA) --run=integration -o spec/support/summary.lua

# ASan/UBSan: a separate tree, the same suite pointed at it
# (spec/support/asan-test.sh: the unit specs in a lua5.4 with libasan
# preloaded, the integration specs against the instrumented CLI with leak
# detection on).
asan: deps
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" all

asan-test: asan
	$(WITH_PG) bash spec/support/asan-test.sh build-asan

# --- demo, bench --------------------------------------------------------------

# make demo: the demo project on SQLite (build/demo.db; run it twice and the
# second run applies nothing). make demo PG=1: the same on a throwaway
# PostgreSQL cluster, upgraded twice, then shown and torn down.
demo: deps
	$(MAKE) all
	@test -d versions && test -f lmigrate.lua || { echo "make demo: versions/ or lmigrate.lua missing" >&2; exit 1; }
ifeq ($(PG),)
	$(BUILD)/lmigrate -u sqlite:$(BUILD)/demo.db upgrade head
else
	$(WITH_PG) sh -c '$(BUILD)/lmigrate -u "$$LMIGRATE_TEST_PG_URL" upgrade head && \
	  $(BUILD)/lmigrate -u "$$LMIGRATE_TEST_PG_URL" upgrade head && \
	  $(BUILD)/lmigrate -u "$$LMIGRATE_TEST_PG_URL" history -i'
endif

# make bench: CLI start-up, load/resolve and upgrade timings next to the
# sqlite3 CLI and psql (bench/run.sh), a 1,000,000-row SQLite table rebuild
# next to the same steps by hand (bench/rebuild.sh), and op.backfill on
# 2,000,000 PostgreSQL rows next to one UPDATE (bench/backfill.sh), and
# autogenerate / check on a 500-table SQLite schema (bench/autogen.sh).
bench: deps
	$(MAKE) all
	$(WITH_PG) sh -c 'bash bench/run.sh && bash bench/rebuild.sh && bash bench/backfill.sh && bash bench/autogen.sh'


# --- fuzzing ------------------------------------------------------------------

# make fuzz: every fuzz/fuzz_*.c harness (libFuzzer, clang) linked against
# the core objects built with ASan/UBSan and coverage in build-fuzz/, then
# fuzz/run.sh runs each for FUZZ_SECONDS over its seed corpus
# (fuzz/corpus/<harness>/; new inputs go to build-fuzz/corpus/<harness>/).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -O1 -g -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_NAMES   := $(patsubst fuzz/%.c,%,$(filter-out fuzz/fuzz_common.c,$(wildcard fuzz/fuzz_*.c)))
# Debian 12: clang, and the libFuzzer runtime (libclang_rt.fuzzer) apart.
FUZZ_DEPS    ?= clang libclang-rt-14-dev

fuzz-bins: $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_NAMES))

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz_common.c fuzz/fuzz.h $(CORE_OBJS)
	mkdir -p $(BUILD)/fuzz
	$(CC) $(ALL_CFLAGS) -Ifuzz -fsanitize=fuzzer -o $@ $< fuzz/fuzz_common.c $(CORE_OBJS) $(LIBDIRS) $(LIBS)

fuzz:
	@sh scripts/deps.sh $(FUZZ_DEPS)
	$(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) CFLAGS="$(FUZZ_FLAGS)" LDFLAGS="-fsanitize=address,undefined" fuzz-bins
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh build-fuzz $(FUZZ_NAMES)

# --- install -----------------------------------------------------------------

LUA_MODULES := $(LUAMOD_FILES)

install: all
	$(INSTALL) -d $(DESTDIR)$(INST_BINDIR) $(DESTDIR)$(INST_LIBDIR)/lmigrate
	$(INSTALL) -m 0755 $(BUILD)/lmigrate $(DESTDIR)$(INST_BINDIR)/lmigrate
	$(INSTALL) -m 0755 $(BUILD)/lib/lmigrate/core.so $(DESTDIR)$(INST_LIBDIR)/lmigrate/core.so
	for f in $(patsubst lua/%,%,$(LUA_MODULES)); do \
	  $(INSTALL) -d "$(DESTDIR)$(INST_LUADIR)/$$(dirname "$$f")" && \
	  $(INSTALL) -m 0644 "lua/$$f" "$(DESTDIR)$(INST_LUADIR)/$$f" || exit 1; \
	done
	if [ -f docs/lmigrate.1 ]; then \
	  $(INSTALL) -d $(DESTDIR)$(INST_MANDIR) && \
	  $(INSTALL) -m 0644 docs/lmigrate.1 $(DESTDIR)$(INST_MANDIR)/lmigrate.1; \
	fi
	$(INSTALL) -d $(DESTDIR)$(INST_DOCDIR)
	$(INSTALL) -m 0644 README.md docs/*.md docs/*.svg $(DESTDIR)$(INST_DOCDIR)/
	$(INSTALL) -d $(DESTDIR)$(INST_BASHCOMPDIR) $(DESTDIR)$(INST_ZSHCOMPDIR) $(DESTDIR)$(INST_FISHCOMPDIR)
	$(BUILD)/lmigrate completion bash > $(DESTDIR)$(INST_BASHCOMPDIR)/lmigrate
	$(BUILD)/lmigrate completion zsh > $(DESTDIR)$(INST_ZSHCOMPDIR)/_lmigrate
	$(BUILD)/lmigrate completion fish > $(DESTDIR)$(INST_FISHCOMPDIR)/lmigrate.fish

uninstall:
	rm -f $(DESTDIR)$(INST_BINDIR)/lmigrate $(DESTDIR)$(INST_LIBDIR)/lmigrate/core.so \
	  $(DESTDIR)$(INST_MANDIR)/lmigrate.1 $(DESTDIR)$(INST_BASHCOMPDIR)/lmigrate \
	  $(DESTDIR)$(INST_ZSHCOMPDIR)/_lmigrate $(DESTDIR)$(INST_FISHCOMPDIR)/lmigrate.fish
	rm -rf $(DESTDIR)$(INST_DOCDIR)
	rm -f $(addprefix $(DESTDIR)$(INST_LUADIR)/,$(patsubst lua/%,%,$(LUA_MODULES)))

clean:
	rm -rf $(BUILD) build-asan build-fuzz

FORCE:
