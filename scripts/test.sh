#!/usr/bin/env bash
# Installs what is needed, builds with ASan/UBSan and the dashboard, and runs every test:
# unit, integration (real server, real Mosquitto), crash tests, the dashboard in Debian's
# Chromium (screenshots in build/debug/browser/), and short libFuzzer runs.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

scripts/setup.sh --build debug --web

echo "== unit and integration tests"
ctest --preset debug -j2 --timeout 600

echo "== fuzzing (short bounded runs; see docs/testing.md for long runs)"
cmake --preset fuzz >/dev/null
fuzzers=()
for f in tests/fuzz/*_fuzz.cc; do fuzzers+=("$(basename "$f" .cc)"); done
cmake --build --preset fuzz --target "${fuzzers[@]}"
for name in "${fuzzers[@]}"; do
  fuzzer="build/fuzz/tests/$name"
  corpus="tests/fuzz/corpus/${name%_fuzz}"
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  echo "-- ${name%_fuzz}"
  "$fuzzer" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=1 "$work" 2>&1 | tail -n 4
  rm -rf "$work"
done

echo "== all tests passed in $(( $(date +%s) - start )) s"
