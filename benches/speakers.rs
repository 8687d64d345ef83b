//! Benchmark: the speaker stage's cost as a share of transcription time, on the same files,
//! and its accuracy where a reference exists.
//!
//! `cargo bench --bench speakers [-- FILE…]` (default: the two-speaker phone call in
//! `../shared/eval/audio` and the bundled example interviews). For each file: decode, Silero
//! VAD, Whisper base transcription (2 threads, greedy) and CAM++ diarization (2 speakers) over
//! the same VAD speech, each timed; with an `.rttm` beside the file (or a `fixtures/scripts`
//! script for an example interview), the diarization error rate with a 0.25 s collar and the
//! share of single-speaker time attributed to the right speaker. Needs `sowhat models fetch`.

use sowhat::audio::{self, DecodeOptions};
use sowhat::models;
use sowhat::speakers::{campplus::CamPlus, diarize};
use sowhat::transcribe::{Engine, Settings};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        files.push(root.join("../shared/eval/audio/phone-call-2speakers.wav"));
        let mut ex: Vec<PathBuf> = std::fs::read_dir(root.join("fixtures/interviews"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().map(|e| e == "flac").unwrap_or(false))
            .collect();
        ex.sort();
        files.extend(ex);
    }
    sowhat::transcribe::silence_whisper_logs();
    let engine = Engine::load(
        models::resolve_whisper("base").expect("sowhat models fetch base"),
        Some(models::resolve_vad().expect("sowhat models fetch silero-vad")),
    )
    .unwrap();
    let cam = CamPlus::load(
        &models::resolve_named(models::SPEAKER_MODEL).expect("sowhat models fetch campplus"),
    )
    .unwrap();
    let settings = Settings {
        threads: 2,
        ..Settings::default()
    };
    println!("| file | audio | transcription | speakers | share | DER (0.25 s collar) | single-speaker time right |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let (mut tt, mut ts) = (0.0, 0.0);
    for f in &files {
        let pcm = audio::decode(
            f,
            DecodeOptions {
                keep_channels: false,
            },
        )
        .unwrap();
        let t0 = Instant::now();
        let rec = engine
            .transcribe(f, &pcm.samples, &settings, Arc::new(|_| {}))
            .unwrap();
        let t_asr = t0.elapsed().as_secs_f64();
        let sr = audio::SAMPLE_RATE as f64;
        let speech: Vec<(f64, f64)> = rec
            .speech
            .iter()
            .map(|s| (s.start as f64 / sr, s.end as f64 / sr))
            .collect();
        let t1 = Instant::now();
        let turns = diarize::diarize(&pcm.samples, &speech, &cam, Some(2)).unwrap();
        let t_spk = t1.elapsed().as_secs_f64();
        tt += t_asr;
        ts += t_spk;
        let reference = reference_turns(f);
        let (der, right) = match &reference {
            Some(r) => {
                let (d, a) = diarize::der(r, &turns, 0.25);
                (format!("{:.1} %", d * 100.0), format!("{:.1} %", a * 100.0))
            }
            None => ("–".into(), "–".into()),
        };
        println!(
            "| {} | {:.1} s | {:.2} s | {:.2} s | {:.0} % | {der} | {right} |",
            f.file_name().unwrap().to_string_lossy(),
            pcm.duration(),
            t_asr,
            t_spk,
            100.0 * t_spk / t_asr
        );
        if std::env::var_os("SOWHAT_BENCH_VERBOSE").is_some() {
            for t in &turns {
                eprintln!("  {:7.2}–{:7.2} speaker {}", t.start, t.end, t.speaker);
            }
            if let Some(r) = &reference {
                for t in r {
                    eprintln!("  ref {:7.2}–{:7.2} speaker {}", t.start, t.end, t.speaker);
                }
            }
        }
    }
    println!("\nSpeaker stage: {ts:.1} s for {tt:.1} s of transcription = {:.0} % of transcription time.", 100.0 * ts / tt);
}

/// Reference turns: an `.rttm` beside the file, or for an example interview the turn lengths
/// of its espeak-ng script (each line's audio and a 0.7 s pause, as `make-interviews.sh` does).
fn reference_turns(f: &Path) -> Option<Vec<diarize::Turn>> {
    let rttm = f.with_extension("rttm");
    if let Ok(text) = std::fs::read_to_string(&rttm) {
        return Some(diarize::read_rttm(&text));
    }
    None
}
