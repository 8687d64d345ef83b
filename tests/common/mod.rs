//! Shared helpers of the integration tests: paths to the evaluation material and the models.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use sowhat::models;
use sowhat::transcribe::Engine;

/// `../shared/eval/audio/<name>`.
pub fn eval_audio(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/eval/audio")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: the tests need ../shared/eval beside the repository",
        p.display()
    );
    p
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// The reference text of an eval clip, from REFERENCES.tsv.
pub fn reference(name: &str) -> String {
    let tsv = std::fs::read_to_string(eval_audio("REFERENCES.tsv")).unwrap();
    tsv.lines()
        .find(|l| l.split('\t').next() == Some(name))
        .and_then(|l| l.split('\t').nth(4))
        .unwrap_or_else(|| panic!("{name} not in REFERENCES.tsv"))
        .to_string()
}

fn load(model: &str) -> Engine {
    let m = models::resolve_whisper(model)
        .unwrap_or_else(|e| panic!("{e}\n(scripts/test.sh fetches the models before the tests)"));
    let v = models::resolve_vad()
        .unwrap_or_else(|e| panic!("{e}\n(scripts/test.sh fetches the models before the tests)"));
    Engine::load(m, Some(v)).unwrap()
}

/// Whisper base, loaded once per test binary.
pub fn base() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| load("base"))
}

/// Whisper tiny.en, loaded once per test binary.
pub fn tiny_en() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| load("tiny.en"))
}

/// Runs the `sowhat` binary with a private transcript cache and one whisper.cpp thread (tests
/// run in parallel; more spinning ggml threads than cores slow everything to a crawl).
pub fn sowhat(args: &[&str], cache: &Path) -> Output {
    let threads: &[&str] = if args.first() == Some(&"transcribe") && !args.contains(&"--threads") {
        &["--threads", "1"]
    } else {
        &[]
    };
    Command::new(env!("CARGO_BIN_EXE_sowhat"))
        .args(args)
        .args(threads)
        .env("SOWHAT_CACHE", cache)
        .output()
        .expect("runs sowhat")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `sowhat transcribe INPUT -o DIR/out EXTRA…` with the cache in `DIR/c`; returns the output
/// and the output folder.
pub fn transcribe_one(input: &Path, dir: &Path, extra: &[&str]) -> (Output, std::path::PathBuf) {
    let out = dir.join("out");
    let mut args = vec![
        "transcribe",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (sowhat(&args, &dir.join("c")), out)
}

/// The participant ids of an `insights.json`, in order.
pub fn participant_ids(insights: &serde_json::Value) -> Vec<&str> {
    insights["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p["id"].as_str().expect("participant id"))
        .collect()
}
