# SPDX-License-Identifier: GPL-2.0-only
#
# mcprouter: one entry point. `make` builds everything into build/ (programs in build/bin/);
# `make test` installs what it needs, builds, and runs every test tier; `make demo` shows the
# router working. `make help` lists the targets.

BUILD    ?= build
SAN      ?=
CC       := gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PROTOC_C ?= protoc-c
FUZZ_SECONDS ?= 60

ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -dumpmachine)

OBJ := $(BUILD)/obj
BIN := $(BUILD)/bin
GEN := $(BUILD)/gen

PKGS     := libbpf libxdp libprotobuf-c inih json-c libmicrohttpd libsystemd libsodium
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

LIBXDP_VERSION := $(shell pkg-config --modversion libxdp 2>/dev/null)
CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	   -Iinclude -Iuser -I$(GEN) -MMD -MP -DMCP_LIBXDP_VERSION='"$(LIBXDP_VERSION)"'
LDFLAGS :=
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_$(ARCH) -Ibpf \
	      -Iinclude -I/usr/include/$(MULTIARCH) -MMD -MP

# The tunables of include/mcp/tunables.h, for the programs and userspace alike.
EXTRA_CFLAGS ?=
CFLAGS     += $(EXTRA_CFLAGS)
BPF_CFLAGS += $(EXTRA_CFLAGS)

# ---- sources --------------------------------------------------------------------------------

# The protocol library (frame, decoder, messages, PONG, addresses, logging): no libbpf, no
# daemon; what tools and fuzzers link. The control protocol beside it. Then what the daemon
# (and mcpctl, which reads maps) adds: config, blocklist, kernel counters, pin root.
PROTO_SRCS := user/frame.c user/stream_decoder.c user/messages.c user/addr.c user/log.c \
	      user/fdio.c user/echo.c user/echo_stats.c
CTL_SRCS   := user/ctl_request.c
DAEMON_LIB_SRCS := user/config.c user/kstats.c user/blocklist.c user/pin_root.c user/log_libbpf.c \
		   user/tuple.c user/cgroup.c user/session_state.c \
		   user/baseline.c user/token.c user/auth.c user/pools.c user/session_table.c \
		   user/counters.c user/loop.c user/datapath.c
MCPD_SRCS := user/main.c user/mcpd.c user/session.c user/session_backends.c \
	     user/session_frames.c user/session_io.c user/session_timers.c user/session_snapshot.c \
	     user/dp_bpf.c \
	     user/dp_inline.c user/udp.c user/dp_xdp.c user/ctl.c user/stats.c user/metrics.c user/anomaly.c \
	     user/takeover.c user/upgrade.c user/pin_dir.c user/privileges.c \
	     user/perm_map.c
TOOLS    := mcp-echo mcpbench mcpctl
BENCH_TOOLS := mcp-xdpcost mcp-udpflood
PROTOS   := $(wildcard proto/*.proto)
PB_SRCS  := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
PB_HDRS  := $(PB_SRCS:.c=.h)
PROTO_LIB  := $(BUILD)/libmcp-proto.a
CTL_LIB    := $(BUILD)/libmcp-ctl.a
DAEMON_LIB := $(BUILD)/libmcpd.a
LIB        := $(DAEMON_LIB) $(CTL_LIB) $(PROTO_LIB) # in link order
PROTO_LIBS := -lprotobuf-c

# Every BPF program (bpf/ for the product, tests/bpf/ for programs only tests load).
BPF_SRCS := $(wildcard bpf/*.bpf.c tests/bpf/*.bpf.c)
BPF_OBJS := $(patsubst %.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS    := $(foreach s,$(BPF_SRCS),$(GEN)/$(notdir $(s:.bpf.c=.skel.h)))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BIN)/tests/%,$(UNIT_SRCS))
E2E_BINS   := $(BIN)/tests/e2e_router $(BIN)/tests/e2e_xdp $(BIN)/tests/e2e_control \
	      $(BIN)/tests/e2e_faults $(BIN)/tests/e2e_auth
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BIN)/tests/%,$(BPFT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

GENERATED := $(PB_HDRS) $(SKELS)

.PHONY: all deps test demo bench fuzz unit clean help format install uninstall
.DEFAULT_GOAL := all
# Generated files (protobuf C, skeletons, objects) are kept, never treated as intermediate.
.SECONDARY:

PROGS := $(BIN)/mcpd $(addprefix $(BIN)/,$(TOOLS)) $(addprefix $(BIN)/,$(BENCH_TOOLS))

all: $(LIB) $(BPF_OBJS) $(SKELS) $(PROGS) $(UNIT_BINS) $(BPFT_BINS) $(E2E_BINS)

help:
	@echo "make            build everything into $(BUILD)/ (programs in $(BIN)/)"
	@echo "make deps       install the Debian packages the build, tests, demo and bench need"
	@echo "make test       deps + build + every test tier, with a summary (CI=true: skips fail)"
	@echo "make demo       deps + build + the router working on loopback"
	@echo "make bench      side-by-side benchmarks into docs/benchmarks.md (QUICK=1: < 1 min, into build/bench/)"
	@echo "make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 60)"
	@echo "make format     clang-format the sources"
	@echo "make install    PREFIX=/usr/local DESTDIR=: mcpd, mcpctl, tools, man pages, unit, example"
	@echo "make uninstall  remove what make install put there"
	@echo "make clean      remove $(BUILD)/"

deps:
	@tools/scripts/deps.sh

# ---- protobuf ---------------------------------------------------------------------------------

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	$(PROTOC_C) --c_out=$(GEN) -Iproto $<

# ---- BPF: object with BTF, then skeleton ------------------------------------------------------

$(BUILD)/%.bpf.o: %.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

define skel_rule
$(GEN)/$(notdir $(1:.bpf.c=.skel.h)): $(BUILD)/$(1:.bpf.c=.bpf.o)
	@mkdir -p $(GEN)
	$(BPFTOOL) gen skeleton $$< name $(subst -,_,$(notdir $(1:.bpf.c=))) > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach s,$(BPF_SRCS),$(eval $(call skel_rule,$(s))))

# ---- userspace --------------------------------------------------------------------------------

$(OBJ)/gen/%.o: $(GEN)/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(OBJ)/%.o: %.c | $(GENERATED)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(PROTO_LIB): $(patsubst %.c,$(OBJ)/%.o,$(PROTO_SRCS)) $(OBJ)/gen/mcp.pb-c.o
	@rm -f $@
	ar rcs $@ $^

$(CTL_LIB): $(patsubst %.c,$(OBJ)/%.o,$(CTL_SRCS)) $(OBJ)/gen/control.pb-c.o
	@rm -f $@
	ar rcs $@ $^

$(DAEMON_LIB): $(patsubst %.c,$(OBJ)/%.o,$(DAEMON_LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^

$(BIN)/mcpd: $(patsubst %.c,$(OBJ)/%.o,$(MCPD_SRCS)) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) -lm

$(BIN)/mcp-xdpcost: $(OBJ)/tools/bench/xdp_cost.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) -lm

# Tools link the protocol library only; mcpctl reads maps, so it takes libbpf too.
$(BIN)/mcp-udpflood: $(OBJ)/tools/bench/udp_flood.o $(PROTO_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(PROTO_LIBS)

$(BIN)/mcp-echo: $(OBJ)/tools/mcp-echo.o $(PROTO_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(PROTO_LIBS)

$(BIN)/mcpbench: $(OBJ)/tools/mcpbench.o $(PROTO_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(PROTO_LIBS) $(shell pkg-config --libs json-c) -lm

$(BIN)/mcpctl: $(OBJ)/tools/mcpctl.o $(OBJ)/tools/mcpctl_token.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

$(BIN)/tests/e2e_router: $(OBJ)/tests/e2e/test_router.o $(OBJ)/tests/e2e/harness.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS) -lpthread

$(BIN)/tests/e2e_xdp: $(OBJ)/tests/e2e/test_xdp.o $(OBJ)/tests/e2e/harness.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS) -lpthread

$(BIN)/tests/e2e_faults: $(OBJ)/tests/e2e/test_faults.o $(OBJ)/tests/e2e/harness.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS) -lpthread

$(BIN)/tests/e2e_control: $(OBJ)/tests/e2e/test_control.o $(OBJ)/tests/e2e/harness.o \
		$(OBJ)/tests/e2e/ctl_client.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS) -lpthread

$(BIN)/tests/e2e_auth: $(OBJ)/tests/e2e/test_auth.o $(OBJ)/tests/e2e/harness.o \
		$(OBJ)/tests/e2e/ctl_client.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS) -lpthread

$(BIN)/tests/test_%: $(OBJ)/tests/unit/test_%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS) -lm

$(BIN)/tests/test_walk_bpf: $(OBJ)/tests/bpf/test_walk_bpf.o $(OBJ)/tests/bpf/walk_runner.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS)

$(BIN)/tests/test_verdict_bpf $(BIN)/tests/test_inline_bpf: $(BIN)/tests/test_%: \
		$(OBJ)/tests/bpf/test_%.o $(OBJ)/tests/bpf/sock_check.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS)

$(BIN)/tests/test_%: $(OBJ)/tests/bpf/test_%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ -lcmocka $(PKG_LIBS)

# ---- fuzzing (clang libFuzzer, with ASan and UBSan) -------------------------------------------

FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Iuser -I$(GEN) -D_GNU_SOURCE

# The parsers a fuzzer reaches: the protocol and control libraries, the config file parser
# and the token verifier; no libbpf.
FUZZ_LIB_SRCS := $(PROTO_SRCS) $(CTL_SRCS) user/config.c user/token.c

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(PB_SRCS) $(PB_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_LIB_SRCS) $(PB_SRCS) -o $@ -lprotobuf-c -linih -lsodium

# The framer agreement target runs the kernel's walk too: its runner, the test program's
# skeleton, libbpf.
$(BUILD)/fuzz/fuzz_framer: tests/fuzz/fuzz_framer.c tests/bpf/walk_runner.c user/pin_root.c \
			   $(PROTO_SRCS) $(GEN)/walk_fixture.skel.h $(PB_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -Itests/bpf $< tests/bpf/walk_runner.c user/pin_root.c \
		$(PROTO_SRCS) $(GEN)/mcp.pb-c.c -o $@ -lprotobuf-c -lbpf

fuzz: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-fuzz.sh $(BUILD)/fuzz

# ---- tests ------------------------------------------------------------------------------------

unit: $(UNIT_BINS)

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/san SAN=1 unit $(BUILD)/san/bin/mcpd
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@BUILD=$(BUILD) tests/run-tests.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/scripts/demo.sh

# make bench [QUICK=1]: side-by-side figures, written to docs/benchmarks.md with plots
# (QUICK=1: a smoke run, written to build/bench/ and never to docs/).
bench: deps
	@$(MAKE) --no-print-directory all
	@tools/scripts/bench.py $(if $(QUICK),--quick)

# ---- install --------------------------------------------------------------------------------

PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR := $(PREFIX)/sbin
BINDIR  := $(PREFIX)/bin
DATADIR := $(PREFIX)/share/mcprouter
MANDIR  := $(PREFIX)/share/man/man8
UNITDIR ?= $(PREFIX)/lib/systemd/system
ETCDIR  ?= /etc/mcp

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(MANDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(ETCDIR)
	install -m 0755 $(BIN)/mcpd $(DESTDIR)$(SBINDIR)/mcpd
	install -m 0755 $(BIN)/mcpctl $(BIN)/mcp-echo $(BIN)/mcpbench $(DESTDIR)$(BINDIR)/
	install -m 0644 $(BUILD)/bpf/mcp_sockmap.bpf.o $(BUILD)/bpf/mcp_inline.bpf.o \
		$(BUILD)/bpf/mcp_xdp.bpf.o $(DESTDIR)$(DATADIR)/
	install -m 0644 docs/man/mcpd.8 docs/man/mcpctl.8 $(DESTDIR)$(MANDIR)/
	install -m 0644 tools/packaging/mcpd.ini.example $(DESTDIR)$(ETCDIR)/mcpd.ini.example
	sed 's|@SBINDIR@|$(SBINDIR)|g' tools/packaging/mcpd.service > $(DESTDIR)$(UNITDIR)/mcpd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mcpd.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mcpd $(DESTDIR)$(BINDIR)/mcpctl $(DESTDIR)$(BINDIR)/mcp-echo \
		$(DESTDIR)$(BINDIR)/mcpbench $(DESTDIR)$(MANDIR)/mcpd.8 $(DESTDIR)$(MANDIR)/mcpctl.8 \
		$(DESTDIR)$(UNITDIR)/mcpd.service $(DESTDIR)$(ETCDIR)/mcpd.ini.example
	rm -rf $(DESTDIR)$(DATADIR)

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
