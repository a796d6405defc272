#!/bin/sh
# Run by lighttpd.conf (include_shell): turns the environment into config
# lines, with defaults, after checking each value, so a typo gives a clear
# error instead of a server on the wrong port.
#   PORT              TCP port (default 5010)
#   HOST              address to bind (default 127.0.0.1)
#   SSELIGHT_RUN_DIR  private dir for the FastCGI sockets (default
#                     /tmp/sselight-UID-PORT, created mode 0700)
#   SSELIGHT_CGI_DIR  where the responders are (default ./cgi-bin)
#   SSELIGHT_DATA_DIR where the broker keeps its database (default ./var)
#   SSELIGHT_STREAM_PROCS  stream responder processes (default 1)
#   SSELIGHT_WORKERS  lighttpd worker processes (default 2)
set -eu

fail() {
    echo "sselight: $*" >&2
    exit 1
}

port=${PORT:-5010}
host=${HOST:-127.0.0.1}
case "$port" in
    ''|*[!0-9]*) fail "PORT must be a number from 1 to 65535, not '$port'" ;;
esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
    fail "PORT must be a number from 1 to 65535, not '$port'"
case "$host" in
    ''|*[!A-Za-z0-9.:-]*) fail "HOST must be an IP address or host name, not '$host'" ;;
esac

run_dir=${SSELIGHT_RUN_DIR:-/tmp/sselight-$(id -u)-$port}
case "$run_dir" in
    /*) ;;
    *) fail "SSELIGHT_RUN_DIR must be an absolute path, not '$run_dir'" ;;
esac
case "$run_dir" in
    *[!A-Za-z0-9._/-]*) fail "SSELIGHT_RUN_DIR may hold only A-Z a-z 0-9 . _ - /: '$run_dir'" ;;
esac
# sun_path holds 108 bytes; lighttpd appends "-N" to each socket name.
[ ${#run_dir} -le 80 ] || fail "SSELIGHT_RUN_DIR is too long for unix sockets (max 80): '$run_dir'"
if [ ! -d "$run_dir" ]; then
    (umask 077 && mkdir -p "$run_dir") || fail "cannot create $run_dir"
fi
[ -O "$run_dir" ] && [ ! -L "$run_dir" ] ||
    fail "$run_dir must be a directory owned by $(id -un), not a link"
chmod 700 "$run_dir" || fail "cannot chmod 700 $run_dir"

cgi_dir=${SSELIGHT_CGI_DIR:-}
case "$cgi_dir" in
    *[!A-Za-z0-9._/-]*) fail "SSELIGHT_CGI_DIR may hold only A-Z a-z 0-9 . _ - /: '$cgi_dir'" ;;
esac

data_dir=${SSELIGHT_DATA_DIR:-$PWD/var}
case "$data_dir" in
    /*) ;;
    *) fail "SSELIGHT_DATA_DIR must be an absolute path, not '$data_dir'" ;;
esac
case "$data_dir" in
    *[!A-Za-z0-9._/-]*) fail "SSELIGHT_DATA_DIR may hold only A-Z a-z 0-9 . _ - /: '$data_dir'" ;;
esac
# The broker's wake-up sockets live in DATA_DIR/notify (sun_path: 108 bytes).
[ ${#data_dir} -le 80 ] || fail "SSELIGHT_DATA_DIR is too long for unix sockets (max 80): '$data_dir'"
(umask 077 && mkdir -p "$data_dir") || fail "cannot create $data_dir"

procs=${SSELIGHT_STREAM_PROCS:-1}
case "$procs" in
    [1-8]) ;;
    *) fail "SSELIGHT_STREAM_PROCS must be 1 to 8, not '$procs'" ;;
esac

workers=${SSELIGHT_WORKERS:-2}
case "$workers" in
    [1-9]|1[0-6]) ;;
    *) fail "SSELIGHT_WORKERS must be 1 to 16, not '$workers'" ;;
esac

echo "server.port = $port"
case "$host" in
    *:*) echo "server.bind = \"[$host]\"" ;;
    *) echo "server.bind = \"$host\"" ;;
esac
echo "var.sselight_run_dir = \"$run_dir\""
echo "var.sselight_data_dir = \"$data_dir\""
echo "var.sselight_stream_procs = $procs"
echo "var.sselight_workers = $workers"
if [ -n "$cgi_dir" ]; then
    echo "var.sselight_cgi_dir = \"$cgi_dir\""
else
    echo "var.sselight_cgi_dir = var.CWD + \"/cgi-bin\""
fi
