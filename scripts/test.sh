#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then runs formatting,
# lints and every test. The README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo --version

echo "== data/ matches the shared ground truth"
knowledge_source="${KNOWLEDGE_SOURCE:-../shared/data}"
if [ -d "$knowledge_source" ]; then
  python3 scripts/build-knowledge.py "$knowledge_source" --check
else
  echo "skipped: $knowledge_source not found (set KNOWLEDGE_SOURCE)"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
