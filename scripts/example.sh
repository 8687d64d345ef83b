#!/usr/bin/env bash
# Quick start, step 1: build sowhat, fetch its models (once) and run it on the bundled
# example interviews (fixtures/interviews, synthesised by fixtures/make-interviews.sh).
# Output: sowhat-out/: brief.md, brief.html, insights.json, mentions.csv, project.qdpx and
# the transcripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
./target/release/sowhat models fetch
./target/release/sowhat run fixtures/interviews -o sowhat-out "$@"
echo
echo "Open sowhat-out/brief.html (or brief.md) to read the brief."
