# sselight: two FastCGI responders behind lighttpd. See README.md and docs/.
#   make run    install what is missing, build, serve on http://127.0.0.1:5010
#   make test   install what is missing, build, run every test
#   make build  compile the responders and copy the pinned client files

CC       ?= cc
WERROR   ?= -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra $(WERROR) -D_GNU_SOURCE -MMD -MP
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BUILD    := build
OBJ      := $(BUILD)/obj
ASAN     := $(BUILD)/asan
TSAN     := $(BUILD)/tsan
TSANFLAGS := -fsanitize=thread -fno-omit-frame-pointer

# Modules: PAGE goes into the page responder, STREAM into the stream
# responder; the unit tests link CORE (both, minus the socket-owning ones).
BROKER   := notify loop thread redis_url redis_loop redis_live broker broker_sqlite broker_redis
PAGE     := mem buf html http utf8 query cgi_request config auth $(BROKER) page
STREAM   := mem buf sse html http utf8 query cgi_request config auth subtoken chan_index demo $(BROKER) fcgi_proto fcgi_reader fcgi_conn stream_conn cgi_conn cgi_cap store stream_reply uritpl jwt mercure stream_events stream_mercure metrics metrics_slots prom status_view stream_monitor stream_app
PUB      := mem buf html http utf8 query config metrics metrics_slots $(BROKER)
TOKEN    := mem buf utf8 query subtoken
CORE     := mem buf sse html http utf8 query cgi_request cgi_cap config auth subtoken chan_index demo $(BROKER) page fcgi_proto fcgi_reader metrics metrics_slots prom status_view uritpl jwt mercure
UNIT     := check_buf check_sse check_html check_http check_demo check_page \
            check_fcgi_proto check_fcgi_reader check_loop check_query \
            check_utf8 check_broker check_redis check_redis_url check_notify check_auth check_subtoken check_chan_index check_tmpdir check_cgi_request check_cgi_cap check_config check_metrics \
            check_uritpl check_jwt check_mercure \
            check_main

CORE_O   := $(CORE:%=$(OBJ)/%.o)
PAGE_O   := $(PAGE:%=$(OBJ)/%.o)
PUB_O    := $(PUB:%=$(OBJ)/%.o)
STREAM_O := $(STREAM:%=$(OBJ)/%.o)
UNIT_O   := $(UNIT:%=$(OBJ)/%.o)

VENDOR   := www/vendor/htmx.min.js www/vendor/sse.min.js

.PHONY: all build run test bench bench-store bench-procs bench-redis bench-pubsub bench-mercure soak clean install uninstall install-shared
.DELETE_ON_ERROR:

all: build

build: cgi-bin/index.fcgi cgi-bin/stream.fcgi cgi-bin/sselight-pub cgi-bin/sselight-token $(VENDOR)

run:
	@tools/setup-deps.sh run
	@$(MAKE) --no-print-directory build
	@exec tools/run.sh

test:
	@tools/setup-deps.sh test
	@$(MAKE) -j2 --no-print-directory build $(BUILD)/check_unit $(BUILD)/check_unit_asan \
	    $(ASAN)/cgi-bin/index.fcgi $(ASAN)/cgi-bin/stream.fcgi \
	    $(TSAN)/cgi-bin/index.fcgi $(TSAN)/cgi-bin/stream.fcgi
	@tools/test-all.sh

# sselight against nginx + nchan, same load, same run (not part of make
# test; at most 10 minutes), then the store cells (stall and publish
# throughput and resync, about 8 minutes, at most 10). Writes bench/results/DATE.md,
# DATE.svg and store-DATE.md.
bench:
	@tools/setup-deps.sh bench
	@$(MAKE) --no-print-directory build $(BUILD)/sse_load
	@timeout 600 bench/run.sh
	@timeout 600 bench/store-cells.sh

# The store cells alone (bench/store-cells.sh; STORE_RUNS=1..5, default 3).
bench-store:
	@tools/setup-deps.sh bench
	@$(MAKE) --no-print-directory build $(BUILD)/sse_load
	@timeout 600 bench/store-cells.sh

# 1 and 2 stream responders x 1 and 2 lighttpd workers at 1,000 and 10,000
# subscribers (bench/procs-cell.sh; PROCS_RUNS=1..5, default 2; about 3
# minutes a run). Writes bench/results/procs-DATE.md.
bench-procs:
	@tools/setup-deps.sh bench
	@$(MAKE) --no-print-directory build $(BUILD)/sse_load
	@runs=$${PROCS_RUNS:-2}; case $$runs in [1-5]) ;; *) echo "PROCS_RUNS is 1 to 5" >&2; exit 2 ;; esac; \
	    timeout $$((300 * runs)) bench/procs-cell.sh

# The Redis cell of issue 8 (not part of make test; about 75 s, at most
# 400 s per run): two sselight instances with SSELIGHT_BROKER on one
# redis-server against two nginx + nchan sharing another, 2 x 5,000
# subscribers, one publisher at 10/s for 20 s alternating between the
# instances. REDIS_CELL_RUNS=1..5 repeats it. Writes
# bench/results/redis-DATE.md (bench/redis-cell.sh).
bench-redis:
	@tools/setup-deps.sh bench
	@$(MAKE) --no-print-directory build $(BUILD)/sse_load
	@runs=$${REDIS_CELL_RUNS:-1}; case $$runs in [1-5]) ;; *) echo "REDIS_CELL_RUNS is 1 to 5" >&2; exit 2 ;; esac; \
	    timeout $$((400 * runs)) bench/redis-cell.sh

# The Mercure hub against the channels API at 10,000 subscribers, same
# server, same run (bench/mercure-cell.sh; MERCURE_CELL_RUNS=1..5, default
# 3; about 2 minutes a run). Writes bench/results/mercure-DATE.md.
bench-mercure:
	@tools/setup-deps.sh bench
	@$(MAKE) --no-print-directory build $(BUILD)/sse_load
	@runs=$${MERCURE_CELL_RUNS:-3}; case $$runs in [1-5]) ;; *) echo "MERCURE_CELL_RUNS is 1 to 5" >&2; exit 2 ;; esac; \
	    timeout $$((300 * runs)) bench/mercure-cell.sh

$(BUILD)/sse_load: bench/sse_load.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

# Publish-to-delivery latency of the channels API (not part of make test).
bench-pubsub:
	@tools/setup-deps.sh run
	@$(MAKE) --no-print-directory build
	@bench/pubsub-latency.sh

# Churn soak (not part of make test): SOAK_SECONDS (default 600) of
# subscribers connecting and leaving at ~100/s beside 200 long-lived ones;
# fds and RSS of every server process at start and end. Bounded by
# SOAK_SECONDS + 60 s. Writes bench/results/churn-DATE.md.
soak:
	@tools/setup-deps.sh run
	@$(MAKE) --no-print-directory build
	@bench/churn-soak.sh

cgi-bin/index.fcgi: $(OBJ)/page_main.o $(PAGE_O)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ -lfcgi -lsqlite3 -lhiredis -pthread

cgi-bin/stream.fcgi: $(OBJ)/stream_main.o $(STREAM_O)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ -lsqlite3 -lhiredis -lcrypto -ljansson -pthread

cgi-bin/sselight-pub: $(OBJ)/pub_main.o $(PUB_O)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ -lsqlite3 -lhiredis -pthread

cgi-bin/sselight-token: $(OBJ)/token_main.o $(TOKEN:%=$(OBJ)/%.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ -lcrypto

$(OBJ)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OBJ)/check_%.o: tests/unit/check_%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Isrc $$(pkg-config --cflags check) -c -o $@ $<

$(BUILD)/check_unit: $(UNIT_O) $(CORE_O)
	$(CC) $(CFLAGS) -o $@ $^ $$(pkg-config --libs check) -lsqlite3 -lhiredis -lcrypto -ljansson -pthread

# The same tests built with AddressSanitizer and UBSan.
$(ASAN)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -c -o $@ $<

$(ASAN)/check_%.o: tests/unit/check_%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -Isrc $$(pkg-config --cflags check) -c -o $@ $<

$(BUILD)/check_unit_asan: $(UNIT:%=$(ASAN)/%.o) $(CORE:%=$(ASAN)/%.o)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $$(pkg-config --libs check) -lsqlite3 -lhiredis -lcrypto -ljansson -pthread

# Sanitized responders, for running the integration tests under ASan/UBSan.
$(ASAN)/cgi-bin/index.fcgi: $(ASAN)/page_main.o $(PAGE:%=$(ASAN)/%.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ -lfcgi -lsqlite3 -lhiredis -pthread

$(ASAN)/cgi-bin/stream.fcgi: $(ASAN)/stream_main.o $(STREAM:%=$(ASAN)/%.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ -lsqlite3 -lhiredis -lcrypto -ljansson -pthread

# Responders built with ThreadSanitizer: the stream responder has a store
# thread (src/store.c), the page responder a room thread; their integration
# tests run with these too.
$(TSAN)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSANFLAGS) -c -o $@ $<

$(TSAN)/cgi-bin/index.fcgi: $(TSAN)/page_main.o $(PAGE:%=$(TSAN)/%.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSANFLAGS) -o $@ $^ -lfcgi -lsqlite3 -lhiredis -pthread

$(TSAN)/cgi-bin/stream.fcgi: $(TSAN)/stream_main.o $(STREAM:%=$(TSAN)/%.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSANFLAGS) -o $@ $^ -lsqlite3 -lhiredis -lcrypto -ljansson -pthread

# Client libraries: exact versions from package-lock.json, served same-origin.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

www/vendor/htmx.min.js: node_modules/.package-lock.json
	@mkdir -p $(@D)
	cp node_modules/htmx.org/dist/htmx.min.js $@

www/vendor/sse.min.js: node_modules/.package-lock.json
	@mkdir -p $(@D)
	cp node_modules/htmx-ext-sse/dist/sse.min.js $@

clean:
	rm -rf $(BUILD) cgi-bin www/vendor

# make install [PREFIX=/usr/local] [DESTDIR=]: the responders in
# PREFIX/lib/sselight, the command-line tools in PREFIX/bin, the web assets
# (with the pinned client files) in PREFIX/share/sselight/www, the host
# server configs and systemd units in PREFIX/share/sselight/<server>/
# (the units' paths rewritten to PREFIX), README, SECURITY and docs/ in
# PREFIX/share/doc/sselight, the man pages in PREFIX/share/man (their
# paths rewritten too). make uninstall removes exactly those files.
PREFIX   ?= /usr/local
LIBDIR   := $(PREFIX)/lib/sselight
SHAREDIR := $(PREFIX)/share/sselight
DOCDIR   := $(PREFIX)/share/doc/sselight
MANDIR   := $(PREFIX)/share/man
MAN1     := man/sselight-pub.1 man/sselight-token.1
MAN7     := man/sselight.7
DOCS     := $(wildcard docs/*.md docs/*.png)
INSTALL_FILES = $(LIBDIR)/stream.fcgi $(LIBDIR)/index.fcgi \
    $(PREFIX)/bin/sselight-pub $(PREFIX)/bin/sselight-token \
    $(SHAREDIR)/www/assets/style.css $(SHAREDIR)/www/assets/sse-resume.js \
    $(VENDOR:www/%=$(SHAREDIR)/www/%) \
    $(patsubst deploy/%,$(SHAREDIR)/%,$(wildcard deploy/*/*)) \
    $(DOCDIR)/README.md $(DOCDIR)/SECURITY.md $(DOCS:%=$(DOCDIR)/%) \
    $(MAN1:man/%=$(MANDIR)/man1/%) $(MAN7:man/%=$(MANDIR)/man7/%)

install: build
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DOCDIR)
	install -m 755 cgi-bin/stream.fcgi cgi-bin/index.fcgi $(DESTDIR)$(LIBDIR)/
	install -m 755 cgi-bin/sselight-pub cgi-bin/sselight-token $(DESTDIR)$(PREFIX)/bin/
	install -D -m 644 www/assets/style.css $(DESTDIR)$(SHAREDIR)/www/assets/style.css
	install -D -m 644 www/assets/sse-resume.js $(DESTDIR)$(SHAREDIR)/www/assets/sse-resume.js
	for f in $(VENDOR); do install -D -m 644 $$f $(DESTDIR)$(SHAREDIR)/$$f || exit 1; done
	for f in $(wildcard deploy/*/*); do \
	    t=$(DESTDIR)$(SHAREDIR)/$${f#deploy/}; install -D -m 644 $$f $$t || exit 1; \
	    case $$f in deploy/systemd/*) sed -i 's|/usr/local|$(PREFIX)|g' $$t || exit 1 ;; esac; \
	done
	install -m 644 README.md SECURITY.md $(DESTDIR)$(DOCDIR)/
	for f in $(DOCS); do install -D -m 644 $$f $(DESTDIR)$(DOCDIR)/$$f || exit 1; done
	@# The man pages name the installed paths: /usr/local becomes PREFIX.
	for f in $(MAN1) $(MAN7); do \
	    t=$(DESTDIR)$(MANDIR)/man$${f##*.}/$${f#man/}; install -D -m 644 $$f $$t || exit 1; \
	    sed -i 's|/usr/local|$(PREFIX)|g' $$t || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))
	@# Only directories that are sselight's own, and only when empty.
	-[ ! -d $(DESTDIR)$(SHAREDIR) ] || find $(DESTDIR)$(SHAREDIR) -depth -type d -empty -delete
	rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR) 2>/dev/null; true

# make install-shared TO=DIR DATA=DIR: into a hosting account's web space,
# as its user, with no root (see docs/deploy.md, Shared hosting). Uses what make
# build made, here or on another machine with the same Debian release:
# it compiles nothing and needs no network.
install-shared:
	@tools/install-shared.sh "$(TO)" "$(DATA)"

-include tests/fuzz/fuzz.mk

-include $(wildcard $(OBJ)/*.d $(ASAN)/*.d $(TSAN)/*.d)
