#!/usr/bin/env bash
# The trial every tool runs in `npm run bench`: sleeps, and records its own start and end with bash's clock (no
# extra process), so every tool is measured by the same program from the same vantage point.
# usage: trial.sh <index> <seconds> <records-file>
started=$EPOCHREALTIME
sleep "$2"
printf '%s %s %s %s\n' "$1" "$started" "$EPOCHREALTIME" "$$" >>"$3"
