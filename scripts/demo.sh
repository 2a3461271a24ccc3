#!/usr/bin/env bash
# The main job on the embedded default: the sample store in, one watchable reel per product out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p truereel-cli
./target/release/truereel run --store "${TRUEREEL_STORE:-examples/store}" --data-dir "${TRUEREEL_DATA_DIR:-truereel-data}" "$@"
