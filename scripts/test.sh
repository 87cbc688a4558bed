#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then runs formatting,
# lints and every test. The README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo --version

echo "== test services: moto (AWS) and kmock (Kubernetes API) emulators"
# The live tests run them on 127.0.0.1; pip skips what is already installed.
python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6' 'kmock>=0.8,<0.9' boto3
python3 -c "import moto, kmock; print('moto', moto.__version__, '/ kmock', kmock.__version__)"

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
