#!/usr/bin/env bash
# Scale benchmark: `check` on generated snapshots of 500, 2,000 and 5,000
# nodes (30 pods each), next to the parse floor (serde_json into IgnoredAny,
# one thread, same files). Release build. Prints a Markdown table with a row
# per shape and size: `pretty` is what `kubectl get -o json` writes (4-space
# indent, no managedFields), `compact` what the API server sends
# (`kubectl get --raw`, managedFields included).
#   bash scripts/bench.sh [NODES...]      (default: 500 2000 5000)
#   BENCH_SHAPES="pretty" bash scripts/bench.sh 5000
# Snapshots are generated once into ${BENCH_DIR:-target/bench} (~1.5 GB per
# shape for 5,000 nodes) and reused. Time and peak RSS come from /usr/bin/time; each
# figure is the best of ${BENCH_RUNS:-3} runs (the machine may be shared).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(500 2000 5000)
dir="${BENCH_DIR:-target/bench}"
runs="${BENCH_RUNS:-3}"
mkdir -p "$dir"

cargo build --release --locked -p eks-cilium-doctor -p doctor-bench >&2
bin=target/release

best() { # best of $runs: "<seconds> <max RSS KB>" of the fastest run
  local out best_t="" best_m=""
  for _ in $(seq "$runs"); do
    # -o: time's own figures, apart from the command's output and errors.
    /usr/bin/time -o "$dir/time.out" -f "%e %M" "$@" >/dev/null 2>"$dir/check.err" ||
      { echo "failed: $* ($(tail -1 "$dir/check.err"))" >&2; exit 1; }
    read -r t m < "$dir/time.out"
    if [ -z "$best_t" ] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; best_m=$m; fi
  done
  echo "$best_t $best_m"
}

read -r -a shapes <<< "${BENCH_SHAPES:-pretty compact}"
echo "| shape | nodes | pods | snapshot | parse floor (1 thread) | check | check / floor | throughput | peak RSS | RSS / snapshot |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for shape in "${shapes[@]}"; do
for n in "${sizes[@]}"; do
  snap="$dir/$shape-n$n"
  case "$shape" in
    pretty) flags=(--shape pretty) ;;
    compact) flags=(--shape compact --managed-fields) ;;
    *) echo "unknown shape $shape (pretty, compact)" >&2; exit 2 ;;
  esac
  [ -f "$snap/k8s-pods.json" ] || "$bin/gen-snapshot" --nodes "$n" --pods-per-node 30 "${flags[@]}" --out "$snap" >&2
  bytes=$(du -sb "$snap" | cut -f1)
  floor_t=$(for _ in $(seq "$runs"); do "$bin/parse-floor" "$snap" | cut -d' ' -f3; done | sort -n | head -1)
  read -r check_t check_m < <(best "$bin/eks-cilium-doctor" check "$snap" --fail-on none --format json)
  [ -n "${check_t:-}" ] || { echo "check failed on $snap" >&2; exit 1; }
  awk -v s="$shape" -v n="$n" -v b="$bytes" -v f="$floor_t" -v t="$check_t" -v m="$check_m" 'BEGIN {
    mb = b / 1e6;
    printf "| %s | %d | %d | %.0f MB | %.2f s | %.2f s | %.2fx | %.0f MB/s | %.0f MB | %.2f |\n",
      s, n, n * 30, mb, f, t, t / f, mb / t, m / 1024, (m * 1024) / b }'
done
done
