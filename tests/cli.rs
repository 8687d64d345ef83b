//! The `sowhat` binary on real files: a batch with bad inputs, outputs, the cache, formats
//! decoded through ffmpeg, and model fetching.

mod common;

use common::*;
use sowhat::types::Transcript;
use std::path::Path;
use std::process::Command;

fn read_transcript(path: &Path) -> Transcript {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn bad_inputs_fail_alone_and_the_batch_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in");
    std::fs::create_dir(&inp).unwrap();
    let good = inp.join("good.wav");
    std::fs::copy(eval_audio("pl-complaint-0002.wav"), &good).unwrap();
    std::fs::write(inp.join("empty.mp3"), b"").unwrap();
    std::fs::write(
        inp.join("notes.mp3"),
        "Interview notes, not audio.\n".repeat(100),
    )
    .unwrap();
    // A wav cut off inside its header, and one cut off in the middle of its audio.
    let wav = std::fs::read(eval_audio("en-complaint.wav")).unwrap();
    std::fs::write(inp.join("header-cut.wav"), &wav[..30]).unwrap();
    std::fs::write(inp.join("half.wav"), &wav[..wav.len() / 2]).unwrap();
    sowhat::audio::write_wav_16k(&inp.join("zero-length.wav"), &[]).unwrap();
    sowhat::audio::write_wav_16k(&inp.join("silence.wav"), &vec![0.0; 16_000 * 30]).unwrap();
    let no_audio = dir.path().join("no-audio");
    std::fs::create_dir(&no_audio).unwrap();
    std::fs::write(no_audio.join("readme.txt"), b"x").unwrap();
    let missing = dir.path().join("missing.m4a");

    let out = dir.path().join("out");
    let o = sowhat(
        &[
            "transcribe",
            inp.to_str().unwrap(),
            no_audio.to_str().unwrap(),
            missing.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ],
        &dir.path().join("cache"),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Each bad input: one ✗ line naming it (the summary lists it once more).
    for name in [
        "empty.mp3",
        "notes.mp3",
        "header-cut.wav",
        "zero-length.wav",
        "no-audio",
        "missing.m4a",
    ] {
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with('✗') && l.contains(name))
            .collect();
        assert_eq!(lines.len(), 1, "{name}: {err}");
    }
    assert!(err.contains("the file is empty"), "{err}");
    assert!(err.contains("no audio files"), "{err}");
    // Good, half and silence succeed; half warns that it is truncated; silence is empty.
    for id in ["good", "half", "silence"] {
        for ext in ["json", "txt", "srt", "vtt"] {
            assert!(
                out.join(format!("transcripts/{id}.{ext}")).exists(),
                "{id}.{ext}: {err}"
            );
        }
    }
    assert!(
        err.contains("half.wav") && err.contains("truncated"),
        "{err}"
    );
    let silence = read_transcript(&out.join("transcripts/silence.json"));
    assert!(silence.segments.is_empty(), "{:?}", silence.segments);
    let good = read_transcript(&out.join("transcripts/good.json"));
    assert_eq!(good.language.as_deref(), Some("pl"));
    assert!(!good.segments.is_empty());
    assert!(err.contains("3 of 9 recordings transcribed"), "{err}");
}

#[test]
fn rerun_uses_the_cache_and_a_damaged_entry_is_redone() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let input = eval_audio("pl-complaint-0004.wav");
    let args = [
        "transcribe",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--model",
        "base",
    ];
    let first = sowhat(&args, &cache);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(!stderr(&first).contains("from cache"));
    let t1 = std::fs::read_to_string(out.join("transcripts/pl-complaint-0004.txt")).unwrap();

    let second = sowhat(&args, &cache);
    assert!(
        stderr(&second).contains("from cache"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("transcripts/pl-complaint-0004.txt")).unwrap(),
        t1
    );

    // Damage the entry: it must be discarded, not trusted.
    for e in std::fs::read_dir(&cache).unwrap() {
        std::fs::write(e.unwrap().path(), b"{\"schema\": \"sowhat.transcr").unwrap();
    }
    let third = sowhat(&args, &cache);
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    assert!(!stderr(&third).contains("from cache"), "{}", stderr(&third));
    assert_eq!(
        std::fs::read_to_string(out.join("transcripts/pl-complaint-0004.txt")).unwrap(),
        t1
    );

    // A different setting is a different key.
    let forced = sowhat(&[&args[..], &["--language", "pl"]].concat(), &cache);
    assert!(!stderr(&forced).contains("from cache"));
}

#[test]
fn outputs_have_times_and_the_json_is_the_transcript_type() {
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = transcribe_one(&eval_audio("jfk.flac"), dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = read_transcript(&out.join("transcripts/jfk.json"));
    assert_eq!(t.schema, "sowhat.transcript/1");
    assert_eq!(t.language.as_deref(), Some("en"));
    assert!((t.duration.unwrap() - 11.0).abs() < 0.01);
    let p = t.provenance.as_ref().unwrap();
    assert_eq!(p.model, "base");
    assert!(p.vad && p.language_probability.unwrap() > 0.5);
    let txt = std::fs::read_to_string(out.join("transcripts/jfk.txt")).unwrap();
    assert!(txt.starts_with("[00:00:0"), "{txt}");
    let srt = std::fs::read_to_string(out.join("transcripts/jfk.srt")).unwrap();
    assert!(
        srt.starts_with("1\n00:00:0") && srt.contains(" --> "),
        "{srt}"
    );
    let vtt = std::fs::read_to_string(out.join("transcripts/jfk.vtt")).unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n00:00:0"), "{vtt}");
    // No temporary files left behind.
    for e in std::fs::read_dir(out.join("transcripts")).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.starts_with(".sowhat-tmp"), "{n}");
    }
}

fn have_ffmpeg() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn opus_goes_through_ffmpeg_or_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let opus = dir.path().join("call.opus");
    if have_ffmpeg() {
        let st = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(eval_audio("jfk.flac"))
            .args(["-c:a", "libopus", "-b:a", "32k"])
            .arg(&opus)
            .status()
            .unwrap();
        assert!(st.success());
        let (o, out) = transcribe_one(&opus, dir.path(), &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let t = read_transcript(&out.join("transcripts/call.json"));
        let w = sowhat::wer::wer(&reference("jfk.flac"), &t.plain_text());
        assert!(w <= 0.10, "opus WER {w}: {}", t.plain_text());
    } else {
        std::fs::copy(eval_audio("jfk.flac"), &opus).unwrap(); // any bytes: the point is the message
    }
    // Without ffmpeg: a clear error that names the fix.
    std::fs::write(&opus, b"OggS\0\x02 not really opus").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sowhat"))
        .args([
            "transcribe",
            opus.to_str().unwrap(),
            "-o",
            dir.path().join("o2").to_str().unwrap(),
        ])
        .env("SOWHAT_FFMPEG", "/nonexistent/ffmpeg")
        .env("SOWHAT_CACHE", dir.path().join("c"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("call.opus") && stderr(&o).contains("install ffmpeg"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = sowhat(
        &["transcribe", "x.wav", "--language", "klingon"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = sowhat(&["transcribe"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = sowhat(
        &["transcribe", "x.wav", "--model", "/nonexistent/model.bin"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("model.bin"), "{}", stderr(&o));
}

#[test]
fn models_fetch_verifies_skips_and_repairs() {
    // A private model cache; the small Silero VAD model keeps this quick.
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let fetch = |extra: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sowhat"));
        c.args(["models", "fetch", "silero-vad"])
            .env("SOWHAT_MODELS", &models);
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // No pip: a message that names the packages and where the file goes.
    let o = fetch(&[("SOWHAT_PIP", "/nonexistent/pip")]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("silero-vad==6.2.3")
            && e.contains("ggml-silero-v6.2.3.bin")
            && e.contains("--wheels"),
        "{e}"
    );

    let o = fetch(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("verified"), "{}", stderr(&o));
    let file = models.join("ggml-silero-v6.2.3.bin");
    assert_eq!(
        sowhat::fsutil::sha256_file(&file).unwrap(),
        "abd79739d3ff4bc37fa1d24f1fca8244f2e31ec9f0bb7ea6244b185bfaa0b8e6"
    );
    // Present and valid: not fetched again (no pip needed).
    let o = fetch(&[("SOWHAT_PIP", "/nonexistent/pip")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("already in the cache"));
    // Damaged: fetched again and repaired.
    std::fs::write(&file, b"damaged").unwrap();
    let o = fetch(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 885_098);
    // Nothing else left in the cache folder.
    let names: Vec<_> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn stereo_with_one_speaker_per_channel_keeps_both_overlapping_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = transcribe_one(&eval_audio("stereo-two-channels.wav"), dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("one speaker per channel"),
        "{}",
        stderr(&o)
    );
    let t = read_transcript(&out.join("transcripts/stereo-two-channels.json"));
    assert!(t.provenance.as_ref().unwrap().channels_separate);
    let said = |ch: &str| {
        t.segments
            .iter()
            .filter(|s| s.speaker.as_ref().map(|s| s.display()) == Some(ch))
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The two sentences overlap in time; each must come out whole under its own channel.
    let (left, right) = reference("stereo-two-channels.wav")
        .split_once(" | right: ")
        .map(|(l, r)| (l.trim_start_matches("left: ").to_string(), r.to_string()))
        .unwrap();
    let (wl, wr) = (
        sowhat::wer::wer(&left, &said("Channel 1")),
        sowhat::wer::wer(&right, &said("Channel 2")),
    );
    // Measured: 0.0 and 0.0 (bound 0.15 each).
    assert!(
        wl <= 0.15 && wr <= 0.15,
        "left {wl}: {} | right {wr}: {}",
        said("Channel 1"),
        said("Channel 2")
    );
    let vtt = std::fs::read_to_string(out.join("transcripts/stereo-two-channels.vtt")).unwrap();
    assert!(vtt.contains("<v Channel 2>The horizon"), "{vtt}");
    // A stereo file with the same signal on both channels is not split (jfk.flac, 44.1 kHz).
    let o = sowhat(
        &[
            "transcribe",
            eval_audio("jfk.flac").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &dir.path().join("c"),
    );
    assert!(
        !stderr(&o).contains("one speaker per channel"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn killed_batch_keeps_finished_work_and_resumes() {
    // SIGKILL in the middle of a batch: finished transcripts stay whole, nothing is half
    // written, and the rerun takes the finished file from the cache.
    let dir = tempfile::tempdir().unwrap();
    let (out, cache) = (dir.path().join("out"), dir.path().join("cache"));
    let files = [
        eval_audio("pl-complaint-0001.wav"),
        fixture("interviews/p01-anna.flac"),
        fixture("interviews/p02-ben.flac"),
    ];
    let mut args: Vec<&str> = vec![
        "transcribe",
        "--jobs",
        "1",
        "--threads",
        "1",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_sowhat"))
        .args(&args)
        .env("SOWHAT_CACHE", &cache)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = out.join("transcripts/pl-complaint-0001.json");
    let started = std::time::Instant::now();
    while !first.exists() {
        assert!(
            started.elapsed().as_secs() < 300,
            "the first file never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = read_transcript(&first);
    assert!(!done.segments.is_empty());
    for e in std::fs::read_dir(out.join("transcripts")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".sowhat-tmp"),
            "half-written file left: {name}"
        );
        if name.ends_with(".json") {
            read_transcript(&p); // every JSON that exists is whole
        }
    }
    let o = sowhat(&args, &cache);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    let cached: Vec<&str> = e.lines().filter(|l| l.contains("from cache")).collect();
    assert!(
        cached.iter().any(|l| l.contains("pl-complaint-0001")),
        "{e}"
    );
    assert!(
        !e.lines()
            .any(|l| l.contains("p02-ben") && l.contains("from cache")),
        "{e}"
    );
    assert_eq!(read_transcript(&first).segments, done.segments);
}

#[test]
fn model_by_path_takes_any_ggml_file() {
    // A user's own whisper.cpp model by path (here the cached tiny.en file under another name).
    let dir = tempfile::tempdir().unwrap();
    let cached =
        sowhat::models::resolve_whisper("tiny.en").expect("scripts/test.sh fetches tiny.en");
    let mine = dir.path().join("my-model.bin");
    std::fs::copy(&cached.path, &mine).unwrap();
    let (o, out) = transcribe_one(
        &eval_audio("jfk.flac"),
        dir.path(),
        &["--model", mine.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = read_transcript(&out.join("transcripts/jfk.json"));
    assert_eq!(t.provenance.as_ref().unwrap().model, "my-model.bin"); // a name, never an absolute path
    assert!(
        sowhat::wer::wer(&reference("jfk.flac"), &t.plain_text()) <= 0.15,
        "{}",
        t.plain_text()
    );
}

/// A broken participants.csv stops `run` at once, before any recording is transcribed: it used
/// to be read only after the whole batch was transcribed.
#[test]
fn a_broken_participants_csv_stops_run_before_transcribing() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in");
    std::fs::create_dir(&inp).unwrap();
    std::fs::copy(eval_audio("jfk.flac"), inp.join("jfk.flac")).unwrap();
    std::fs::write(inp.join("participants.csv"), "name;plan\nAnna;pro\n").unwrap();
    let out = dir.path().join("out");
    let o = sowhat(
        &["run", inp.to_str().unwrap(), "-o", out.to_str().unwrap()],
        &dir.path().join("c"),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("participants.csv: no `file` column"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing is transcribed or written");
}

/// A mistyped --examples or --examples-transcripts path stops `run` before any transcription.
#[test]
fn a_wrong_examples_path_stops_run_before_transcribing() {
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in");
    std::fs::create_dir(&inp).unwrap();
    std::fs::copy(eval_audio("jfk.flac"), inp.join("jfk.flac")).unwrap();
    let gold = dir.path().join("coded.jsonl");
    std::fs::write(&gold, "{\"quote\": \"Ask not.\", \"tag\": \"Billing\"}\n").unwrap();
    let out = dir.path().join("out");
    for (flag, value) in [
        ("--examples", dir.path().join("cdoed.jsonl")),
        (
            "--examples-transcripts",
            dir.path().join("coded-transcripts"),
        ),
    ] {
        let mut args = vec![
            "run".to_string(),
            inp.to_string_lossy().into(),
            "-o".into(),
            out.to_string_lossy().into(),
        ];
        if flag != "--examples" {
            args.extend(["--examples".into(), gold.to_string_lossy().into()]);
        }
        args.extend([flag.into(), value.to_string_lossy().into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = sowhat(&args, &dir.path().join("c"));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(flag) && err.contains("cannot open"), "{err}");
        assert!(!out.exists(), "nothing is transcribed or written");
    }
}
