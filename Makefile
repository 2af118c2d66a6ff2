# kt — AI governance sidecar. `make` builds build/kt; `make test` runs every test under ASan+UBSan.
# Variants: build/ (release), build/san/ (ASan+UBSan), build/fuzz/ (clang libFuzzer).

CC      ?= cc
B       := build
.DEFAULT_GOAL := all
PREFIX  ?= /usr/local

ifeq ($(filter clean help,$(MAKECMDGOALS)),)
-include $(B)/config.mk
endif

$(B)/config.mk: mk/configure.sh
	@mkdir -p $(B)
	@sh mk/configure.sh > $@.tmp && mv $@.tmp $@

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wformat=2
DEFS    := -D_GNU_SOURCE -DKT_VERSION='"$(VERSION)"' -DKT_GIT_REV='"$(GIT_REV)"'
INC     := -Iinclude $(LLHTTP_CFLAGS)
LIBS    := -luv -lmbedtls -lmbedx509 -lmbedcrypto -lnghttp2 -lcjson -lyaml -lpcre2-8 -lhiredis $(LLHTTP_LIBS)

# Release builds leave assert()s out (NDEBUG); the sanitizer build, which `make test` runs, keeps them.
# -ffunction-sections: kt's start-up code is linked together (mk/startup.ld, tools/startup/order.py).
REL_CFLAGS := -O2 -g -ffunction-sections -fno-strict-aliasing -fstack-protector-strong -D_FORTIFY_SOURCE=2 -DNDEBUG
SAN_CFLAGS := -O1 -g -ffunction-sections -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CC    := clang
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined

SRCS      := $(sort $(shell find src -name '*.c'))
LIB_SRCS  := $(filter-out src/app/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard test/fuzz/fuzz_*.c))

# $(call objs,VARIANT_DIR,SOURCES): src/net/server.c -> VARIANT_DIR/obj/net/server.o
objs = $(patsubst src/%.c,$(1)/obj/%.o,$(2))
LLHTTP_OBJS = $(patsubst %.c,$(1)/obj/llhttp_%.o,$(notdir $(LLHTTP_SRCS)))

.PHONY: all run test san unit fuzz fuzz-smoke bench demo eval clean help install deps startup-order
# Keep intermediate objects: nothing is deleted (or printed) after the test summary line.
.SECONDARY:

all: $(B)/kt

help:
	@echo "make            build build/kt (installs missing Debian build packages when root)"
	@echo "make run        start the sidecar on 127.0.0.1:41002 (config: KT_CONFIG or the embedded default)"
	@echo "make test       build with ASan+UBSan and run unit, integration and SDK compatibility tests"
	@echo "make san        build build/san/kt and the unit tests with ASan+UBSan"
	@echo "make demo       run the mock-provider demo (redaction, blocking, streaming)"
	@echo "make bench      benchmark kt against nginx side by side (this machine's build)"
	@echo "make bench-image  the same on the build that ships: kt built in a Debian 13 root against"
	@echo "                its nginx; results in build/bench/debian13/ (root only; bench/README.md)"
	@echo "make debian13   build and test kt in a Debian 13 root, as the Dockerfile does (root only)"
	@echo "make eval       measure the detectors on the held-out corpora (EVAL_SPLIT=tune for the other split)"
	@echo "make fuzz       build the libFuzzer targets into build/fuzz/ (FUZZ_SECONDS=N runs each for N s;"
	@echo "                FUZZ_RUNS=N for N executions, with FUZZ_TARGETS=\"a b\" and FUZZ_MAX_LEN=L)"
	@echo "make startup-order  regenerate mk/startup.ld from a callgrind profile of kt's start-up"
	@echo "make clean      remove build/"

# ---- variants ---------------------------------------------------------------------------------
# Objects are rebuilt when the compiler flags change: build/cflags holds them and is rewritten
# only when they differ (so its time stamp moves only then).
CFLAGS_NOW := $(CC) | $(REL_CFLAGS) | $(SAN_CFLAGS) | $(FUZZ_CC) $(FUZZ_CFLAGS) | $(WARN)
$(B)/cflags: FORCE
	@mkdir -p $(@D)
	@echo '$(CFLAGS_NOW)' | cmp -s - $@ || echo '$(CFLAGS_NOW)' > $@
.PHONY: FORCE
FORCE:

define variant
$(1)/obj/%.o: src/%.c $(B)/config.mk $(B)/cflags
	@mkdir -p $$(@D)
	$$(CC) $(2) $$(WARN) $$(DEFS) $$(INC) -MMD -MP -c $$< -o $$@
$(1)/tobj/test_%.o: test/unit/test_%.c $(B)/config.mk $(B)/cflags
	@mkdir -p $$(@D)
	$$(CC) $(2) $$(WARN) $$(DEFS) $$(INC) -Itest/unit -MMD -MP -c $$< -o $$@
$(1)/obj/llhttp_%.o: /usr/share/llhttp/%.c $(B)/config.mk $(B)/cflags
	@mkdir -p $$(@D)
	$$(CC) $(2) $$(DEFS) $$(INC) $$(LLHTTP_SRC_CFLAGS) -c $$< -o $$@
$(1)/libkt.a: $$(call objs,$(1),$$(LIB_SRCS)) $$(call LLHTTP_OBJS,$(1))
	rm -f $$@ && ar rcs $$@ $$^
$(1)/kt: $(1)/obj/app/main.o $(1)/libkt.a mk/startup.ld
	$$(CC) $(2) -Wl,-T,mk/startup.ld -o $$@ $(1)/obj/app/main.o $(1)/libkt.a $$(LIBS)
$(1)/unit/test_%: $(1)/tobj/test_%.o $(1)/libkt.a
	@mkdir -p $$(@D)
	$$(CC) $(2) -o $$@ $$^ $$(LIBS) -lm
-include $$(shell find $(1)/obj $(1)/tobj -name '*.d' 2>/dev/null)
endef

$(eval $(call variant,$(B),$(REL_CFLAGS)))
$(eval $(call variant,$(B)/san,$(SAN_CFLAGS)))

UNIT_BINS := $(patsubst test/unit/%.c,$(B)/san/unit/%,$(UNIT_SRCS))

san: $(B)/san/kt $(UNIT_BINS)

unit: $(UNIT_BINS)
	@python3 test/run_all.py --only unit

# ---- fuzzing (clang + libFuzzer; not part of make test) ------------------------------------------
FUZZ_BINS := $(patsubst test/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
$(B)/fuzz/obj/%.o: src/%.c $(B)/config.mk $(B)/cflags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) $(DEFS) $(INC) -MMD -MP -c $< -o $@
-include $(shell find $(B)/fuzz/obj $(B)/fuzz/tobj -name '*.d' 2>/dev/null)
$(B)/fuzz/obj/llhttp_%.o: /usr/share/llhttp/%.c $(B)/config.mk $(B)/cflags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEFS) $(INC) $(LLHTTP_SRC_CFLAGS) -c $< -o $@
$(B)/fuzz/libkt.a: $(call objs,$(B)/fuzz,$(LIB_SRCS)) $(call LLHTTP_OBJS,$(B)/fuzz)
	rm -f $@ && ar rcs $@ $^
$(B)/fuzz/tobj/fuzz_%.o: test/fuzz/fuzz_%.c $(B)/config.mk $(B)/cflags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) $(DEFS) $(INC) -MMD -MP -c $< -o $@
$(B)/fuzz/fuzz_%: $(B)/fuzz/tobj/fuzz_%.o $(B)/fuzz/libkt.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)
fuzz:
	@sh mk/test-deps.sh clang
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@if [ -n "$(FUZZ_SECONDS)" ]; then for f in $(FUZZ_BINS); do \
	  mkdir -p $(B)/fuzz/corpus/$$(basename $$f); \
	  $$f -max_total_time=$(FUZZ_SECONDS) $(B)/fuzz/corpus/$$(basename $$f) test/fuzz/corpus/$$(basename $$f) || exit 1; \
	done; fi
	@if [ -n "$(FUZZ_RUNS)" ]; then sh mk/fuzz-runs.sh $(B) $(FUZZ_RUNS); fi

# ---- running, testing, benchmarking -----------------------------------------------------------
run: $(B)/kt
	$(B)/kt gateway run $(if $(KT_CONFIG),--policy-config $(KT_CONFIG))

test: san
	@sh mk/test-deps.sh nginx
	@python3 test/run_all.py --kt $(B)/san/kt --unit-dir $(B)/san/unit

demo: $(B)/kt
	@sh mk/test-deps.sh
	@python3 test/demo.py --kt $(B)/kt

$(B)/detect_bench: bench/detect_bench.c $(B)/libkt.a
	$(CC) $(REL_CFLAGS) -std=c11 -D_GNU_SOURCE $(INC) -o $@ $< $(B)/libkt.a $(LIBS)
# The classifiers' costs (test/perf/): scan rates and the learned scorers' us per KiB, and the
# tables' build time at start or reload.
$(B)/perf/%: test/perf/%.c $(B)/libkt.a
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -std=c11 -D_GNU_SOURCE $(INC) -o $@ $< $(B)/libkt.a $(LIBS)

# Every test/corpora/<kind>/ with a policy.yaml is measured on its <EVAL_SPLIT>.jsonl.
EVAL_SPLIT ?= heldout
EVAL_LIST  ?= 5
EVAL_KINDS := $(patsubst test/corpora/%/policy.yaml,%,$(sort $(wildcard test/corpora/*/policy.yaml)))
eval: $(B)/kt
	@for k in $(EVAL_KINDS); do \
	  echo "== $$k: test/corpora/$$k/$(EVAL_SPLIT).jsonl"; \
	  $(B)/kt policy eval --policy-config test/corpora/$$k/policy.yaml \
	    --labels test/corpora/$$k/$(EVAL_SPLIT).jsonl --max-list $(EVAL_LIST) || exit 1; \
	  echo; \
	done

# Regenerates mk/startup.ld (kt's start-up functions, linked together: tools/startup/order.py)
# from a callgrind profile of the release build's start-up; run it when start-up code changes.
startup-order: $(B)/kt
	@sh mk/test-deps.sh valgrind
	python3 tools/startup/profile.py $(B)/kt $(B)/startup.callgrind
	python3 tools/startup/order.py $(B)/startup.callgrind $(B)/kt > $(B)/startup.ld.tmp
	mv $(B)/startup.ld.tmp mk/startup.ld

bench: $(B)/kt $(B)/detect_bench $(B)/perf/classify_bench $(B)/perf/classify_startup
	@sh mk/test-deps.sh nginx wrk
	@echo "== detector scanning throughput (built-in PII + DLP set, one core)"
	@taskset -c 0 $(B)/detect_bench 50 || $(B)/detect_bench 50
	@echo "== safety-filter and prompt-injection: scan rates, learned scorers per KiB (issue 16: <= 5 us)"
	@taskset -c 0 $(B)/perf/classify_bench || $(B)/perf/classify_bench
	@echo "== classifier tables built at start or reload (issue 16: <= 5 ms)"
	@taskset -c 0 $(B)/perf/classify_startup || $(B)/perf/classify_startup
	@sh bench/run.sh $(B)/kt

install: $(B)/kt
	install -D -m 0755 $(B)/kt $(DESTDIR)$(PREFIX)/bin/kt

clean:
	rm -rf $(B)

# ---- Debian 13 (trixie) check: the Dockerfile's build steps in a debootstrapped root (root only) --
.PHONY: debian13
debian13:
	@sh mk/debian13.sh

# The benchmark on that build, side by side with Debian 13's nginx (bench/README.md).
.PHONY: bench-image
bench-image:
	@sh mk/bench-debian13.sh
