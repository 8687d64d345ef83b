#!/usr/bin/env bash
# Quick start, step 2: build sowhat, fetch the models the tests use (once; cached in
# $SOWHAT_MODELS or ~/.cache/sowhat/models) and run the whole test suite, which transcribes
# real speech from ../shared/eval with the real models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
cargo build --release --quiet
./target/release/sowhat models fetch base tiny.en silero-vad campplus e5-small e5-tokenizer
cargo test --release "$@"
