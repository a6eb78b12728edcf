#!/bin/sh
# Fetch Debian's CivetWeb source package into DEST (default .cache/civetweb).
# Debian's binary libcivetweb cannot be used (it dlopens OpenSSL 1.1 symbols),
# so we compile civetweb.c ourselves. The deb-src entries are made from the
# machine's own apt sources, in a private apt configuration: no mirror name is
# written here, and the system's apt set-up is left as it was.
set -eu

dest=${1:-"$(cd "$(dirname "$0")/.." && pwd)/.cache/civetweb"}
if [ -f "$dest/src/civetweb.c" ]; then
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/archives/partial"

# deb822 .sources files: change the type.
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed 's/^Types:.*/Types: deb-src/' "$f" > "$work/parts/$(basename "$f")"
    echo >> "$work/parts/$(basename "$f")"
done
# One-line .list files: turn each `deb ` line into `deb-src `.
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -E '^[[:space:]]*deb[[:space:]]' "$f" | sed 's/^[[:space:]]*deb[[:space:]]/deb-src /' \
        >> "$work/parts/from-lists.list" || true
done

apt_private="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$work/parts
 -o Dir::State::Lists=$work/lists -o Dir::Cache::Archives=$work/archives
 -o APT::Sandbox::User=root"

echo "fetch_civetweb: downloading Debian's civetweb source package"
# shellcheck disable=SC2086
apt-get $apt_private update -q >"$work/update.log" 2>&1 || {
    cat "$work/update.log" >&2
    echo "fetch_civetweb: apt-get update of the deb-src entries failed" >&2
    exit 1
}
# shellcheck disable=SC2086
(cd "$work" && apt-get $apt_private source --download-only civetweb) >"$work/source.log" 2>&1 || {
    cat "$work/source.log" >&2
    echo "fetch_civetweb: apt-get source civetweb failed" >&2
    exit 1
}
(cd "$work" && dpkg-source --no-check -x civetweb_*.dsc tree) >/dev/null
if [ ! -f "$work/tree/src/civetweb.c" ]; then
    echo "fetch_civetweb: no src/civetweb.c in the source package" >&2
    exit 1
fi
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
mv "$work/tree" "$dest.partial"
mv "$dest.partial" "$dest"
echo "fetch_civetweb: CivetWeb source in $dest"
