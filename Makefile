# lmigrate: builds build/lmigrate (the CLI) and build/lmigrate/core.so (the
# same C objects as a Lua module, for the unit specs).
# LuaRocks passes CFLAGS, LIBFLAG, LUA_INCDIR, ... and INST_* on the command
# line; the defaults below make a standalone build work.

CC        ?= cc
PKG_LUA   := $(shell pkg-config --exists lua5.4 2>/dev/null && echo lua5.4 || echo lua)
LUA_INCDIR ?= $(shell pkg-config --variable=includedir $(PKG_LUA) 2>/dev/null)/lua5.4
LUALIB    ?= lua5.4
PGSQL_INCDIR ?= $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
SQLITE_INCDIR ?= /usr/include
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE
LIBFLAG   ?= -shared
BUILD     ?= build

ALL_CFLAGS = $(WARN) $(CFLAGS) -fPIC -I$(LUA_INCDIR) -I$(PGSQL_INCDIR) -I$(SQLITE_INCDIR) -Isrc -I$(BUILD)
LIBS       = -l$(LUALIB) -lsqlite3 -lcrypto -lm -ldl

SRCS      := $(sort $(wildcard src/*.c))
CORE_SRCS := $(filter-out src/main.c,$(SRCS))
OBJS      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
CORE_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS))

.PHONY: all clean deps
all: $(BUILD)/lmigrate $(BUILD)/lib/lmigrate/core.so

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj:
	mkdir -p $@ $(BUILD)/lib/lmigrate

$(BUILD)/lmigrate: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/lib/lmigrate/core.so: $(CORE_OBJS)
	$(CC) $(CFLAGS) $(LIBFLAG) $(LDFLAGS) -o $@ $(CORE_OBJS) -lsqlite3 -lcrypto

deps:
	@sh scripts/deps.sh

clean:
	rm -rf $(BUILD) build-asan
