#!/bin/bash
# tools/setup-deps.sh, the install step of make run / make test, with the
# system commands it calls (id, dpkg-query, sudo, apt-get) replaced by
# recording stubs on PATH, so every branch runs without touching the system:
# root installs with apt-get, a user with sudo through sudo, a user with
# neither gets the exact command and a non-zero exit.
source "$(dirname "$0")/../lib/harness.sh"

stubs=$OUT_DIR/stubs
calls=$OUT_DIR/calls.txt
rm -rf "$stubs"
mkdir -p "$stubs"

# make_stubs UID INSTALLED SUDO: INSTALLED=yes makes dpkg-query report every
# package installed; SUDO=yes provides sudo.
make_stubs() {
    rm -f "$stubs"/* "$calls"
    printf '#!/bin/sh\necho %s\n' "$1" > "$stubs/id"
    if [ "$2" = yes ]; then
        printf '#!/bin/sh\necho "install ok installed"\n' > "$stubs/dpkg-query"
    else
        printf '#!/bin/sh\nexit 1\n' > "$stubs/dpkg-query"
    fi
    printf '#!/bin/sh\necho "apt-get $*" >> %s\n' "$calls" > "$stubs/apt-get"
    if [ "$3" = yes ]; then
        printf '#!/bin/sh\necho "sudo $1 $2" >> %s\nexec "$@"\n' "$calls" > "$stubs/sudo"
    fi
    ln -s /bin/sh "$stubs/sh"
    chmod +x "$stubs"/*
}
run_setup() { # run_setup TARGET: stdout+stderr to $OUT_DIR/out.txt, returns its status
    PATH=$stubs /bin/sh "$ROOT/tools/setup-deps.sh" "$1" > "$OUT_DIR/out.txt" 2>&1
}

# A user without sudo: told the exact command, nothing run, non-zero exit.
make_stubs 1000 no no
run_setup test
expect_eq "no root, no sudo: exits 1" 1 $?
check "... prints the apt-get command to run" \
    grep -q "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y" "$OUT_DIR/out.txt"
for pkg in gcc libfcgi-dev pkg-config nodejs npm check curl chromium; do
    check "... the command names $pkg" grep -qw -- "$pkg" "$OUT_DIR/out.txt"
done
check "... and installs nothing" test ! -e "$calls"

# A user with sudo: apt-get runs through sudo.
make_stubs 1000 no yes
run_setup run
expect_eq "with sudo: exits 0" 0 $?
check "... runs the install through sudo" grep -q '^sudo sh -c' "$calls"
check "... apt-get update, then install" \
    bash -c "grep -q '^apt-get update' '$calls' && grep -q '^apt-get install -y --no-install-recommends' '$calls'"
check "make run's set-up does not install test-only packages" \
    bash -c "! grep -qwE 'check|chromium|curl' '$calls'"
check "make run's set-up installs libfcgi-dev" grep -qw libfcgi-dev "$calls"

# root: apt-get directly.
make_stubs 0 no no
run_setup test
expect_eq "as root: exits 0" 0 $?
check "... runs apt-get install itself" grep -q '^apt-get install -y --no-install-recommends.* chromium' "$calls"

# Everything installed: nothing to do, nothing printed.
make_stubs 1000 yes no
run_setup test
expect_eq "all installed: exits 0" 0 $?
check "... prints nothing" test ! -s "$OUT_DIR/out.txt"
check "... runs nothing" test ! -e "$calls"

# A wrong target is an error, not a silent no-op.
run_setup deploy
expect_eq "unknown target: exits 2" 2 $?
harness_finish
