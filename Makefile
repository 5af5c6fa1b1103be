# Keystone build. `make` builds the programs, `make run` starts the local
# stack, `make check` runs every test against real components.

CC	 = cc
CXX	 = g++
PKGS	 = libpq libcurl libssh2 libsodium libcjson libctemplate
WARN	 = -Wall -Wextra -Werror
CPPFLAGS = -Ilib -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS	 = -std=c11 $(WARN) -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
CXXFLAGS = -std=c++11 $(WARN) -O2 -g
LDLIBS	 = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lfcgi -lstdc++
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_C	 = $(wildcard lib/*.c)
LIB_CC	 = $(wildcard lib/*.cc)
CGI_C	 = $(filter-out cgi/keystonectl.c,$(wildcard cgi/*.c))
TESTS	 = $(patsubst tests/%.c,%,$(wildcard tests/check_*.c))

B	 = build
A	 = build/asan

# Step scripts (lib/scripts/*.sh) become C strings in build/gen/scripts.c.
SCRIPTS	 = $(filter-out lib/scripts/embed.sh,$(wildcard lib/scripts/*.sh))
LIB_O	 = $(LIB_C:%.c=$(B)/%.o) $(LIB_CC:%.cc=$(B)/%.o) $(B)/gen/scripts.o
LIB_AO	 = $(LIB_C:%.c=$(A)/%.o) $(LIB_CC:%.cc=$(A)/%.o) $(A)/gen/scripts.o
CGI_O	 = $(CGI_C:%.c=$(B)/%.o)
CGI_AO	 = $(CGI_C:%.c=$(A)/%.o)
SPOOL_C	 = $(wildcard spooler/*.c)

PROGS	 = $(B)/keystone.fcgi $(B)/keystonectl $(B)/keystone-spooler
# bench/pages.sh's floor responder; built with the programs so it cannot rot.
BENCH	 = $(B)/bench/fcgi_floor
APROGS	 = $(A)/keystone.fcgi $(A)/keystonectl $(A)/keystone-spooler $(TESTS:%=$(A)/%) $(A)/tests/wd_browser

.PHONY: all asan run check check-unit check-integration check-browser deps clean bench

all: $(PROGS) $(BENCH)

asan: $(APROGS)

$(B)/%.o: %.c $(wildcard lib/*.h cgi/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(B)/%.o: %.cc $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c -o $@ $<
$(A)/%.o: %.c $(wildcard lib/*.h cgi/*.h tests/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -O1 $(SAN) -c -o $@ $<
$(A)/%.o: %.cc $(wildcard lib/*.h)
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

$(B)/keystone.fcgi: $(CGI_O) $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/keystonectl: $(B)/cgi/keystonectl.o $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/keystone-spooler: $(SPOOL_C:%.c=$(B)/%.o) $(LIB_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bench/fcgi_floor: $(B)/bench/fcgi_floor.o $(LIB_O)
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
