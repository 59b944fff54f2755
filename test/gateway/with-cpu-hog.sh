#!/bin/sh
# Runs a command RUNS times in a row (default 5) while a busy loop pinned to CPU 0 loads the
# machine; stops at the first failure. The hog is started and killed by this script, by its pid.
#   sh test/gateway/with-cpu-hog.sh node --import tsx --test test/gateway/faults.test.ts
runs=${RUNS:-5}
taskset -c 0 sh -c 'while :; do :; done' &
hog=$!
trap 'kill "$hog" 2>/dev/null' EXIT INT TERM
i=1
while [ "$i" -le "$runs" ]; do
  if "$@"; then echo "with-cpu-hog: run $i/$runs passed"; else echo "with-cpu-hog: run $i/$runs FAILED"; exit 1; fi
  i=$((i + 1))
done
echo "with-cpu-hog: $runs/$runs passed"
