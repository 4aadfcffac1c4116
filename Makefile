# dnstrail - build, test, install.
#
#   make              build bin/dnstrail-{capd,decoded,correlated,logd,ctl}
#   make demo         run the pipeline on a bundled capture, records to stdout
#   make check        build and run every test (installs missing Debian deps as root)
#   make check-asan   the same, built with AddressSanitizer + UBSan
#   make fuzz         run every libFuzzer harness FUZZ_SECONDS (default 60) each
#   make bench        throughput figures (see scripts/bench.sh)
#   make install      PREFIX=/usr/local DESTDIR=
#
# Every folder's .c files are found by wildcard: a stage is <dir>/main.c plus
# the other .c files of <dir>, linked with common/.  Tests are
# tests/unit/test_*.c (one Check program each), tests/build/*.sh (checks on
# the built binaries) and tests/e2e/*.sh.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
CC ?= cc
CFLAGS ?= -O2 -g
SAN ?=
B ?= build
BIN ?= bin
FUZZ_SECONDS ?= 60
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
PKGS := libpcap liburing json-c check rdkafka
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CPPFLAGS += -D_GNU_SOURCE -Icommon -DDNSTRAIL_VERSION='"$(VERSION)"'
ALL_CFLAGS = -std=c11 -Wall -Wextra -Werror $(CFLAGS) $(SAN) $(PKG_CFLAGS) -MMD -MP

LIBS_capd := -lpcap
LIBS_decoded :=
LIBS_correlated :=
LIBS_logd := -luring -lrdkafka -lz
LIBS_ctl := -ljson-c
LIBS_all := -lpcap -luring -lrdkafka -ljson-c -lz -lpthread -lm
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

STAGES := capd decoded correlated logd ctl
PROGS := $(addprefix $(BIN)/dnstrail-,$(STAGES))

lib_objs = $(patsubst %.c,$(B)/%.o,$(filter-out $(1)/main.c,$(wildcard $(1)/*.c)))
COMMON_OBJS := $(call lib_objs,common)
STAGE_LIBS := $(foreach s,$(STAGES),$(B)/lib$(s).a)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
TEST_HELPERS := $(patsubst tests/helpers/%.c,$(B)/tests/%,$(wildcard tests/helpers/*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all deps demo check check-asan check-valgrind fuzz fuzz-build bench install clean
all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(B)/libcommon.a: $(COMMON_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

define stage_rules
$(B)/lib$(1).a: $(call lib_objs,$(1))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$(Q)ar rcs $$@ $$^
$(BIN)/dnstrail-$(1): $(B)/$(1)/main.o $(B)/lib$(1).a $(B)/libcommon.a
	@mkdir -p $(BIN)
	@$$(if $$(Q),echo "  LINK    $$@")
	$$(Q)$$(CC) $$(ALL_CFLAGS) -o $$@ $$^ $(LIBS_$(1)) -lpthread -lm
endef
$(foreach s,$(STAGES),$(eval $(call stage_rules,$(s))))

# Tests link every stage library: archives only pull in what is used.
TEST_LINK = $(STAGE_LIBS) $(B)/libcommon.a $(CHECK_LIBS) $(LIBS_all) -lmsgpackc
$(B)/tests/%: tests/unit/%.c $(STAGE_LIBS) $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) -I. -Itests -Itests/unit $(ALL_CFLAGS) -o $@ $< $(TEST_LINK)
$(B)/tests/%: tests/helpers/%.c $(STAGE_LIBS) $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HELPER  $@")
	$(Q)$(CC) $(CPPFLAGS) -I. -Itests -Itests/unit $(ALL_CFLAGS) -o $@ $< $(TEST_LINK)
# Fuzz harnesses also build with gcc and a file-replay main, so make check can
# replay the regression inputs without clang.
$(B)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay_main.c $(STAGE_LIBS) $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  REPLAY  $@")
	$(Q)$(CC) $(CPPFLAGS) -I. -Itests -Itests/unit $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(TEST_LINK)

deps:
	@bash scripts/deps.sh

test-build: $(PROGS) $(UNIT_TESTS) $(TEST_HELPERS) $(addprefix $(B)/tests/replay_,$(FUZZERS))

check: deps
	@$(MAKE) --no-print-directory test-build
	@DNSTRAIL_BIN=$(abspath $(BIN)) DNSTRAIL_BUILD=$(abspath $(B)) bash tests/run.sh

check-asan: deps
	@$(MAKE) --no-print-directory B=build-asan BIN=build-asan/bin CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test-build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		DNSTRAIL_BIN=$(abspath build-asan/bin) DNSTRAIL_BUILD=$(abspath build-asan) DNSTRAIL_SLOW=1 \
		bash tests/run.sh

check-valgrind: deps all
	@DNSTRAIL_BIN=$(abspath $(BIN)) DNSTRAIL_BUILD=$(abspath $(B)) bash tests/valgrind.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/dnstrail -r tests/data/demo.pcap --sink stdout --dedup off --run-dir /dev/shm/dnstrail-demo

# libFuzzer builds: clang, every stage library's sources compiled in.
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)
FUZZ_SRCS := $(foreach s,common $(STAGES),$(filter-out $(s)/main.c,$(wildcard $(s)/*.c)))
fuzz-build: $(addprefix $(B)/fuzz/,$(FUZZERS))
$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -I. -Itests -Itests/unit $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS) $(LIBS_all)
fuzz: deps fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) B=$(B) bash tests/fuzz/run.sh $(FUZZERS)

bench: deps all $(TEST_HELPERS)
	@DNSTRAIL_BIN=$(abspath $(BIN)) DNSTRAIL_BUILD=$(abspath $(B)) bash scripts/bench.sh

# Binaries, the launcher, the example configuration, systemd units and the
# sysusers.d entry for the dnstrail user.  Installing to the running system
# as root (no DESTDIR) also creates that user.
UNITS := dnstrail-logd.service dnstrail-correlated.service dnstrail-decoded@.service dnstrail-capd.service
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/dnstrail $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 0755 scripts/dnstrail $(DESTDIR)$(BINDIR)/dnstrail
	install -m 0644 scripts/dnstrail.conf.example $(DESTDIR)$(SYSCONFDIR)/dnstrail/dnstrail.conf.example
	install -m 0644 scripts/systemd/dnstrail.target $(DESTDIR)$(UNITDIR)/
	for u in $(UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|g' scripts/systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 scripts/systemd/dnstrail.sysusers $(DESTDIR)$(SYSUSERSDIR)/dnstrail.conf
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && ! id -u dnstrail >/dev/null 2>&1; then \
		if command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/dnstrail.conf; \
		else useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group dnstrail; fi; \
	fi

clean:
	rm -rf build build-asan bin

-include $(shell find $(B) build-asan -name '*.d' 2>/dev/null)
