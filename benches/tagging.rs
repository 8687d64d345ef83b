//! Benchmark: multilingual-e5 throughput on real interview sentences (target ≥ 90 sentences/s
//! on 2 cores), and the cached rerun.
//!
//! `cargo bench --bench tagging`: the participant sentences of the nine serdif-dev sessions
//! (`../shared/eval/serdif-dev/transcripts`), embedded once without the cache (the model's
//! own speed), then through the embedding cache three times (first fill, a rerun in the same
//! process, a rerun reading the cache file afresh). Tagging quality is `sowhat eval`
//! (BENCHMARKS.md has the command). Needs `sowhat models fetch`.

use std::path::Path;
use std::time::Instant;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/serdif-dev/transcripts");
    let mut sentences: Vec<String> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .expect("../shared/eval/serdif-dev beside the repository")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            if let Some(t) = line.strip_prefix("Participant:") {
                for r in sowhat::sentences::split(t) {
                    sentences.push(t[r].to_string());
                }
            }
        }
    }
    let refs: Vec<&str> = sentences.iter().map(|s| s.as_str()).collect();
    let t = Instant::now();
    let e = sowhat::analyze::load_embedder().expect("sowhat models fetch e5-small e5-tokenizer");
    println!("model load: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let v = e.embed(&refs).unwrap();
    let s = t.elapsed().as_secs_f64();
    let words: usize = sentences.iter().map(|s| s.split_whitespace().count()).sum();
    println!(
        "e5 (no cache): {} sentences ({:.1} words on average) in {s:.1} s = {:.0} sentences/s",
        v.len(),
        words as f64 / v.len() as f64,
        v.len() as f64 / s
    );
    let cache = tempfile::tempdir().unwrap();
    std::env::set_var("SOWHAT_CACHE", cache.path());
    // The third run reads the cache file afresh, as a new `sowhat` process would.
    let copy = tempfile::tempdir().unwrap();
    for run in [
        "first run (fills the cache)",
        "rerun, same process (in memory)",
        "rerun, cache file read afresh",
    ] {
        if run.contains("afresh") {
            for f in std::fs::read_dir(cache.path()).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, copy.path().join(f.file_name().unwrap())).unwrap();
            }
            std::env::set_var("SOWHAT_CACHE", copy.path());
        }
        let t = Instant::now();
        sowhat::tag::cached_embed(&e, &refs).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!("{run}: {s:.2} s = {:.0} sentences/s", v.len() as f64 / s);
    }
}
