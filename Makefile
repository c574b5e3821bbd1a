# kvmarm-digest build. `make` builds the three programs into $(BUILD)/,
# `make check` runs every test under prove, `make bench` prints numbers,
# `make deps` installs what building, testing and the demo need (Debian 12,
# as root), `make demo` runs the main job. BUILD= keeps separate trees apart.

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PYTHON  ?= /usr/bin/python3

PKGS    := gmime-3.0 lmdb libcurl glib-2.0 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	   -D_GNU_SOURCE -Istore -Ireporter -Imilter $(PKG_CFLAGS)
LDFLAGS += -Wl,--as-needed -Wl,-O1
LDLIBS  := $(PKG_LIBS) -lpthread -lm
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

STORE_SRC    := $(wildcard store/*.c)
CLI_SRC      := $(wildcard store/cli/*.c)
MILTER_SRC   := $(filter-out milter/main.c,$(wildcard milter/*.c))
REPORTER_SRC := $(filter-out reporter/main.c,$(wildcard reporter/*.c))
UNIT_SRC     := $(wildcard tests/unit/t_*.c)
TOOL_SRC     := $(wildcard tests/tools/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBSTORE    := $(BUILD)/libkvstore.a
LIBREPORTER := $(BUILD)/libkvreporter.a
LIBMILTER   := $(BUILD)/libkvmilter.a
PROGS := $(BUILD)/kvmarm-store $(BUILD)/kvmarm-milter $(BUILD)/kvmarm-reporter
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))

all: $(PROGS) $(UNITS) $(TOOLS)

$(BUILD)/obj/%.o: %.c $(wildcard store/*.h reporter/*.h milter/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -include store/banned.h -c -o $@ $<

$(LIBSTORE): $(call obj,$(STORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBREPORTER): $(call obj,$(REPORTER_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBMILTER): $(call obj,$(MILTER_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/kvmarm-store: $(call obj,$(CLI_SRC)) $(LIBSTORE)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/kvmarm-milter: $(call obj,milter/main.c) $(LIBMILTER) $(LIBSTORE)
	$(CC) $(LDFLAGS) -o $@ $^ -lmilter $(LDLIBS)
$(BUILD)/kvmarm-reporter: $(call obj,reporter/main.c) $(LIBREPORTER) $(LIBSTORE)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(LIBREPORTER) $(LIBMILTER) $(LIBSTORE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tools/%: $(call obj,tests/tools/%.c) $(LIBMILTER) $(LIBSTORE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lmilter $(LDLIBS)

# Each third-party library stays behind its one module.
check-layering:
	@bad=$$(grep -l '#include *<gmime/' $$(find store milter reporter tests -name '*.[ch]') | grep -v '^store/mime' || true); \
	 [ -z "$$bad" ] || { echo "gmime used outside store/mime*: $$bad"; exit 1; }
	@bad=$$(grep -l '#include *<lmdb.h>' $$(find store milter reporter tests -name '*.[ch]') | grep -v '^store/db\.' || true); \
	 [ -z "$$bad" ] || { echo "lmdb used outside store/db.c: $$bad"; exit 1; }
	@bad=$$(grep -l '#include *<libmilter/' $$(find store milter reporter tests -name '*.[ch]') | grep -v '^milter/milter\.c$$\|^tests/tools/accept_milter\.c$$' || true); \
	 [ -z "$$bad" ] || { echo "libmilter used outside milter/milter.c: $$bad"; exit 1; }
	@bad=$$(grep -l '#include *<curl/' $$(find store milter reporter tests -name '*.[ch]') | grep -v '^reporter/http\.' || true); \
	 [ -z "$$bad" ] || { echo "libcurl used outside reporter/http.c: $$bad"; exit 1; }

TESTS ?= $(sort $(wildcard tests/t/*.t))
check: all check-layering
	KV_BUILD=$(abspath $(BUILD)) KV_SRC=$(CURDIR) PYTHON=$(PYTHON) \
	  prove -f --timer $(UNITS) $(TESTS)

bench: all
	KV_BUILD=$(abspath $(BUILD)) KV_SRC=$(CURDIR) PYTHON=$(PYTHON) \
	  sh tests/bench/run.sh

demo:
	sh tests/demo.sh

# Every Debian package that building, testing, benchmarks and the demo use.
DEB_PKGS := build-essential pkg-config libmilter-dev libgmime-3.0-dev liblmdb-dev \
	lmdb-utils libcurl4-openssl-dev libglib2.0-dev zlib1g-dev postfix miltertest \
	python3 perl ca-certificates m4 libwrap0 debhelper dpkg-dev fakeroot
# the reporter's HTML test opens the digest in headless Chromium
EXTRA_DEB_PKGS += chromium chromium-driver
BENCH_DEB_PKGS := notmuch maildir-utils hyperfine time
deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (apt-get)"; exit 2; fi
	@missing=$$(for p in $(DEB_PKGS) $(EXTRA_DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  echo "postfix postfix/mailname string localhost" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# `make install` (non-Debian systems; Debian: `make deb`): the programs, man
# pages, the sample config (kept if one is there) and the systemd units with
# this PREFIX in their paths. Builds only the programs, never the tests.
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/kvmarm-digest
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
UNIT_FILES := $(wildcard conf/*.service conf/*.timer)
install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/kvmarm-digest \
	  $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/kvmarm-store $(BUILD)/kvmarm-reporter $(DESTDIR)$(BINDIR)/
	install -m 755 $(BUILD)/kvmarm-milter $(DESTDIR)$(SBINDIR)/
	install -m 644 store/cli/kvmarm-store.1 reporter/kvmarm-reporter.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 milter/kvmarm-milter.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 README.md conf/kvmarm-digest.conf conf/postfix-main.cf.snippet \
	  conf/sendmail.mc.snippet $(DESTDIR)$(DOCDIR)/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/kvmarm-digest/kvmarm-digest.conf ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/kvmarm-digest/kvmarm-digest.conf (new sample in $(DOCDIR))"; \
	else \
	  echo install -m 644 conf/kvmarm-digest.conf $(DESTDIR)$(SYSCONFDIR)/kvmarm-digest/; \
	  install -m 644 conf/kvmarm-digest.conf $(DESTDIR)$(SYSCONFDIR)/kvmarm-digest/; \
	fi
	for u in $(UNIT_FILES); do \
	  sed -e 's|/usr/sbin/kvmarm-|$(SBINDIR)/kvmarm-|g' -e 's|/usr/bin/kvmarm-|$(BINDIR)/kvmarm-|g' \
	      -e 's|/etc/kvmarm-digest/|$(SYSCONFDIR)/kvmarm-digest/|g' $$u \
	    > $(DESTDIR)$(UNITDIR)/$${u#conf/} && chmod 644 $(DESTDIR)$(UNITDIR)/$${u#conf/} || exit 1; \
	done

# `make deb`: the Debian package, built by dpkg-buildpackage (Debian's
# hardening flags) in a copy of the tree with conf/debian as debian/; the
# .deb ends up in $(DEB_OUT). The tests are not run here (nocheck): CI runs
# them on their own.
DEB_OUT ?= $(BUILD)/deb
deb:
	rm -rf $(DEB_OUT)/src $(DEB_OUT)/kvmarm-digest[_-]* && mkdir -p $(DEB_OUT)/src
	tar -cf - --exclude=./.git --exclude=./$(BUILD) --exclude=./build . | tar -xf - -C $(DEB_OUT)/src
	rm -rf $(DEB_OUT)/src/debian && cp -a conf/debian $(DEB_OUT)/src/debian
	cd $(DEB_OUT)/src && DEB_BUILD_OPTIONS="nocheck $(DEB_BUILD_OPTIONS)" dpkg-buildpackage -b -us -uc
	rm -rf $(DEB_OUT)/src
	@ls $(DEB_OUT)/*.deb

clean:
	rm -rf $(BUILD)

.PHONY: all check check-layering bench demo deps install deb clean
.DELETE_ON_ERROR:
