# libFuzzer harnesses for the parsers and formatters of untrusted input
# (tests/fuzz/fuzz_*.c). Included from the Makefile; needs clang-14 with
# its libFuzzer runtime (Debian: clang libclang-rt-14-dev).
#   make fuzz         build, run each harness FUZZ_SECONDS (60) s; summary in
#                     test-output/fuzz/summary.txt; non-zero on any crash
#   make fuzz-short   the same, 4 s each (a part of make test)
# Runs write new inputs to build/fuzz/corpus/NAME (the committed seeds in
# tests/fuzz/corpus/NAME are only read) and crashes to build/fuzz/artifacts/.

FUZZ_CC      ?= $(shell command -v clang-14 2>/dev/null || echo clang)
FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Isrc -O1 -g -Wall -Wextra $(WERROR) \
                -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -MMD -MP
FUZZERS      := fuzz_fcgi_reader fuzz_query fuzz_sse fuzz_html fuzz_utf8 fuzz_subtoken fuzz_mercure

# The src/ modules each harness links (and nothing else).
fuzz_fcgi_reader_MODS := mem buf fcgi_proto fcgi_reader
fuzz_query_MODS       := query
fuzz_sse_MODS         := mem buf sse
fuzz_html_MODS        := mem buf html
fuzz_utf8_MODS        := utf8
fuzz_subtoken_MODS    := subtoken
fuzz_subtoken_LIBS    := -lcrypto
fuzz_mercure_MODS     := mem buf query utf8 sse uritpl jwt mercure
fuzz_mercure_LIBS     := -lcrypto -ljansson

.PHONY: fuzz fuzz-short fuzz-build

fuzz-build: $(FUZZERS:%=$(FUZZ_DIR)/%)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

fuzz-short: fuzz-build
	@tests/fuzz/run.sh 4 $(FUZZERS)

# Coverage instrumentation on the modules, libFuzzer's main on the link.
$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/harness/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

define FUZZ_LINK
$(FUZZ_DIR)/$(1): $(FUZZ_DIR)/harness/$(1).o $$($(1)_MODS:%=$(FUZZ_DIR)/obj/%.o)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$($(1)_LIBS)
endef
$(foreach f,$(FUZZERS),$(eval $(call FUZZ_LINK,$(f))))

-include $(wildcard $(FUZZ_DIR)/obj/*.d $(FUZZ_DIR)/harness/*.d)
