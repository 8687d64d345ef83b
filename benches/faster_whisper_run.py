"""faster-whisper side of benches/transcription.rs.

Loads one faster-whisper model once, transcribes every file given on the command line with
the decoding settings the bench compares (greedy, temperature fallback, no conditioning on
previous text), and writes a JSON report:

    {"faster_whisper": "1.2.1", "ctranslate2": "4.x", "vad_filter": false,
     "load_seconds": 1.2,
     "files": [{"path": ..., "text": ..., "language": "en", "language_probability": 0.99,
                "duration": 11.0, "duration_after_vad": 11.0, "seconds": 0.8}, ...]}

`load_seconds` is importing faster-whisper plus loading the model; `seconds` of a file is
`model.transcribe` (audio decoding, optional VAD, language detection, decoding) with the
segment generator consumed, i.e. everything per file except the model load.

Runs offline: the model is a local CTranslate2 folder and the bench sets HF_HUB_OFFLINE=1.
"""

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="CTranslate2 Whisper model folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vad", choices=["on", "off"], required=True)
    parser.add_argument("--out", required=True, help="JSON report to write")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()

    started = time.perf_counter()
    import ctranslate2
    import faster_whisper
    from faster_whisper import WhisperModel

    model = WhisperModel(
        args.model,
        device="cpu",
        compute_type="int8",
        cpu_threads=args.threads,
        num_workers=1,
    )
    load_seconds = time.perf_counter() - started

    files = []
    for path in args.files:
        t0 = time.perf_counter()
        segments, info = model.transcribe(
            path,
            beam_size=1,
            best_of=1,
            temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            condition_on_previous_text=False,
            vad_filter=args.vad == "on",
        )
        # transcribe() is lazy: the work happens while the generator is consumed.
        texts = [s.text.strip() for s in segments]
        seconds = time.perf_counter() - t0
        files.append(
            {
                "path": path,
                "text": " ".join(t for t in texts if t),
                "language": info.language,
                "language_probability": info.language_probability,
                "duration": info.duration,
                "duration_after_vad": info.duration_after_vad,
                "seconds": seconds,
            }
        )

    report = {
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "vad_filter": args.vad == "on",
        "load_seconds": load_seconds,
        "files": files,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
