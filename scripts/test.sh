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

echo "== knowledge scripts: refresh-knowledge.py on fixture git repositories"
python3 -m unittest discover -s scripts/tests

echo "== chart tools: Helm's engine (helm-python-sdk; no helm binary is in the registries) and kubernetes-validate"
# deploy/chart is linted and rendered through them (crates/cli/tests/deploy.rs).
python3 -m pip install --quiet --disable-pip-version-check 'helm-python-sdk==0.2.2' 'kubernetes-validate==1.37.0'
python3 -c "import helm_python; print('helm engine', helm_python.helm_sdk_version())"

# apt_install_missing COMMAND PACKAGE: install the Debian package when the
# command is missing (as root; otherwise say what to install).
apt_install_missing() {
  command -v "$1" >/dev/null 2>&1 && return
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$2" >/dev/null
  else
    echo "$1 missing: install the Debian package $2 (needs root)"
  fi
}

echo "== kubectl (crates/cli/tests/plugin.rs runs the doctor as \`kubectl cilium-doctor\`)"
apt_install_missing kubectl kubernetes-client
kubectl version --client 2>/dev/null | head -1 || true

echo "== buildah (crates/cli/tests/image.rs builds deploy/image/Dockerfile's final stage; nothing is pulled)"
apt_install_missing buildah buildah
buildah --version 2>/dev/null || true

echo "== validators: promtool (generated alerts), parliament (generated IAM policies)"
# The tests that run them fail when they are missing and CI is set.
apt_install_missing promtool prometheus
validators=target/validators
if ! command -v parliament >/dev/null 2>&1 && [ ! -x "$validators/bin/parliament" ]; then
  if python3 -m venv "$validators" >/dev/null 2>&1; then
    "$validators/bin/pip" install --quiet parliament==1.6.4
  else
    python3 -m pip install --quiet --user parliament==1.6.4
  fi
fi
# The tests look for the venv's parliament themselves; `pip --user` puts
# it in ~/.local/bin.
export PATH="$PATH:$HOME/.local/bin"
promtool --version 2>/dev/null | head -1 || true
"$validators/bin/parliament" --version 2>/dev/null || parliament --version 2>/dev/null || true

echo "== browser: Debian chromium, driven by playwright-core from npm (no downloaded browser)"
# crates/cli/tests/browser.rs fails when they are missing and CI is set.
apt_install_missing chromium chromium
browser=target/browser-test
if command -v npm >/dev/null 2>&1; then
  mkdir -p "$browser"
  # npm ci only when the pinned lock file changed.
  if ! cmp -s crates/cli/tests/browser/package-lock.json "$browser/package-lock.json" \
      || [ ! -d "$browser/node_modules/playwright-core" ]; then
    cp crates/cli/tests/browser/package.json crates/cli/tests/browser/package-lock.json "$browser/"
    (cd "$browser" && npm ci --silent --no-audit --no-fund)
  fi
else
  echo "npm missing: install Node.js 20+ with npm"
fi
chromium --version 2>/dev/null || true

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
