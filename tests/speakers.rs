//! Who is speaking: CAM++ diarization against human speaker turns, and the interviewer found
//! without labels in a synthesised two-voice interview.

mod common;

use common::{eval_audio, fixture, sowhat, stderr};
use sowhat::audio::{self, DecodeOptions};
use sowhat::models;
use sowhat::speakers::{campplus::CamPlus, diarize};
use sowhat::vad::{self, VadSettings};
use std::sync::OnceLock;

/// Silero VAD + CAM++ diarization of a recording, as `sowhat run` does for a mono file.
fn diarize_file(audio_path: &std::path::Path, speakers: Option<usize>) -> Vec<diarize::Turn> {
    let pcm = audio::decode(
        audio_path,
        DecodeOptions {
            keep_channels: false,
        },
    )
    .unwrap();
    let vad_model = models::resolve_vad().expect("scripts/test.sh fetches silero-vad");
    let spans = vad::detect(&vad_model.path, &pcm.samples, 1, VadSettings::default()).unwrap();
    let sr = audio::SAMPLE_RATE as f64;
    let speech: Vec<(f64, f64)> = spans
        .iter()
        .map(|s| (s.start as f64 / sr, s.end as f64 / sr))
        .collect();
    diarize::diarize(&pcm.samples, &speech, cam(), speakers).unwrap()
}

/// CAM++, loaded once per test binary.
fn cam() -> &'static CamPlus {
    static M: OnceLock<CamPlus> = OnceLock::new();
    M.get_or_init(|| {
        CamPlus::load(&models::resolve_named("campplus").expect("scripts/test.sh fetches campplus"))
            .unwrap()
    })
}

fn diarization_error(wav: &std::path::Path, rttm: &std::path::Path) -> (f64, f64) {
    let turns = diarize_file(wav, Some(2));
    let reference = diarize::read_rttm(&std::fs::read_to_string(rttm).unwrap());
    diarize::der(&reference, &turns, 0.25)
}

/// How many speakers `--speakers auto` finds (turns are numbered 0.. by first appearance).
fn speakers_estimated(audio_path: &std::path::Path) -> usize {
    let turns = diarize_file(audio_path, None);
    turns.iter().map(|t| t.speaker + 1).max().unwrap_or(0)
}

/// `sowhat run` on one example interview with tiny.en and keywords only; returns the temporary
/// folder (kept alive) and the output folder.
fn run_tiny(id: &str, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = fixture(&format!("interviews/{id}.flac"));
    let mut args = vec![
        "run",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--model",
        "tiny.en",
        "--threads",
        "1",
        "--keywords-only",
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = sowhat(&args, &dir.path().join("c"));
    assert!(o.status.success(), "{}", stderr(&o));
    (dir, out)
}

#[test]
fn phone_call_diarization_matches_the_human_turns() {
    // Measured: DER 3.7 % (0.25 s collar), 97.1 % of single-speaker time right.
    let (der, right) = diarization_error(
        &eval_audio("phone-call-2speakers.wav"),
        &eval_audio("phone-call-2speakers.rttm"),
    );
    assert!(der <= 0.08, "DER {der:.3}");
    assert!(right >= 0.92, "single-speaker time right {right:.3}");
}

#[test]
fn synthetic_interviews_are_diarized() {
    // Measured: 0.0–0.1 % on every example interview (espeak-ng voices).
    for id in ["p02-ben", "p04-dan"] {
        let (der, right) = diarization_error(
            &fixture(&format!("interviews/{id}.flac")),
            &fixture(&format!("interviews/{id}.rttm")),
        );
        assert!(
            der <= 0.05 && right >= 0.95,
            "{id}: DER {der:.3}, right {right:.3}"
        );
    }
}

#[test]
fn the_interviewer_is_found_without_labels_and_never_quoted() {
    // Two male espeak-ng voices, no labels: diarization tells them apart, the roles stage
    // finds the interviewer from who asks and who starts.
    let (_dir, out) = run_tiny("p04-dan", &[]);
    let txt = std::fs::read_to_string(out.join("transcripts/p04-dan.txt")).unwrap();
    let script = std::fs::read_to_string(fixture("scripts/p04-dan.txt")).unwrap();
    let questions: Vec<&str> = script
        .lines()
        .filter_map(|l| l.strip_prefix("Interviewer: "))
        .collect();
    let interviewer_lines: Vec<&str> = txt
        .lines()
        .filter(|l| l.contains("] Interviewer: "))
        .collect();
    assert!(interviewer_lines.len() >= 3, "{txt}");
    for l in &interviewer_lines {
        assert!(
            l.trim_end().ends_with('?'),
            "not a question, yet the interviewer's: {l}\n{txt}"
        );
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("insights.json")).unwrap()).unwrap();
    assert_eq!(v["participants"][0]["id"], "p04-dan");
    for m in v["mentions"].as_array().unwrap() {
        let text = m["text"].as_str().unwrap();
        assert!(
            !text.ends_with('?'),
            "a question was quoted as the participant's: {text}"
        );
        assert!(
            !questions.iter().any(|q| q.contains(text)),
            "interviewer quoted: {text}"
        );
    }
}

#[test]
fn interviewer_speaker_flag_overrides_the_evidence() {
    let (_dir, out) = run_tiny("p02-ben", &["--interviewer-speaker", "2"]);
    // Speaker 1 (who asks) is now the participant: the flag wins over the evidence.
    let txt = std::fs::read_to_string(out.join("transcripts/p02-ben.txt")).unwrap();
    let first = txt.lines().next().unwrap();
    assert!(first.contains("] p02-ben: "), "{txt}");
    assert!(
        txt.lines()
            .any(|l| l.contains("] Interviewer: ") && !l.trim_end().ends_with('?')),
        "{txt}"
    );
}

#[test]
fn auto_speaker_count_two_voices_or_one() {
    // `--speakers auto`: two speakers in the phone call and in example interviews with a
    // female and a male voice, one in JFK's speech. Top linkage distances measured against
    // the 0.66 threshold: p01 0.69, p05 0.73, phone call 0.68, jfk 0.57 (also p03 0.69,
    // en-complaint 0.49; not run, for time). Not asserted: p02 (0.64) and p04 (0.46), two
    // male espeak-ng voices, come out as one speaker; 0.64 is also measured inside one
    // phone-call speaker, so no single threshold separates them. Pass `--speakers 2` there.
    for id in ["p01-anna", "p05-eva"] {
        let n = speakers_estimated(&fixture(&format!("interviews/{id}.flac")));
        assert_eq!(n, 2, "{id}");
    }
    assert_eq!(
        speakers_estimated(&eval_audio("phone-call-2speakers.wav")),
        2
    );
    assert_eq!(speakers_estimated(&eval_audio("jfk.flac")), 1);
}

#[test]
fn auto_speakers_never_quotes_the_interviewer() {
    // The whole pipeline with the estimated count: the interviewer is still found and only
    // the participant is quoted.
    let (_dir, out) = run_tiny("p05-eva", &["--speakers", "auto"]);
    let txt = std::fs::read_to_string(out.join("transcripts/p05-eva.txt")).unwrap();
    assert!(!txt.contains("Speaker 3"), "{txt}");
    let script = std::fs::read_to_string(fixture("scripts/p05-eva.txt")).unwrap();
    let questions: Vec<&str> = script
        .lines()
        .filter_map(|l| l.strip_prefix("Interviewer: "))
        .collect();
    assert!(
        txt.lines()
            .filter(|l| l.contains("] Interviewer: "))
            .count()
            >= 3,
        "{txt}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("insights.json")).unwrap()).unwrap();
    for m in v["mentions"].as_array().unwrap() {
        let text = m["text"].as_str().unwrap();
        assert!(
            !questions.iter().any(|q| q.contains(text)),
            "interviewer quoted: {text}"
        );
    }
}
