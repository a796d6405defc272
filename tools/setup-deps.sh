#!/bin/sh
# Install the Debian packages a make target needs, only those missing.
# usage: tools/setup-deps.sh build|run|test
# As root: apt-get. With sudo: sudo apt-get. Otherwise: print the exact
# command and exit 1, so the caller stops before building anything.
set -eu

target=${1:-run}

# Package lists per target. A command found on PATH counts as installed
# (node and npm often come from NodeSource rather than Debian's packages).
build_pkgs="gcc make libc6-dev pkg-config libfcgi-dev libsqlite3-dev libssl-dev libhiredis-dev libjansson-dev"
run_pkgs="$build_pkgs lighttpd nodejs npm"
test_pkgs="$run_pkgs check curl chromium openssl clang libclang-rt-14-dev strace valgrind nginx apache2 apache2-suexec-pristine libapache2-mod-fcgid spawn-fcgi redis-server sqlite3 prometheus haproxy h2o caddy mandoc php-cli php-symfony-mercure"
bench_pkgs="$run_pkgs curl nginx libnginx-mod-nchan gnuplot-nox redis-server sqlite3"

case "$target" in
    build) want=$build_pkgs ;;
    run)   want=$run_pkgs ;;
    test)  want=$test_pkgs ;;
    bench) want=$bench_pkgs ;;
    *) echo "setup-deps: unknown target '$target' (build, run, test or bench)" >&2; exit 2 ;;
esac

command_for_pkg() {
    case "$1" in
        nodejs) echo node ;;
        npm) echo npm ;;
        gcc) echo gcc ;;
        clang) echo clang ;;
        make) echo make ;;
        pkg-config) echo pkg-config ;;
        curl) echo curl ;;
        openssl) echo openssl ;;
        strace) echo strace ;;
        valgrind) echo valgrind ;;
        spawn-fcgi) echo spawn-fcgi ;;
        lighttpd) echo lighttpd ;;
        chromium) echo chromium ;;
        nginx) echo nginx ;;
        mandoc) echo mandoc ;;
        php-cli) echo php ;;
        gnuplot-nox) echo gnuplot ;;
        *) echo "" ;;
    esac
}

missing=""
for pkg in $want; do
    cmd=$(command_for_pkg "$pkg")
    if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
        continue
    fi
    # lighttpd installs to /usr/sbin, which is not on every user's PATH.
    if [ "$pkg" = lighttpd ] && [ -x /usr/sbin/lighttpd ]; then
        continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "setup-deps: missing Debian packages:$missing"
install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
    sh -c "$install_cmd"
elif command -v sudo >/dev/null 2>&1; then
    sudo sh -c "$install_cmd"
else
    echo "setup-deps: not root and no sudo; run this as root, then try again:" >&2
    echo "    sh -c '$install_cmd'" >&2
    exit 1
fi
