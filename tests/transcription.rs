//! Transcription of real speech with the real models (../shared/eval/audio).
//! Bounds are set from measured results with some headroom; each assertion says what it measured.

mod common;

use common::*;
use sowhat::audio::{self, DecodeOptions, SAMPLE_RATE};
use sowhat::transcribe::{Engine, Recognised, Settings};
use sowhat::wer;
use std::path::Path;
use std::sync::Arc;

/// One whisper.cpp thread per test: cargo runs tests in parallel, and ggml's spinning worker
/// threads slow to a crawl when there are more of them than cores.
fn settings(language: Option<&str>) -> Settings {
    Settings {
        language: language.map(String::from),
        threads: 1,
        ..Settings::default()
    }
}

fn run(engine: &Engine, path: &Path, language: Option<&str>) -> Recognised {
    let pcm = audio::decode(path, DecodeOptions::default()).unwrap();
    engine
        .transcribe(path, &pcm.samples, &settings(language), Arc::new(|_| {}))
        .unwrap()
}

fn text(r: &Recognised) -> String {
    r.segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn english_word_error_rate_48k_mono_and_44k_stereo() {
    // en-complaint.wav: 48 kHz mono, 14.7 s. Measured WER 0.02 with base (bound 0.10).
    let r = run(base(), &eval_audio("en-complaint.wav"), None);
    let w = wer::wer(&reference("en-complaint.wav"), &text(&r));
    assert!(w <= 0.10, "en-complaint WER {w:.3}: {}", text(&r));
    assert_eq!(r.language.as_deref(), Some("en"));

    // jfk.flac: 44.1 kHz stereo FLAC, 11 s. Measured WER 0.0 (bound 0.10).
    let r = run(base(), &eval_audio("jfk.flac"), None);
    let w = wer::wer(&reference("jfk.flac"), &text(&r));
    assert!(w <= 0.10, "jfk WER {w:.3}: {}", text(&r));
    for s in &r.segments {
        let c = s.confidence.unwrap();
        assert!((0.0..=1.0).contains(&c) && c > 0.5, "confidence {c}");
        assert!(s.start.unwrap() <= s.end.unwrap() && s.end.unwrap() <= 11.05);
    }
}

#[test]
fn polish_word_error_rate_and_language_detection() {
    // Four short Polish clips (16 and 48 kHz), language detected per clip.
    // Measured: all detected as pl; pooled WER 0.13 with base (bound 0.25).
    let (mut errs, mut words) = (0, 0);
    let mut hyps = Vec::new();
    for n in 1..=4 {
        let name = format!("pl-complaint-000{n}.wav");
        let r = run(base(), &eval_audio(&name), None);
        assert_eq!(r.language.as_deref(), Some("pl"), "{name}: {}", text(&r));
        let (e, w) = wer::errors(&reference(&name), &text(&r));
        errs += e;
        words += w;
        hyps.push(text(&r));
    }
    let w = errs as f64 / words as f64;
    assert!(w <= 0.25, "Polish pooled WER {w:.3}: {hyps:?}");
}

#[test]
fn silence_and_noise_give_no_text() {
    let silence = vec![0.0f32; 30 * SAMPLE_RATE as usize];
    let r = base()
        .transcribe(
            Path::new("silence"),
            &silence,
            &settings(None),
            Arc::new(|_| {}),
        )
        .unwrap();
    assert!(r.segments.is_empty(), "silence gave {:?}", text(&r));

    // Deterministic white noise at -26 dBFS.
    let mut x: u32 = 12345;
    let noise: Vec<f32> = (0..30 * SAMPLE_RATE as usize)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32 - 0.5) * 0.1
        })
        .collect();
    let r = base()
        .transcribe(
            Path::new("noise"),
            &noise,
            &settings(None),
            Arc::new(|_| {}),
        )
        .unwrap();
    assert!(r.segments.is_empty(), "noise gave {:?}", text(&r));
}

#[test]
fn timestamps_are_on_the_original_timeline() {
    // 10 s of silence, JFK's 11 s, 5 s of silence: VAD skips the silence and the times must
    // still point at the right second of the padded recording.
    let pcm = audio::decode(&eval_audio("jfk.flac"), DecodeOptions::default()).unwrap();
    let pad = 10 * SAMPLE_RATE as usize;
    let mut padded = vec![0.0f32; pad];
    padded.extend_from_slice(&pcm.samples);
    padded.extend(std::iter::repeat_n(0.0, 5 * SAMPLE_RATE as usize));
    let r = base()
        .transcribe(
            Path::new("padded"),
            &padded,
            &settings(Some("en")),
            Arc::new(|_| {}),
        )
        .unwrap();
    let first = r.segments.first().expect("speech found");
    let last = r.segments.last().unwrap();
    // JFK starts speaking ~0.3 s into the clip and ends ~10.5 s.
    assert!(
        (10.0..=11.0).contains(&first.start.unwrap()),
        "first segment at {:?}",
        first.start
    );
    assert!(
        (19.5..=21.2).contains(&last.end.unwrap()),
        "last segment ends at {:?}",
        last.end
    );
    assert!(
        wer::wer(&reference("jfk.flac"), &text(&r)) <= 0.10,
        "{}",
        text(&r)
    );
}

#[test]
fn phone_call_turns_start_where_the_reference_says() {
    // The first words ("Hello?") are at 6.68 s in the human reference, after 6 s of line noise.
    let r = run(base(), &eval_audio("phone-call-2speakers.wav"), Some("en"));
    let first = r.segments.first().expect("speech found");
    assert!(
        (first.start.unwrap() - 6.68).abs() <= 0.8,
        "first segment at {:?}",
        first.start
    );
    // Measured WER against the joined reference turns: 0.19 (bound 0.35; phone quality, crosstalk).
    let stm = std::fs::read_to_string(eval_audio("phone-call-2speakers.stm")).unwrap();
    let reference: Vec<String> = stm
        .lines()
        .map(|l| l.splitn(6, ' ').nth(5).unwrap_or("").to_string())
        .collect();
    let w = wer::wer(&reference.join(" "), &text(&r));
    assert!(w <= 0.35, "phone call WER {w:.3}: {}", text(&r));
}

#[test]
fn english_only_model_transcribes_the_example_interview() {
    // tiny.en on the synthesised example (espeak-ng voices). Measured WER 0.0 (bound 0.25).
    let script = std::fs::read_to_string(fixture("scripts/p01-anna.txt")).unwrap();
    let reference: String = script
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(_, t)| t))
        .collect::<Vec<_>>()
        .join(" ");
    let r = run(tiny_en(), &fixture("interviews/p01-anna.flac"), None);
    assert_eq!(r.language.as_deref(), Some("en"));
    let w = wer::wer(&reference, &text(&r));
    assert!(
        w <= 0.25,
        "example interview WER with tiny.en {w:.3}: {}",
        text(&r)
    );
}
