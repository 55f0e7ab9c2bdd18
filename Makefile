# SPDX-License-Identifier: GPL-2.0-only
# xlb: one non-recursive Makefile; every output goes to build/.

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:
MAKEFLAGS += --no-builtin-rules

BUILD	?= build
CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
ARCH	:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS	?= -O2 -g
XCFLAGS	:= -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	   -Iinclude -Iuser/lib -I$(BUILD)/include -MMD -MP
BPF_CFLAGS := -g -O2 --target=bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	   -Iinclude -I/usr/include/$(MULTIARCH) -MMD -MP
LIBS	:= -lxdp -lbpf -lcurl -levent -lcares -lresolv -lyaml -ljansson -lmnl -lelf -lz -lm

BPF_PROGS := xlb_lb xlb_decap
BENCH_PROGS := xdp_floor xdp_gen
SKELS	:= $(BPF_PROGS:%=$(BUILD)/include/%.skel.h) $(BENCH_PROGS:%=$(BUILD)/include/%.skel.h)
TEST_BPF_OBJ := $(BUILD)/tests/bpf/xdp_pass.bpf.o
LIB_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard user/lib/*/*.c))))
LIB_SRC	:= $(wildcard $(LIB_DIRS:%=%/*.c))
LIB_OBJ	:= $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB	:= $(BUILD)/libxlb.a
XLB_SRC	:= $(wildcard user/xlb/*.c)
XLB_OBJ	:= $(XLB_SRC:%.c=$(BUILD)/%.o)
XLBD_SRC := $(wildcard user/xlbd/*.c)
XLBD_OBJ := $(XLBD_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
BPFT_SRC := $(wildcard tests/bpf/test_*.c)
BPFT_BIN := $(BPFT_SRC:%.c=$(BUILD)/%)
TLIB_SRC := $(wildcard tests/lib/*.c)
TLIB_OBJ := $(TLIB_SRC:%.c=$(BUILD)/%.o)
BENCH_SRC := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:%.c=$(BUILD)/%)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_REPLAY := $(FUZZ_SRC:fuzz/fuzz_%.c=$(BUILD)/tests/unit/test_fuzz_%)

.PHONY: all help deps lint format format-check check unit bpftest e2e bench demo clean install uninstall fuzz vmtest
all: $(BUILD)/xlb $(BUILD)/xlbd $(UNIT_BIN) $(BPFT_BIN) $(BENCH_BIN) $(TEST_BPF_OBJ) $(FUZZ_REPLAY)

help:
	@echo 'make           build xlb, tests and benchmarks into $(BUILD)/'
	@echo 'make deps      install missing Debian packages (root)'
	@echo 'make check     lint, then unit, BPF and end-to-end tests (root)'
	@echo 'make lint      format-check; the folder include graph follows the declared order;'
	@echo '               README figure tables match bench/results'
	@echo 'make format    clang-format (C) and shfmt (shell) over the tree (format-check: list only)'
	@echo 'make unit      cmocka unit tests only'
	@echo 'make bpftest   BPF_PROG_TEST_RUN packet tests only (root)'
	@echo 'make e2e       end-to-end tests in network namespaces (root)'
	@echo 'make bench     every benchmark -> bench/results/*.json and the README tables (root)'
	@echo 'make demo      the reference topology, attached and sending (root)'
	@echo 'make vmtest    the kernel matrix in qemu (root); KERNELS="bookworm trixie bullseye host"'
	@echo 'make fuzz      libFuzzer runs of the parsers, FUZZ_TIME seconds each (not in check)'
	@echo 'make clean     remove $(BUILD)/'
	@echo 'make install   xlb, xlbd, man pages, systemd unit, bash completion into'
	@echo '               $$(DESTDIR)$$(PREFIX) (PREFIX=$(PREFIX)); /etc/xlb/xlb.yaml only if absent'
	@echo 'make uninstall remove what install put (never /etc/xlb/xlb.yaml)'

deps:
	@scripts/install-deps.sh

# --- BPF: clang -> bpftool gen object -> bpftool gen skeleton ---------------
$(BUILD)/%.bpf.o: %.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.o: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen object $@ $<

$(BUILD)/bench/%.o: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen object $@ $<

$(BUILD)/include/%.skel.h: $(BUILD)/bpf/%.o
	@mkdir -p $(@D)
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/include/%.skel.h: $(BUILD)/bench/%.o
	@mkdir -p $(@D)
	$(BPFTOOL) gen skeleton $< name $* > $@

# --- userspace ---------------------------------------------------------------
$(BUILD)/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/xlb: $(XLB_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/xlbd: $(XLBD_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(TLIB_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LIBS)

# The CLI's own parsing helpers are tested with the CLI's objects.
$(BUILD)/tests/unit/test_cli: $(BUILD)/tests/unit/test_cli.o $(BUILD)/user/xlb/cli.o $(TLIB_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LIBS)

$(BUILD)/tests/unit/test_batch: $(BUILD)/tests/unit/test_batch.o $(BUILD)/user/xlb/batch_parse.o \
			      $(BUILD)/user/xlb/cli.o $(TLIB_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LIBS)

$(BUILD)/tests/bpf/%: $(BUILD)/tests/bpf/%.o $(TLIB_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(TLIB_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# --- tests -------------------------------------------------------------------
# Includes between folders point one way (the order is declared in the script);
# the README figure tables are what bench/tables.py makes of bench/results/.
lint: format-check
	@scripts/include-graph.py
	@bench/tables.py check

format:
	@scripts/format.sh

format-check:
	@scripts/format.sh --check

check: deps all lint
	@tests/run.sh all

unit: $(UNIT_BIN) $(FUZZ_REPLAY)
	@tests/run.sh unit

bpftest: $(BPFT_BIN)
	@tests/run.sh bpf

e2e: $(BUILD)/xlb $(BUILD)/xlbd $(TEST_BPF_OBJ)
	@tests/run.sh e2e

# Each kernel of KERNELS booted in qemu, the kernel-facing tests inside it.
vmtest: deps all
	@scripts/vmtest.sh $(KERNELS)

# Every committed result in bench/results/ and the README tables made from
# them; BENCH="xdp maglev" for some (bench/run.sh --list).
bench: deps all
	@bench/run.sh $(BENCH)

demo: deps $(BUILD)/xlb $(BUILD)/xlbd $(TEST_BPF_OBJ)
	@scripts/demo.sh

clean:
	rm -rf $(BUILD)

# --- install -------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=]: binaries in $(PREFIX)/sbin, man
# pages in $(PREFIX)/share/man, the unit in $(PREFIX)/lib/systemd/system (a
# directory systemd searches for /usr and /usr/local alike; on Debian 12
# /lib is /usr/lib) with ExecStart pointing at $(PREFIX)/sbin/xlbd, bash
# completion in $(PREFIX)/share/bash-completion/completions. The example
# configuration always goes to $(PREFIX)/share/doc/xlb/, and to
# /etc/xlb/xlb.yaml only when that file does not exist yet: an admin's file
# is never overwritten (nor removed by uninstall). Packagers: PREFIX=/usr.
PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
DOCDIR		?= $(PREFIX)/share/doc/xlb
UNITDIR		?= $(PREFIX)/lib/systemd/system
COMPDIR		?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR	?= /etc

install: $(BUILD)/xlb $(BUILD)/xlbd
	install -D -m 0755 $(BUILD)/xlb $(DESTDIR)$(SBINDIR)/xlb
	install -D -m 0755 $(BUILD)/xlbd $(DESTDIR)$(SBINDIR)/xlbd
	install -D -m 0644 docs/man/xlb.8 $(DESTDIR)$(MANDIR)/man8/xlb.8
	install -D -m 0644 docs/man/xlbd.8 $(DESTDIR)$(MANDIR)/man8/xlbd.8
	install -D -m 0644 docs/man/xlbd.yaml.5 $(DESTDIR)$(MANDIR)/man5/xlbd.yaml.5
	sed -e 's|/usr/sbin/xlbd|$(SBINDIR)/xlbd|g' -e 's|/etc/xlb/|$(SYSCONFDIR)/xlb/|g' \
	    scripts/xlbd.service > $(BUILD)/xlbd.service
	install -D -m 0644 $(BUILD)/xlbd.service $(DESTDIR)$(UNITDIR)/xlbd.service
	install -D -m 0644 scripts/xlb.bash-completion $(DESTDIR)$(COMPDIR)/xlb
	install -D -m 0644 scripts/xlb.example.yaml $(DESTDIR)$(DOCDIR)/xlb.example.yaml
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/xlb/xlb.yaml ]; then \
		echo 'kept $(DESTDIR)$(SYSCONFDIR)/xlb/xlb.yaml (example: $(DOCDIR)/xlb.example.yaml)'; \
	else \
		echo 'install -D -m 0600 scripts/xlb.example.yaml $(DESTDIR)$(SYSCONFDIR)/xlb/xlb.yaml'; \
		install -D -m 0600 scripts/xlb.example.yaml $(DESTDIR)$(SYSCONFDIR)/xlb/xlb.yaml; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/xlb $(DESTDIR)$(SBINDIR)/xlbd
	rm -f $(DESTDIR)$(MANDIR)/man8/xlb.8 $(DESTDIR)$(MANDIR)/man8/xlbd.8
	rm -f $(DESTDIR)$(MANDIR)/man5/xlbd.yaml.5
	rm -f $(DESTDIR)$(UNITDIR)/xlbd.service
	rm -f $(DESTDIR)$(COMPDIR)/xlb
	rm -f $(DESTDIR)$(DOCDIR)/xlb.example.yaml
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/xlb/xlb.yaml ]; then \
		echo 'kept $(DESTDIR)$(SYSCONFDIR)/xlb/xlb.yaml (remove it by hand if no longer wanted)'; \
	fi

# --- fuzzing (clang libFuzzer + ASan/UBSan; not part of check) --------------
# fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput; the library is rebuilt
# with clang and the sanitizers into $(BUILD)/fuzz/. Crashing inputs found
# are kept in fuzz/regressions/NAME/ and replayed by tests/unit/test_fuzz_regressions.
FUZZ_TIME ?= 60
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer

$(BUILD)/fuzz/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(XCFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

# Its dependency file has a name of its own: the default one (fuzz_NAME.d)
# is the replay object's, which would lose its headers.
$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(@D)
	$(CLANG) $(XCFLAGS) -MF $@.fuzzer.d -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(FUZZ_LIB_OBJ) $(LIBS)

# The same targets built with gcc and fuzz/replay.c run every kept input
# (fuzz/corpus/NAME/, fuzz/regressions/NAME/) as unit tests in check.

$(BUILD)/tests/unit/test_fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/fuzz/replay.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

fuzz: $(FUZZ_BIN)
	@scripts/fuzz.sh $(FUZZ_TIME) $(FUZZ_BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
