#!/usr/bin/env bash
# Installs meridian: builds the release binary (unless --binary names one already built) and installs it in
# PREFIX/bin with shell completions for bash, zsh and fish. PREFIX defaults to /usr/local.
#
#   scripts/install.sh                      # swift build -c release, then install into /usr/local
#   scripts/install.sh --prefix "$HOME/.local"
#   scripts/install.sh --binary .build/release/meridian --prefix /opt/meridian
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
binary=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
        --binary) binary="${2:?--binary needs the path of a meridian binary}"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "$binary" ]; then
    echo "== swift build -c release --product meridian (a few minutes the first time)"
    swift build -c release --product meridian
    binary="$(swift build -c release --show-bin-path)/meridian"
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 2; }

install -d "$prefix/bin" "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" \
    "$prefix/share/fish/vendor_completions.d"
install -m 0755 "$binary" "$prefix/bin/meridian"
"$prefix/bin/meridian" --generate-completion-script bash > "$prefix/share/bash-completion/completions/meridian"
"$prefix/bin/meridian" --generate-completion-script zsh > "$prefix/share/zsh/site-functions/_meridian"
"$prefix/bin/meridian" --generate-completion-script fish > "$prefix/share/fish/vendor_completions.d/meridian.fish"
echo "installed $("$prefix/bin/meridian" --version) in $prefix/bin/meridian, with bash, zsh and fish completions"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "note: $prefix/bin is not on your PATH" ;; esac
