#!/usr/bin/env bash
# The whole test suite: installs what the tests need (ffmpeg, espeak-ng, fonts, Piper; moto, cfn-lint and
# the SAM CLI in .tools/), starts the AWS emulator on loopback, checks formatting and lints, runs
# every test, and stops the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/aws-tools.sh
command -v rustfmt >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
features=truereel/lambda,truereel/testing,truereel/aws
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --features "$features" -- -D warnings
eval "$(bash scripts/aws-emulator.sh start)"
trap 'bash scripts/aws-emulator.sh stop' EXIT
cargo test --workspace --features "$features"
