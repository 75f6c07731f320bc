#!/bin/sh
# with_tools.sh TOOL... -- COMMAND...: runs COMMAND when every TOOL is on PATH; otherwise exits 77,
# which meson counts as skipped, naming what is missing.  For tests that drive a real client
# (curl, wrk) that a machine may not have: scripts/setup installs them.
missing=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  command -v "$1" >/dev/null 2>&1 || missing="$missing $1"
  shift
done
[ "${1:-}" = "--" ] && shift
if [ -n "$missing" ]; then
  echo "skipped: not installed:$missing (scripts/setup installs them)"
  exit 77
fi
exec "$@"
