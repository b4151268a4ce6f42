#!/usr/bin/env bash
# Checks the hand-written man pages (packaging/man/) against the programs:
# every configuration key that `linebeat-agent --help-config` and
# `linebeat-server --help` print must have its `.B key` entry in the
# matching .ini.5 page, and every long option of --help (and of
# `linebeat-agent probe --help`) must appear in the .8 page.
# Usage: scripts/check-man.sh BUILD_DIR     (ctest: man_pages, label docs)
set -euo pipefail
cd "$(dirname "$0")/.."
b=${1:?usage: check-man.sh BUILD_DIR}
agent=$b/agent/linebeat-agent server=$b/server/linebeat-server man=packaging/man
missing=0

# need PAGE WHAT NAME...: each NAME must be in PAGE (keys as ".B name" lines,
# options as \-\-name).
need() {
    local page=$1 what=$2 n pat
    shift 2
    for n in "$@"; do
        if [ "$what" = key ]; then pat="^\.B $n\$"; else pat="\\\\-\\\\-${n//-/\\\\-}"; fi
        if ! grep -q -- "$pat" "$page"; then
            echo "$page: no entry for the $what '$n'"
            missing=$((missing + 1))
        fi
    done
}
longopts() { grep -o -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u; }

need $man/linebeat-agent.ini.5 key \
    $("$agent" --help-config | sed -n 's/^| `\([a-z_0-9]*\)` |.*/\1/p')
need $man/linebeat-agent.8 option $( ("$agent" --help; "$agent" probe --help 2>&1) | longopts)
need $man/linebeat-server.ini.5 key \
    $("$server" --help | sed -n '/^configuration keys/,$s/^    \([a-z_0-9]*\) .*/\1/p')
need $man/linebeat-server.8 option $("$server" --help | sed '/^configuration keys/,$d' | longopts)
for page in $man/*.[58]; do
    if command -v groff >/dev/null &&
        groff -man -Tutf8 -ww -z "$page" 2>&1 | grep -q .; then
        groff -man -Tutf8 -ww -z "$page" 2>&1 | sed "s|^|$page: |"
        missing=$((missing + 1))
    fi
done
if [ "$missing" -gt 0 ]; then
    echo "man pages: $missing problems; update packaging/man/"
    exit 1
fi
echo "man pages: every key and option documented"
