# Keystone build. `make` builds the programs, `make run` starts the local
# stack, `make check` runs every test against real components.

CC	 = cc
CXX	 = g++
PKGS	 = libpq libcurl libssh2 libsodium libcjson libctemplate
WARN	 = -Wall -Wextra -Werror
# lib/ in layers, each using only those below it: core (buffers, logging,
# UTF-8, quoting, keys, configuration), db (statements, typed rows,
# migrations), ops (operations, plans, the spooler's executors, the daemon
# runner), web (forms, routes, sessions, templates, page models), domain
# (the managed registry, provisioning). Each layer is an archive: a program
# links what it uses.
LAYERS	 = domain web ops db core
CPPFLAGS = $(LAYERS:%=-Ilib/%) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS	 = -std=c11 $(WARN) -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
CXXFLAGS = -std=c++11 $(WARN) -O2 -g
LDLIBS	 = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lfcgi -lstdc++
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_H	 = $(wildcard lib/*/*.h)
CGI_C	 = $(filter-out cgi/keystonectl.c,$(wildcard cgi/*.c))
TESTS	 = $(patsubst tests/%.c,%,$(wildcard tests/check_*.c))

B	 = build
A	 = build/asan

# Step scripts (lib/scripts/*.sh) become C strings in build/gen/scripts.c.
SCRIPTS	 = $(filter-out lib/scripts/embed.sh,$(wildcard lib/scripts/*.sh))
# A layer's objects: its .c and .cc files (domain also has the scripts).
layer_o	 = $(patsubst %.c,$(1)/%.o,$(wildcard lib/$(2)/*.c)) \
	   $(patsubst %.cc,$(1)/%.o,$(wildcard lib/$(2)/*.cc))
# The archives in link order (a layer before the ones it uses).
LIB_O	 = $(LAYERS:%=$(B)/libks_%.a)
LIB_AO	 = $(LAYERS:%=$(A)/libks_%.a)
CGI_O	 = $(CGI_C:%.c=$(B)/%.o)
CGI_AO	 = $(CGI_C:%.c=$(A)/%.o)
SPOOL_C	 = $(wildcard spooler/*.c)

PROGS	 = $(B)/keystone.fcgi $(B)/keystonectl $(B)/keystone-spooler
# bench/pages.sh's floor responder and bench/deploy.sh's driver; built with
# the programs so they cannot rot.
BENCH	 = $(B)/bench/fcgi_floor $(B)/bench/deploy_plan
APROGS	 = $(A)/keystone.fcgi $(A)/keystonectl $(A)/keystone-spooler $(TESTS:%=$(A)/%) $(A)/tests/wd_browser

.PHONY: all asan run check check-unit check-integration check-browser deps clean bench

all: $(PROGS) $(BENCH)

asan: $(APROGS)

$(B)/%.o: %.c $(LIB_H) $(wildcard cgi/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(B)/%.o: %.cc $(LIB_H)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c -o $@ $<
$(A)/%.o: %.c $(LIB_H) $(wildcard cgi/*.h tests/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -O1 $(SAN) -c -o $@ $<
$(A)/%.o: %.cc $(LIB_H)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -O1 $(SAN) -c -o $@ $<

$(B)/gen/scripts.c: $(SCRIPTS) lib/scripts/embed.sh
	@mkdir -p $(@D)
	bash lib/scripts/embed.sh $(SCRIPTS) > $@.tmp && mv -f $@.tmp $@
$(B)/gen/scripts.o: $(B)/gen/scripts.c
	$(CC) $(CFLAGS) -c -o $@ $<
$(A)/gen/scripts.o: $(B)/gen/scripts.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

# The layers' archives (ar replaces members; the archive is rebuilt whole
# so that a removed source leaves no stale member).
$(B)/libks_%.a:
	@rm -f $@
	ar rcs $@ $^
$(A)/libks_%.a:
	@rm -f $@
	ar rcs $@ $^
$(B)/libks_domain.a: $(call layer_o,$(B),domain) $(B)/gen/scripts.o
$(A)/libks_domain.a: $(call layer_o,$(A),domain) $(A)/gen/scripts.o
$(B)/libks_web.a: $(call layer_o,$(B),web)
$(B)/libks_ops.a: $(call layer_o,$(B),ops)
$(B)/libks_db.a: $(call layer_o,$(B),db)
$(B)/libks_core.a: $(call layer_o,$(B),core)
$(A)/libks_web.a: $(call layer_o,$(A),web)
$(A)/libks_ops.a: $(call layer_o,$(A),ops)
$(A)/libks_db.a: $(call layer_o,$(A),db)
$(A)/libks_core.a: $(call layer_o,$(A),core)

$(B)/keystone.fcgi: $(CGI_O) $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/keystonectl: $(B)/cgi/keystonectl.o $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/keystone-spooler: $(SPOOL_C:%.c=$(B)/%.o) $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bench/fcgi_floor: $(B)/bench/fcgi_floor.o $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bench/deploy_plan: $(B)/bench/deploy_plan.o $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(A)/keystone-spooler: $(SPOOL_C:%.c=$(A)/%.o) $(LIB_AO)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)
$(A)/keystone.fcgi: $(CGI_AO) $(LIB_AO)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)
$(A)/keystonectl: $(A)/cgi/keystonectl.o $(LIB_AO)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)
# Tests list steps as short positional initializers; the fields they leave
# out are zero on purpose.
$(A)/tests/%.o: CFLAGS += -Wno-missing-field-initializers
TU_AO	 = $(patsubst tests/%.c,$(A)/tests/%.o,$(wildcard tests/tu_*.c))
$(A)/check_%: $(A)/tests/check_%.o $(A)/tests/testutil.o $(TU_AO) $(LIB_AO)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)
$(A)/tests/wd_browser: $(A)/tests/wd_browser.o $(LIB_AO)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# Installs the Debian packages Keystone and its tests need (idempotent).
deps:
	@bash deploy/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@bash deploy/run.sh

check: deps
	@$(MAKE) --no-print-directory all asan
	@bash tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bash bench/pages.sh

clean:
	rm -rf $(B)
