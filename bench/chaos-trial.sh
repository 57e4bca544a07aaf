#!/usr/bin/env bash
# The chaos workload's trial: records its start, a beat every half second and its end with bash's clock, so a
# killed attempt (no end) is still bounded by its last beat.
# usage: chaos-trial.sh <index> <seconds> <records-file>
printf 'start %s %s %s\n' "$1" "$$" "$EPOCHREALTIME" >>"$3"
beats=$(($2 * 2))
for ((i = 0; i < beats; i++)); do
  sleep 0.5
  printf 'beat %s %s %s\n' "$1" "$$" "$EPOCHREALTIME" >>"$3"
done
printf 'end %s %s %s\n' "$1" "$$" "$EPOCHREALTIME" >>"$3"
