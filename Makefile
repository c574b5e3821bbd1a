# kvmarm-digest build. `make` builds the three programs into $(BUILD)/,
# `make check` runs every test under prove, `make bench` prints numbers,
# `make deps` installs what building, testing and the demo need (Debian 12,
# as root), `make demo` runs the main job. BUILD= keeps separate trees apart;
# `make SANITIZE=1` (ASan + UBSan) builds into build-san/ unless BUILD= says
# otherwise, so a sanitized and a plain build never share objects.

ifeq ($(SANITIZE),1)
BUILD   ?= build-san
else ifeq ($(FUZZ),1)
BUILD   ?= build-fuzz
else
BUILD   ?= build
endif
PREFIX  ?= /usr/local
DESTDIR ?=
# Where `make install` puts things. LIBEXECDIR holds kvmarm-store-import,
# which kvmarm-store runs for import and parse-only; kvmarm-store finds it
# there relative to its own directory (so a DESTDIR tree works too), else
# at the absolute path (store/cli/import_exec.c).
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/lib/kvmarm-digest
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/kvmarm-digest
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
CC      ?= cc
PYTHON  ?= /usr/bin/python3

# CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS belong to whoever runs make (a
# packager passes `dpkg-buildflags --get ...`, a developer CFLAGS=-O0):
# the project's own flags live in KV_* and are added whatever those hold.
CFLAGS  ?= -O2 -g
CPPFLAGS ?=
LDFLAGS ?=
LDLIBS  ?=

PKGS    := gmime-3.0 lmdb libcurl glib-2.0 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# kvmarm-store (the queries) links only what its objects use: no gmime
# (nor GLib, GIO, GObject and the twenty libraries they bring), whose
# loading at every start cost more than a query (issue 15); parsing mail
# is kvmarm-store-import. Only store/mime.c may use GLib (through gmime):
# the config, time zones, SHA-256 and UTF-8 checks are our own code.
# --as-needed would drop unused libraries anyway; naming only these keeps
# it so under an LDFLAGS with --no-as-needed too.
STORE_PKG_LIBS := $(shell pkg-config --libs lmdb zlib 2>/dev/null)
# ... and links those two statically where their archives are (Debian's
# liblmdb-dev and zlib1g-dev ship them): two shared objects fewer to map
# and relocate took 0.6 ms off every start and 1.2-1.4 ms off a search at
# 100k messages on the 2-core VM of ENVIRONMENT.md (hyperfine, 60 runs).
STORE_STATIC := $(and $(filter /%,$(shell $(CC) -print-file-name=liblmdb.a)),$(filter /%,$(shell $(CC) -print-file-name=libz.a)))
ifneq ($(STORE_STATIC),)
STORE_PKG_LIBS := -Wl,-Bstatic $(STORE_PKG_LIBS) -Wl,-Bdynamic
endif

KV_CPPFLAGS := -D_GNU_SOURCE
KV_CFLAGS   := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare $(PKG_CFLAGS)
KV_LDFLAGS  := -Wl,--as-needed -Wl,-O1
KV_LIBS     := $(PKG_LIBS) -lpthread -lm
STORE_LIBS  := $(STORE_PKG_LIBS) -lpthread -lm
ifeq ($(SANITIZE),1)
KV_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
KV_LDFLAGS += -fsanitize=address,undefined
endif
# FUZZ=1 (set by `make fuzz`, with CC=clang): every object instrumented for
# libFuzzer's coverage, with ASan + UBSan; the fuzz programs link libFuzzer.
ifeq ($(FUZZ),1)
KV_CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
KV_LDFLAGS += -fsanitize=address,undefined
endif

# Quoted includes: the compiler looks in the including file's own folder
# first; besides that a program's files see only store/, the library they
# all link (so reporter/ cannot reach milter/ by accident). Tests see all.
# check-layering checks the same rule and names the file that breaks it.
kv_inc = $(if $(filter tests/%,$(1)),-Istore -Ireporter -Imilter,-Istore)

STORE_SRC    := $(wildcard store/*.c)
CLI_SRC      := $(wildcard store/cli/*.c)
# kvmarm-store runs import and parse-only through kvmarm-store-import
# (store/cli/import_exec.c); that program is the same CLI with the parser.
CLI_QUERY_SRC  := $(filter-out store/cli/import.c,$(CLI_SRC))
CLI_IMPORT_SRC := $(filter-out store/cli/import_exec.c,$(CLI_SRC))
MILTER_SRC   := $(filter-out milter/main.c,$(wildcard milter/*.c))
REPORTER_SRC := $(filter-out reporter/main.c,$(wildcard reporter/*.c))
UNIT_SRC     := $(wildcard tests/unit/t_*.c)
TOOL_SRC     := $(filter-out %_shim.c,$(wildcard tests/tools/*.c))
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBSTORE    := $(BUILD)/libkvstore.a
LIBREPORTER := $(BUILD)/libkvreporter.a
LIBMILTER   := $(BUILD)/libkvmilter.a
PROGS := $(BUILD)/kvmarm-store $(BUILD)/kvmarm-store-import $(BUILD)/kvmarm-milter $(BUILD)/kvmarm-reporter
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
# each fuzz target with replay.c's main: runs given inputs once (60-fuzz-replay.t)
REPLAYS := $(addprefix $(BUILD)/fuzz-replay/,$(FUZZ_NAMES))
# LD_PRELOAD shims for tests (tests/tools/*_shim.c), plain shared objects
SHIMS := $(BUILD)/tools/powerloss.so

all: $(PROGS) $(UNITS) $(TOOLS) $(REPLAYS) $(SHIMS)

# Every object depends on $(BUILD)/flags, which changes only when the flags
# do: a build with other flags in the same tree recompiles everything.
# Header dependencies come from the compiler (-MMD -MP, the .d files).
$(BUILD)/obj/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(KV_CPPFLAGS) $(call kv_inc,$<) $(CPPFLAGS) $(KV_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(patsubst %.c,$(BUILD)/obj/%.d,$(STORE_SRC) $(CLI_SRC) $(wildcard milter/*.c reporter/*.c) $(UNIT_SRC) $(TOOL_SRC) $(wildcard tests/fuzz/*.c))

KV_FLAGS_TEXT = $(CC) $(KV_CPPFLAGS) $(CPPFLAGS) $(KV_CFLAGS) $(CFLAGS) | $(KV_LDFLAGS) $(LDFLAGS) | $(KV_LIBS) $(LDLIBS)
$(BUILD)/flags: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(subst ','\'',$(KV_FLAGS_TEXT))' >$@.new; \
	 if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi

# The import program's directory, compiled into import_exec.o alone, with
# a stamp of its own: another PREFIX recompiles that one file.
KV_LIBEXEC_FLAGS := -DKV_LIBEXECDIR='"$(LIBEXECDIR)"' \
	-DKV_LIBEXEC_REL='"$(shell realpath -m --relative-to='$(BINDIR)' '$(LIBEXECDIR)')"'
$(BUILD)/libexec-flags: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(subst ','\'',$(KV_LIBEXEC_FLAGS))' >$@.new; \
	 if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi
$(call obj,store/cli/import_exec.c): $(BUILD)/libexec-flags
$(call obj,store/cli/import_exec.c): KV_CPPFLAGS += $(KV_LIBEXEC_FLAGS)

$(LIBSTORE): $(call obj,$(STORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBREPORTER): $(call obj,$(REPORTER_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBMILTER): $(call obj,$(MILTER_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Test objects are only reached through pattern rules: keep them (make would
# delete them as intermediate files and rebuild them on the next run).
.SECONDARY: $(call obj,$(UNIT_SRC) $(TOOL_SRC) $(wildcard tests/fuzz/*.c))

# Links depend on the flags too (LDFLAGS); $(link) leaves the stamp out.
link = $(CC) $(CFLAGS) $(KV_LDFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.a,$^)
$(BUILD)/kvmarm-store: $(call obj,$(CLI_QUERY_SRC)) $(LIBSTORE) $(BUILD)/flags
	$(link) $(STORE_LIBS) $(LDLIBS)
$(BUILD)/kvmarm-store-import: $(call obj,$(CLI_IMPORT_SRC)) $(LIBSTORE) $(BUILD)/flags
	$(link) $(KV_LIBS) $(LDLIBS)
$(BUILD)/kvmarm-milter: $(call obj,milter/main.c) $(LIBMILTER) $(LIBSTORE) $(BUILD)/flags
	$(link) -lmilter $(KV_LIBS) $(LDLIBS)
$(BUILD)/kvmarm-reporter: $(call obj,reporter/main.c) $(LIBREPORTER) $(LIBSTORE) $(BUILD)/flags
	$(link) $(KV_LIBS) $(LDLIBS)
$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(LIBREPORTER) $(LIBMILTER) $(LIBSTORE) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(link) $(KV_LIBS) $(LDLIBS)
$(BUILD)/tools/%: $(call obj,tests/tools/%.c) $(LIBMILTER) $(LIBSTORE) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(link) -lmilter $(KV_LIBS) $(LDLIBS)
$(BUILD)/tools/%.so: tests/tools/%_shim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -g -Wall -Wextra -o $@ $< -ldl -lpthread
$(BUILD)/fuzz-replay/%: $(call obj,tests/fuzz/%.c tests/fuzz/replay.c) $(LIBREPORTER) $(LIBSTORE) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(link) $(KV_LIBS) $(LDLIBS)
$(BUILD)/fuzz/%: $(call obj,tests/fuzz/%.c) $(LIBREPORTER) $(LIBSTORE) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(link) -fsanitize=fuzzer $(KV_LIBS) $(LDLIBS)

# Checks on the source itself (tests/lib/check_source.py says how each works).
# check-layering: each third-party library stays behind its one module (and
# GLib behind gmime: no program file includes it);
# store/ includes only store/, each program only its own folder and store/;
# no include cycle between modules (a module is a file stem in its folder).
CHECK_SOURCE = $(PYTHON) tests/lib/check_source.py
check-layering:
	@bad=$$(grep -l '#include *<gmime/' $$(find store milter reporter tests -name '*.[ch]') | grep -v '^store/mime' || true); \
	 [ -z "$$bad" ] || { echo "gmime used outside store/mime*: $$bad"; exit 1; }
	@bad=$$(grep -l '#include *<glib' $$(find store milter reporter -name '*.[ch]') || true); \
	 [ -z "$$bad" ] || { echo "GLib used directly (only gmime may use it, so kvmarm-store loads none): $$bad"; exit 1; }
	@bad=$$(grep -l '#include *<lmdb.h>' $$(find store milter reporter tests -name '*.[ch]') | grep -v '^store/db\.' || true); \
	 [ -z "$$bad" ] || { echo "lmdb used outside store/db.c: $$bad"; exit 1; }
	@bad=$$(grep -l '#include *<libmilter/' $$(find store milter reporter tests -name '*.[ch]') | grep -v '^milter/milter\.c$$\|^tests/tools/accept_milter\.c$$' || true); \
	 [ -z "$$bad" ] || { echo "libmilter used outside milter/milter.c: $$bad"; exit 1; }
	@bad=$$(grep -l '#include *<curl/' $$(find store milter reporter tests -name '*.[ch]') | grep -v '^reporter/http\.' || true); \
	 [ -z "$$bad" ] || { echo "libcurl used outside reporter/http.c: $$bad"; exit 1; }
	@$(CHECK_SOURCE) layering
	@$(CHECK_SOURCE) cycles $(addprefix --exempt ,$(CYCLE_EXEMPT))

# No .c file over $(MAX_LINES) lines unless its header comment (first 30
# lines) gives the reason on a line saying "size:".
MAX_LINES ?= 900
check-size:
	@$(CHECK_SOURCE) size --max $(MAX_LINES) $(addprefix --exempt ,$(SIZE_EXEMPT))

# banned.h comes after the system headers in every library and program .c
# (it cannot be forced in with -include: see store/banned.h); fix-banned adds
# it where it is missing.
check-banned:
	@$(CHECK_SOURCE) banned
fix-banned:
	sh tests/lib/add-banned-include.sh

# Under SANITIZE=1 every sanitizer report (ASan, LSan's leaks at exit,
# UBSan) of any of our programs a test runs goes to a file in
# $(BUILD)/sanitizer/, and check fails printing them: a daemon's report
# would otherwise end in a log no test reads, and a test that expects a
# failure would take an ASan abort for it. Leak detection stays on (LSan's
# default): a leak, in a test too, is a bug to fix. ASAN_OPTIONS and
# UBSAN_OPTIONS from the environment are kept, the log path added.
ifeq ($(SANITIZE),1)
SAN_DIR := $(abspath $(BUILD))/sanitizer
SAN_ENV := ASAN_OPTIONS=$${ASAN_OPTIONS:-detect_leaks=1}:log_path=$(SAN_DIR)/asan \
	UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1}:log_path=$(SAN_DIR)/ubsan
endif

TESTS ?= $(sort $(wildcard tests/t/*.t))
check: all check-layering check-size check-banned
ifeq ($(SANITIZE),1)
	@rm -rf $(SAN_DIR) && mkdir -p $(SAN_DIR) && chmod 1777 $(SAN_DIR)
endif
	KV_BUILD=$(abspath $(BUILD)) KV_SRC=$(CURDIR) PYTHON=$(PYTHON) $(SAN_ENV) \
	  prove -f --timer $(UNITS) $(TESTS); rc=$$?; \
	$(if $(SAN_DIR),for f in $(SAN_DIR)/*; do [ -f "$$f" ] || continue; \
	  echo "sanitizer report $$f:"; cat "$$f"; rc=1; done;) exit $$rc

bench: all
	KV_BUILD=$(abspath $(BUILD)) KV_SRC=$(CURDIR) PYTHON=$(PYTHON) \
	  sh tests/bench/run.sh

demo:
	sh tests/demo.sh

# `make fuzz FUZZ_SECONDS=N`: build every libFuzzer target (tests/fuzz/,
# clang, ASan + UBSan) into build-fuzz/, write the seed corpora
# (tests/fuzz/seeds.py: generated mail and inline samples) and run each
# target N seconds on its seeds plus the corpus it grew in earlier runs
# (build-fuzz/corpus/NAME). A finding is written to build-fuzz/findings/
# and fails the run: copy it to tests/fuzz/regress/NAME/ with the fix, and
# 60-fuzz-replay.t replays it in every `make check`. The targets' scratch
# files (a store, mbox files) go to a directory under FUZZ_TMPDIR
# (default /dev/shm: the store's syncs cost nothing there), removed at
# the end (libFuzzer's exit skips the targets' own clean-up).
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
fuzz:
	$(MAKE) FUZZ=1 BUILD=build-fuzz CC=clang fuzz-build
	@rm -rf build-fuzz/seed && $(PYTHON) tests/fuzz/seeds.py build-fuzz/seed
	@mkdir -p build-fuzz/findings; rc=0; \
	tmp=$${FUZZ_TMPDIR:-/dev/shm}/kv-fuzz.$$$$; mkdir -p $$tmp || exit 1; \
	for t in $(FUZZ_NAMES); do \
	  mkdir -p build-fuzz/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  TMPDIR=$$tmp build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	    -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix=build-fuzz/findings/$$t- $(FUZZ_FLAGS) \
	    build-fuzz/corpus/$$t build-fuzz/seed/$$t >build-fuzz/$$t.log 2>&1; r=$$?; \
	  grep -E '^(stat::number_of_executed_units|stat::new_units_added)|^#[0-9]+.*DONE' build-fuzz/$$t.log | tr '\n' ' '; echo; \
	  if [ $$r -ne 0 ]; then echo "fuzz: $$t FAILED (exit $$r), log build-fuzz/$$t.log:"; \
	    grep -a -A30 -m1 -E '^==[0-9]+==ERROR|property broken|runtime error|deadly signal' build-fuzz/$$t.log; rc=1; fi; \
	done; rm -rf $$tmp; exit $$rc
fuzz-build: $(addprefix $(BUILD)/fuzz/,$(FUZZ_NAMES))

# Every Debian package that building, testing, benchmarks and the demo use
# (dpkg-dev: dpkg-buildflags, for .ci/run's build with Debian's flags).
DEB_PKGS := build-essential pkg-config libmilter-dev libgmime-3.0-dev liblmdb-dev \
	lmdb-utils libcurl4-openssl-dev libglib2.0-dev zlib1g-dev postfix miltertest \
	python3 perl ca-certificates m4 libwrap0 debhelper dpkg-dev fakeroot
# the reporter's HTML test opens the digest in headless Chromium
EXTRA_DEB_PKGS += chromium chromium-driver
# 30-reporter-deliver shows the delivered digest in mutt
EXTRA_DEB_PKGS += mutt
# the escaper property test renders the Markdown with GFM's reference renderer
EXTRA_DEB_PKGS += cmark-gfm
# `make fuzz`: clang and its libFuzzer/sanitizer runtimes
EXTRA_DEB_PKGS += clang libclang-rt-14-dev
# 61-valgrind.t: one end-to-end run under memcheck
EXTRA_DEB_PKGS += valgrind
BENCH_DEB_PKGS := notmuch maildir-utils hyperfine time
deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (apt-get)"; exit 2; fi
	@missing=$$(for p in $(DEB_PKGS) $(EXTRA_DEB_PKGS) $(BENCH_DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  echo "postfix postfix/mailname string localhost" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# `make install` (non-Debian systems; Debian: `make deb`): the programs, man
# pages, the sample config (kept if one is there) and the systemd units with
# this PREFIX in their paths. Builds only the programs, never the tests.
UNIT_FILES := $(wildcard conf/*.service conf/*.timer)
install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/kvmarm-digest \
	  $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/kvmarm-store $(BUILD)/kvmarm-reporter $(DESTDIR)$(BINDIR)/
	install -m 755 $(BUILD)/kvmarm-store-import $(DESTDIR)$(LIBEXECDIR)/
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
	tar -cf - --exclude=./.git --exclude=./$(BUILD) --exclude='./build*' --exclude=./demo-out --exclude=./bench-out . | tar -xf - -C $(DEB_OUT)/src
	rm -rf $(DEB_OUT)/src/debian && cp -a conf/debian $(DEB_OUT)/src/debian
	cd $(DEB_OUT)/src && DEB_BUILD_OPTIONS="nocheck $(DEB_BUILD_OPTIONS)" dpkg-buildpackage -b -us -uc
	rm -rf $(DEB_OUT)/src
	@ls $(DEB_OUT)/*.deb

clean:
	rm -rf $(BUILD)

FORCE:

.PHONY: all check check-layering check-size check-banned fix-banned bench demo fuzz fuzz-build deps install deb clean FORCE
.DELETE_ON_ERROR:
