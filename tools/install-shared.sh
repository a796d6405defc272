#!/bin/sh
# make install-shared TO=DIR DATA=DIR: sselight into a hosting account's web
# space, as the account's user, without root, a compiler or the network.
#   TO    where the site goes, inside the web space (e.g. ~/public_html/sse)
#   DATA  the broker's directory, OUTSIDE the web space (e.g. ~/sselight-data)
# Copies the programs already built (cgi-bin/) and www/ into TO, writes
# TO/.htaccess (from deploy/shared/htaccess) and, unless it exists,
# TO/sselight.conf (mode 0600) with DATA, a random publish token and a
# random subscribe secret. Prints the URL, the token and a publish command.
set -eu
cd "$(dirname "$0")/.."

fail() {
    echo "install-shared: $*" >&2
    exit 1
}

to=${1:-}
data=${2:-}
[ -n "$to" ] && [ -n "$data" ] ||
    fail "usage: make install-shared TO=DIR DATA=DIR (DATA outside the web space)"

for f in cgi-bin/index.fcgi cgi-bin/stream.fcgi www/assets/style.css \
         www/vendor/htmx.min.js www/vendor/sse.min.js deploy/shared/htaccess; do
    [ -f "$f" ] || fail "$f is missing: run 'make build' first (here, or on a machine with the same Debian release, then copy the tree)"
done

# A leading ~/ (sh does not expand it in TO=~/...).
case "$to" in "~/"*) to=$HOME/${to#"~/"} ;; esac
case "$data" in "~/"*) data=$HOME/${data#"~/"} ;; esac

# Absolute paths, whether or not they exist yet: as written (to_s) and with
# symbolic links resolved.
to_s=$(realpath -m -s -- "$to")
to=$(realpath -m -- "$to")
data=$(realpath -m -- "$data")

# The web space that holds TO: the nearest enclosing public_html, looked
# for both as written and resolved (~/public_html may be a link to the
# real document root), else TO itself. DATA may be neither inside it nor
# inside TO, or the broker could be downloaded.
docroot=$to
userdir=""
for p in "$to_s" "$to"; do
    d=$p
    while [ "$d" != / ]; do
        if [ "$(basename "$d")" = public_html ]; then
            docroot=$(realpath -m -- "$d")
            userdir=1
            break 2
        fi
        d=$(dirname "$d")
    done
done
case "$data/" in
    "$docroot"/*|"$to"/*) fail "DATA=$data is inside the web space ($docroot): anyone could download the broker. Pick a directory outside it, e.g. $HOME/sselight-data" ;;
esac
case "$to/" in
    "$data"/*) fail "TO=$to is inside DATA=$data: pick two separate directories" ;;
esac
[ "${#data}" -le 80 ] ||
    fail "DATA=$data is longer than 80 bytes (unix socket paths are short): pick a shorter path"

umask 022
mkdir -p -- "$to" "$to/assets" "$to/vendor"
mkdir -p -- "$data"
chmod 0755 "$to" "$to/assets" "$to/vendor"
chmod 0700 "$data"
# suexec runs only programs that their owner alone may write.
install -m 0755 cgi-bin/index.fcgi cgi-bin/stream.fcgi "$to/"
install -m 0644 www/assets/* "$to/assets/"
install -m 0644 www/vendor/htmx.min.js www/vendor/sse.min.js "$to/vendor/"
install -m 0644 deploy/shared/htaccess "$to/.htaccess"

conf=$to/sselight.conf
if [ -e "$conf" ]; then
    echo "install-shared: keeping $conf (its token and settings); delete it to make a new one"
    token=$(sed -n 's/^[[:space:]]*publish_token[[:space:]]*=[[:space:]]*//p' "$conf" | head -n 1)
else
    hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
    token=$(hex 24)
    secret=$(hex 32)
    tmp=$conf.tmp.$$
    (umask 077 && cat > "$tmp" <<CONF
# sselight's settings (see docs/configuration.md, "The settings file"). Never served:
# .htaccess refuses it. Keep it mode 0600.
data_dir = $data
publish_token = $token
subscribe_secret = $secret
# heartbeat_ms = 15000
# max_cgi_streams = 50
CONF
    )
    mv -f "$tmp" "$conf"
fi
chmod 0600 "$conf"

# Apache has to reach TO: every directory above it needs o+x. Those that
# are ours and lack it get it (nothing is made readable or listable).
d=$(dirname "$to")
while [ "$d" != / ]; do
    if [ -O "$d" ] && [ -n "$(find "$d" -maxdepth 0 ! -perm -o+x)" ]; then
        chmod o+x "$d" && echo "install-shared: made $d searchable by the web server (chmod o+x)"
    fi
    d=$(dirname "$d")
done

# The URL: /~USER/PATH for a directory under ~/public_html.
user=$(id -un)
rel=""
case "$to" in
    "$docroot") rel="" ;;
    "$docroot"/*) rel=${to#"$docroot"/}/ ;;
esac
if [ -n "$userdir" ]; then
    url="http://HOST/~$user/$rel"
else
    url="http://HOST/ (the URL of $to)"
fi
# sselight-pub stays in the build tree (nothing in the web space needs it).
pub=$(pwd)/cgi-bin/sselight-pub
[ -x "$pub" ] || pub="sselight-pub (from make build: $(pwd)/cgi-bin/, missing here)"
cat <<EOF2
install-shared: sselight is in $to, its data in $data.
  Open:     $url
  Token:    $token   (in $conf)
  Publish:  curl -H 'Authorization: Bearer $token' -d 'hello' ${url%% *}events/news
  From a cron job or a script on this account:
            SSELIGHT_CONFIG=$conf $pub news 'hello'
The host must allow .htaccess with AllowOverride FileInfo Options, and run
CGI programs (mod_cgi or mod_cgid), best as your user (suexec). Where they
run as the web server's user instead, it must read $conf
and write $data: chmod 0644 the one and 0777 the other (then other
accounts' programs can read your token too).
EOF2
