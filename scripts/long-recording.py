#!/usr/bin/env python3
"""Writes a long test recording: faint noise with 20 s of an example interview at given times.

    python3 scripts/long-recording.py OUT.wav [HOURS]   (default 3; needs numpy and sox)

Used for the long-recording rows of BENCHMARKS.md: decoding, VAD and memory over hours of
audio, and timestamps checked where the speech is (1:00, half-way, the end).
"""
import subprocess
import sys
import wave

import numpy as np

RATE = 16000
out = sys.argv[1]
hours = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
raw = subprocess.run(
    ["sox", "fixtures/interviews/p01-anna.flac", "-r", str(RATE), "-c", "1", "-b", "16", "-t", "raw", "-"],
    capture_output=True, check=True,
).stdout
speech = np.frombuffer(raw, dtype=np.int16)[: RATE * 20]
total = int(hours * 3600 * RATE) + RATE * 30
at = [60 * RATE, int(hours * 1800) * RATE, int(hours * 3600) * RATE]
rng = np.random.default_rng(1)
with wave.open(out, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(RATE)
    pos, block = 0, RATE * 600
    while pos < total:
        n = min(block, total - pos)
        x = rng.normal(0, 20, n).astype(np.int16)
        for a in at:
            s0, s1 = max(a, pos), min(a + len(speech), pos + n)
            if s0 < s1:
                x[s0 - pos : s1 - pos] = speech[s0 - a : s1 - a]
        w.writeframes(x.tobytes())
        pos += n
