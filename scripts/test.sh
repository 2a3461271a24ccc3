#!/usr/bin/env bash
# The whole test suite: installs what the tests need, checks formatting and lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
command -v rustfmt >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --features truereel/lambda,truereel/testing -- -D warnings
cargo test --workspace --features truereel/lambda,truereel/testing
