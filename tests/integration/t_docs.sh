#!/bin/bash
# The docs say what is true. Five parts, each a set of named checks:
#   links    every relative link and image in README.md, SECURITY.md,
#            docs/*.md and deploy/**/README.md resolves: the file exists and
#            a #anchor is a heading of the target by GitHub's slug rules (one
#            check per file, every broken link listed as FILE:LINE);
#   make     every `make TARGET` in those docs' code is a Makefile target;
#   env      every SSELIGHT_* named in README.md, docs/*.md and man/* occurs
#            in the code, and every one the code reads (and every key of the
#            settings file) is in docs/configuration.md;
#   man      man/sselight-pub.1, man/sselight-token.1, man/sselight.7 pass
#            `mandoc -T lint -W warning` and render with man -l; each tool's
#            SYNOPSIS is its --help usage; --version prints "TOOL X.Y.Z",
#            the same for both;
#   console  README.md's ```console blocks, run against a fresh `make run`
#            on a free port with an empty data dir (see below).
#
# Console blocks: a line "$ CMD" is a command (a CMD ending in "\" goes on
# on the next line); the lines after it, up to the next "$ " line or the
# block's end, are its expected stdout, line by line (\r stripped); a line
# that is exactly "…" matches zero or more lines. 127.0.0.1:5010 in a
# command and in its expected output becomes the real host:port. Each
# command runs with `bash -c` from the repo root, stdin /dev/null, with
# SSELIGHT_DATA_DIR set to the server's data dir (so cgi-bin/sselight-pub
# reaches it) and no other SSELIGHT_* variable, in a process group of its
# own that is ended afterwards (a command's background children do not
# outlive it). Expected output ending in a "…" line: a stream, stopped
# (SIGTERM to its group) after 2 s and compared; otherwise the command must
# exit by itself within 10 s. Commands run in order against one server, so
# event ids carry over from one to the next. README.md may not have a curl
# or sselight-pub command in a fenced block that is not console.
#
# T_DOCS_ROOT=DIR reads the docs (README.md, SECURITY.md, docs/, deploy/,
# man/) from a copy instead of the repo; the code, the Makefile, the tools
# and the server stay the repo's. T_DOCS_BIN=DIR takes sselight-pub and
# sselight-token for the man part from DIR instead of cgi-bin/.
# T_DOCS_PARTS="links make env man console" picks parts. These are for
# proving that each check can fail.
source "$(dirname "$0")/../lib/harness.sh"

DOCS=$(cd "${T_DOCS_ROOT:-$ROOT}" && pwd)
PARTS=" ${T_DOCS_PARTS:-links make env man console} "
MD=(node "$ROOT/tests/lib/md_docs.js")
T0=$SECONDS

part() { [[ $PARTS == *" $1 "* ]]; }
# diag: stdin as "#   " lines under the last check.
diag() { sed 's/^/#   /'; }
# first_locs N LOC...: at most N of them, then "and K more".
first_locs() {
    local n=$1
    shift
    local IFS=,
    if [ "$#" -le "$n" ]; then
        echo "$*" | sed 's/,/, /g'
    else
        echo "${*:1:$n}" | sed 's/,/, /g' | sed "s/\$/, and $(($# - n)) more/"
    fi
}

# The markdown files of parts 1 and 2, relative to DOCS.
doc_files=()
for f in README.md SECURITY.md; do
    if [ -f "$DOCS/$f" ]; then
        doc_files+=("$f")
    elif part links || part make; then
        fail "$f exists"
    fi
done
while IFS= read -r f; do doc_files+=("$f"); done < <(
    cd "$DOCS" && { ls docs/*.md 2>/dev/null; find deploy -name README.md 2>/dev/null | sort; })

# ---------------------------------------------------------------- 1. links
if part links; then
    out=$("${MD[@]}" links "$DOCS" "${doc_files[@]}" 2>"$OUT_DIR/links.err")
    if [ $? -ne 0 ]; then
        fail "md_docs.js links ran" "$(head -n 5 "$OUT_DIR/links.err" | tr '\n' ' ')"
    fi
    declare -A broken=()
    cur=""
    while IFS=$'\t' read -r kind rest; do
        case $kind in
            F) cur=$rest; broken[$cur]="" ;;
            B) broken[$cur]+="$rest"$'\n' ;;
        esac
    done <<< "$out"
    for f in "${doc_files[@]}"; do
        if [ -z "${broken[$f]+set}" ]; then
            fail "relative links in $f resolve" "not read"
        elif [ -z "${broken[$f]}" ]; then
            pass "relative links in $f resolve"
        else
            locs=$(printf '%s' "${broken[$f]}" | sed -E 's/^([^:]+:[0-9]+):.*/\1/' | paste -sd' ')
            n=$(printf '%s' "${broken[$f]}" | grep -c .)
            fail "relative links in $f resolve" "$n broken: $locs"
            printf '%s' "${broken[$f]}" | diag
        fi
    done
fi

# ---------------------------------------------------------------- 2. make
if part make; then
    out=$("${MD[@]}" make "$DOCS" "$ROOT" "${doc_files[@]}" 2>"$OUT_DIR/make.err")
    if [ $? -ne 0 ]; then
        fail "md_docs.js make ran" "$(head -n 5 "$OUT_DIR/make.err" | tr '\n' ' ')"
    fi
    have=$(grep -P '^T\t' <<< "$out" | cut -f2)
    has_target() { [[ " $have " == *" $1 "* ]]; }
    check "the Makefile's targets are read (run, test and build among them)" \
        eval 'has_target run && has_target test && has_target build'
    declare -A mk_locs=() mk_ok=()
    mk_order=()
    while IFS=$'\t' read -r status target loc _; do
        [ "$status" = OK ] || [ "$status" = MISSING ] || continue
        [ -n "${mk_ok[$target]+set}" ] || mk_order+=("$target")
        mk_ok[$target]=$status
        mk_locs[$target]+="$loc"$'\t'
    done <<< "$out"
    for t in "${mk_order[@]}"; do
        IFS=$'\t' read -r -a locs <<< "${mk_locs[$t]}"
        if [ "${mk_ok[$t]}" = OK ]; then
            pass "make $t ($(first_locs 3 "${locs[@]}")) is a Makefile target"
        else
            fail "make $t ($(first_locs 3 "${locs[@]}")) is a Makefile target" \
                "no rule for '$t' in the Makefile; named at $(first_locs 100 "${locs[@]}")"
        fi
    done
fi

# ---------------------------------------------------------------- 3. env
if part env; then
    out=$("${MD[@]}" env "$DOCS" "$ROOT" 2>"$OUT_DIR/env.err")
    if [ $? -ne 0 ]; then
        fail "md_docs.js env ran" "$(head -n 5 "$OUT_DIR/env.err" | tr '\n' ' ')"
    fi
    while IFS=$'\t' read -r kind name loc status; do
        case $kind in
            DOC)
                if [ "$status" = found ]; then
                    pass "$name ($loc) occurs in the code"
                else
                    fail "$name ($loc) occurs in the code" \
                        "not in src/*.[ch], tools/, lighttpd.conf, the Makefile or deploy/"
                fi ;;
            READ)
                if [ "$status" = documented ]; then
                    pass "$name (read at $loc) is in docs/configuration.md"
                else
                    fail "$name (read at $loc) is in docs/configuration.md" "not mentioned there"
                fi ;;
            KEY)
                if [ "$status" = documented ]; then
                    pass "settings-file key $name ($loc) is in docs/configuration.md"
                else
                    fail "settings-file key $name ($loc) is in docs/configuration.md" \
                        "not in a code span or code block there"
                fi ;;
            NOCONF)
                fail "docs/configuration.md exists" \
                    "so no setting the code reads is documented there" ;;
        esac
    done <<< "$out"
fi

# ---------------------------------------------------------------- 5. man
if part man; then
    declare -A version=()
    for page in sselight-pub.1 sselight-token.1 sselight.7; do
        f=$DOCS/man/$page
        if [ ! -f "$f" ]; then
            fail "man/$page exists"
            continue
        fi
        lint=$(cd "$DOCS" && mandoc -T lint -W warning "man/$page" 2>&1)
        if [ -z "$lint" ]; then
            pass "mandoc -T lint -W warning man/$page prints nothing"
        else
            fail "mandoc -T lint -W warning man/$page prints nothing" \
                "$(grep -c . <<< "$lint") messages"
            diag <<< "$lint"
        fi
        rendered=$(MANPAGER=cat MANWIDTH=80 man -l "$f" 2>"$OUT_DIR/man.err")
        rc=$?
        manerr=$(grep -iE 'warning|error' "$OUT_DIR/man.err")
        if [ "$rc" -eq 0 ] && grep -q '^NAME' <<< "$rendered" && [ -z "$manerr" ]; then
            pass "man -l man/$page renders"
        else
            fail "man -l man/$page renders" "exit status $rc, $(grep -c . <<< "$rendered") lines"
            diag < "$OUT_DIR/man.err"
        fi
        case $page in *.7) continue ;; esac
        tool=${page%.1}
        bin=${T_DOCS_BIN:-$ROOT/cgi-bin}/$tool
        if [ ! -x "$bin" ]; then
            fail "$bin exists (make build)"
            continue
        fi
        help=$("$bin" --help 2>"$OUT_DIR/help.err")
        rc=$?
        if [ "$rc" -eq 0 ] && [[ $help == "usage: $tool"* ]]; then
            pass "$tool --help exits 0 with 'usage: $tool ...' on stdout"
        else
            fail "$tool --help exits 0 with 'usage: $tool ...' on stdout" \
                "exit status $rc, first line '$(head -n1 <<< "$help")'"
        fi
        from_help=$("${MD[@]}" synopsis help "$tool" <<< "$help")
        from_man=$(mandoc -T ascii "$f" | col -b | "${MD[@]}" synopsis man "$tool")
        if [ -n "$from_help" ] && [ "$from_help" = "$from_man" ]; then
            pass "SYNOPSIS of man/$page is $tool --help's usage"
        else
            fail "SYNOPSIS of man/$page is $tool --help's usage" "they differ"
            diff -u --label "$tool --help" --label "man/$page SYNOPSIS" \
                <(printf '%s\n' "$from_help") <(printf '%s\n' "$from_man") | diag
        fi
        v=$("$bin" --version 2>/dev/null)
        rc=$?
        if [ "$rc" -eq 0 ] && [ "$(printf '%s\n' "$v" | wc -l)" -eq 1 ] &&
            [[ $v =~ ^$tool\ ([0-9]+\.[0-9]+\.[0-9]+)$ ]]; then
            version[$tool]=${BASH_REMATCH[1]}
            pass "$tool --version prints '$tool X.Y.Z' ($v)"
        else
            fail "$tool --version prints '$tool X.Y.Z'" "exit status $rc, printed '$(head -c 200 <<< "$v")'"
        fi
    done
    if [ -n "${version[sselight-pub]:-}" ] && [ -n "${version[sselight-token]:-}" ]; then
        expect_eq "sselight-pub and sselight-token print the same version" \
            "${version[sselight-pub]}" "${version[sselight-token]}"
    fi
fi

# ---------------------------------------------------------------- 4. console
RUN_PID=""
CDIR=""
# run_procs: "PID NAME" of the lighttpd, stream.fcgi and index.fcgi
# processes of this run: the ones whose environment holds this run's
# SSELIGHT_DATA_DIR (lighttpd inherits it, the responders get it from
# bin-environment).
run_procs() {
    local d exe
    for d in /proc/[0-9]*; do
        grep -qzxF "SSELIGHT_DATA_DIR=$CDIR/data" "$d/environ" 2>/dev/null || continue
        exe=$(readlink "$d/exe" 2>/dev/null) || continue
        case ${exe##*/} in
            lighttpd | stream.fcgi | index.fcgi) echo "${d#/proc/} ${exe##*/}" ;;
        esac
    done
}
# console_cleanup: stops what this part started and is still there (make
# run's group, then any lighttpd or responder of this run), removes the
# data dir.
console_cleanup() {
    local p
    if [ -n "$RUN_PID" ]; then
        if alive "$RUN_PID"; then
            kill -INT -- "-$RUN_PID" 2>/dev/null
            wait_gone 3 "$RUN_PID" > /dev/null
        fi
        kill -KILL -- "-$RUN_PID" 2>/dev/null
        RUN_PID=""
    fi
    if [ -n "$CDIR" ]; then
        for p in $(run_procs | cut -d' ' -f1); do kill -KILL "$p" 2>/dev/null; done
        rm -rf "$CDIR"
    fi
    CDIR=""
}
trap 'console_cleanup; if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; fi' EXIT

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if part console && [ ! -f "$DOCS/README.md" ]; then
    fail "README.md's console examples" "no README.md"
elif part console; then
    CDIR=$(mktemp -d /tmp/sselight-docs.XXXXXX)
    out=$("${MD[@]}" console "$DOCS/README.md" "$CDIR/cmds" 2>"$OUT_DIR/console.err")
    if [ $? -ne 0 ]; then
        fail "md_docs.js console ran" "$(head -n 5 "$OUT_DIR/console.err" | tr '\n' ' ')"
    fi
    unchecked=$(grep -P '^UNCHECKED\t' <<< "$out" | cut -f2-)
    if [ -z "$unchecked" ]; then
        pass "every curl and sselight-pub command in README.md's fenced blocks is in a console block"
    else
        fail "every curl and sselight-pub command in README.md's fenced blocks is in a console block" \
            "not checked: README.md:$(cut -f1 <<< "$unchecked" | paste -sd' ' | sed 's/ /, README.md:/g')"
        awk -F'\t' '{ printf "README.md:%s (```%s): %s\n", $1, $2, $3 }' <<< "$unchecked" | diag
    fi
    orphans=$(grep -P '^ORPHAN\t' <<< "$out" | cut -f2-)
    if [ -z "$orphans" ]; then
        pass "README.md's console blocks start with a \$ command"
    else
        fail "README.md's console blocks start with a \$ command" \
            "output before any command at README.md:$(cut -f1 <<< "$orphans" | paste -sd' ' | sed 's/ /, README.md:/g')"
    fi
    ncmds=$(grep -cP '^CMD\t' <<< "$out")
    check "README.md has console examples" test "$ncmds" -gt 0

    if [ "$ncmds" -gt 0 ]; then
        port=$(free_port)
        data=$CDIR/data
        run_log=$OUT_DIR/run.log
        # The server and the commands: none of the caller's SSELIGHT_*
        # settings or make's (make test runs this under make).
        clean_env=(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u MAKEOVERRIDES)
        for v in $(compgen -e | grep '^SSELIGHT_'); do clean_env+=(-u "$v"); done
        clean_env+=(HOST=127.0.0.1 "SSELIGHT_DATA_DIR=$data")
        # Its own session, like a terminal's foreground job: Ctrl-C is
        # SIGINT to the group.
        (cd "$ROOT" && exec "${clean_env[@]}" setsid make --no-print-directory run PORT="$port") \
            > "$run_log" 2>&1 < /dev/null &
        RUN_PID=$!
        # make run builds nothing when the build is up to date; 40 s covers
        # a compile of a changed file or two.
        up=no
        for _ in $(seq 1 400); do
            if grep -q "sselight: serving http://127.0.0.1:$port/" "$run_log" &&
                answers "http://127.0.0.1:$port/"; then
                up=yes
                break
            fi
            alive "$RUN_PID" || break
            sleep 0.1
        done
        procs=$(run_procs)
        if [ "$up" = yes ] && [ -d "$data" ] && grep -q ' lighttpd$' <<< "$procs" &&
            grep -q ' stream.fcgi$' <<< "$procs" && grep -q ' index.fcgi$' <<< "$procs"; then
            pass "make run serves on 127.0.0.1:$port with the empty data dir $data (took $((SECONDS - T0)) s in all)"
        else
            fail "make run serves on 127.0.0.1:$port with the empty data dir $data" \
                "up: $up; processes of this run: $(tr "\n" " " <<< "$procs")its output:"
            diag < "$run_log"
        fi

        budget=${T_DOCS_BUDGET:-50}
        while IFS=$'\t' read -r kind id line stream shown; do
            [ "$kind" = CMD ] || continue
            [ ${#shown} -le 100 ] || shown="${shown:0:97}..."
            desc="README.md:$line: \$ $shown"
            if [ "$up" != yes ]; then
                fail "$desc" "not run: the server did not start"
                continue
            fi
            if [ $((SECONDS - T0)) -ge "$budget" ]; then
                fail "$desc" "not run: the test's ${budget} s are used up"
                continue
            fi
            base=$CDIR/cmds/$id
            cmd=$(< "$base.cmd")
            cmd=${cmd//127.0.0.1:5010/127.0.0.1:$port}
            sed "s/127\.0\.0\.1:5010/127.0.0.1:$port/g" "$base.exp" > "$base.want"
            if [ "$stream" = 1 ]; then limit=2; else limit=10; fi
            # timeout runs the command in a process group of its own and
            # signals the whole group when the time is up.
            (cd "$ROOT" && exec "${clean_env[@]}" timeout -k 1 "$limit" bash -c "$cmd") \
                > "$base.out" 2> "$base.err" < /dev/null &
            tpid=$!
            wait "$tpid"
            rc=$?
            kill -KILL -- "-$tpid" 2>/dev/null # what it left in the background
            if [ "$stream" != 1 ] && { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; }; then
                fail "$desc" "did not finish within $limit s"
                { echo "stdout so far:"; cat "$base.out"; } | head -n 20 | diag
                continue
            fi
            if "${MD[@]}" match "$base.want" "$base.out" "$base.shown"; then
                pass "$desc"
            else
                fail "$desc" "stdout differs from README.md (exit status $rc)"
                { echo "command: $cmd"
                  diff -u --label "expected (README.md:$line)" --label actual \
                      "$base.shown" <(tr -d '\r' < "$base.out")
                  if [ -s "$base.err" ]; then echo "stderr:"; head -n 10 "$base.err"; fi
                } | diag
            fi
        done <<< "$out"

        # Ctrl-C: SIGINT to make run's group.
        if [ -n "$RUN_PID" ]; then
            kill -INT -- "-$RUN_PID" 2>/dev/null
            left=$(wait_gone 5 $RUN_PID $(cut -d' ' -f1 <<< "$procs"))
            wait "$RUN_PID" 2>/dev/null
            left=$(run_procs)
            if [ -z "$left" ]; then
                pass "after Ctrl-C no lighttpd, stream.fcgi or index.fcgi of this run is left"
            else
                fail "after Ctrl-C no lighttpd, stream.fcgi or index.fcgi of this run is left" \
                    "still running: $(echo $left)"
            fi
            if port_open "$port"; then
                fail "after Ctrl-C port $port is closed" "it still accepts connections"
            else
                pass "after Ctrl-C port $port is closed"
            fi
        fi
    fi
    console_cleanup
fi

echo "# t_docs took $((SECONDS - T0)) s"
harness_finish
