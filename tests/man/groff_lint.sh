#!/bin/sh
# The man pages render without a single groff warning (`groff -man -ww -z`).
# Exit 77 (meson: SKIP) when groff is missing, which install-deps prevents.
command -v groff >/dev/null 2>&1 || { echo "groff not installed"; exit 77; }
status=0
for page in "$SKJOLD_SOURCE_ROOT"/man/*.[0-9]; do
    out=$(groff -man -ww -z "$page" 2>&1)
    if [ -n "$out" ]; then
        echo "$page:"; echo "$out"; status=1
    else
        echo "$page: no warnings"
    fi
done
exit $status
