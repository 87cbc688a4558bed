#!/usr/bin/env bash
# Run every cargo-fuzz target for a bounded time, two at a time, niced.
#   bash scripts/fuzz.sh [SECONDS]     (default 600 s per target)
#   FUZZ_JOBS=N runs N targets at a time (default 2, one per core).
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain.
# Targets are built with debug assertions (overflow checks) and, by default,
# without a sanitizer: the crates have no `unsafe`, so AddressSanitizer only
# slows the runs; FUZZ_SANITIZER=address turns it back on. The committed seeds are in
# fuzz/corpus/<target>/; new corpus entries found by a run are kept in
# target/fuzz-corpus/<target>/ (not committed, so the repo stays small).
# A crash is saved as fuzz/artifacts/<target>/crash-*: fix it and add the
# input as a regression test under crates/core/tests/.
# Summary: target/fuzz-summary.txt (target, seconds run, runs, result).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
sanitizer="${FUZZ_SANITIZER:-none}"
targets=(kube_json yaml aws_json prometheus sysdump_zip tar_gz suppression)

cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
(cd fuzz && nice -n 10 cargo +nightly fuzz build -O -a -s "$sanitizer") || exit 1

mkdir -p target/fuzz-logs
summary=target/fuzz-summary.txt
: > "$summary"

run_one() {
  local t="$1" start end status runs
  mkdir -p "target/fuzz-corpus/$t"
  start=$(date +%s)
  (cd fuzz && nice -n 10 cargo +nightly fuzz run -O -a -s "$sanitizer" "$t" \
      "../target/fuzz-corpus/$t" "corpus/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=262144 -timeout=20 \
      -print_final_stats=1) > "target/fuzz-logs/$t.log" 2>&1
  status=$?
  end=$(date +%s)
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/fuzz-logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  if [ "$status" -eq 0 ]; then
    echo "$t $((end - start))s runs=${runs:-?} ok" >> "$summary"
  else
    echo "$t $((end - start))s runs=${runs:-?} CRASH (see target/fuzz-logs/$t.log, fuzz/artifacts/$t/)" >> "$summary"
  fi
}

jobs="${FUZZ_JOBS:-2}"
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  for ((j = i; j < i + jobs && j < ${#targets[@]}; j++)); do
    run_one "${targets[j]}" &
  done
  wait
done
cat "$summary"
! grep -q CRASH "$summary"
