//! Nothing leaked, nothing lost: `--redact` over every output, the pipeline with the network
//! switched off, and full or read-only output folders.
//!
//! The offline and output-folder tests run sowhat inside Linux namespaces (`unshare`, as root,
//! as on CI): a network namespace with no interfaces, and private tmpfs mounts (read-only, or
//! a few kilobytes) that vanish with the process.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every file under `dir` as text; a `.qdpx` is unzipped and each entry read.
fn all_outputs(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "qdpx") {
                let bytes = std::fs::read(&p).unwrap();
                let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
                for i in 0..zip.len() {
                    let mut f = zip.by_index(i).unwrap();
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(&mut f, &mut b).unwrap();
                    out.push((p.join(f.name()), String::from_utf8_lossy(&b).into_owned()));
                }
            } else {
                let b = std::fs::read(&p).unwrap();
                out.push((p, String::from_utf8_lossy(&b).into_owned()));
            }
        }
    }
    out
}

/// Three typed interviews full of personal details, a participants.csv with their names, and
/// a list with one more name (the interviewer's).
fn interviews_with_personal_details(dir: &Path) -> PathBuf {
    let inp = dir.join("interviews");
    std::fs::create_dir_all(&inp).unwrap();
    std::fs::write(
        inp.join("ruta.txt"),
        "Interviewer: Thanks for joining, Rūta. I'm Mantas. How was the delivery?\n\
         Rūta: The delivery was late again and I was really frustrated, it took nine days. \
         Call me on +370 612 34567 or write to ruta.k@example.lt if you need more.\n\
         Interviewer: And billing?\n\
         Rūta: I was charged twice on my card 4111 1111 1111 1111 and support never answered. \
         My account is LT12 1000 0111 0100 1000, Kazlauskienė on the statement.\n",
    )
    .unwrap();
    std::fs::write(
        inp.join("jonas.txt"),
        "Interviewer: Hello Jonas. Tell me about support.\n\
         Jonas: Support was slow, I waited an hour on the phone and nobody helped. \
         My e-mail is jonas at gmail dot com, my number is 555-123-4567.\n\
         Interviewer: Anything else?\n\
         Jonas: I told Mantui that the delivery was late too, Petraitis is my surname by the way.\n",
    )
    .unwrap();
    std::fs::write(
        inp.join("ewa.txt"),
        "Interviewer: Dzień dobry, Ewo.\n\
         Ewa: The delivery was late and the courier lost my parcel, I was frustrated. \
         Write to ewa.nowak@example.pl or call (22) 123 45 67.\n\
         Interviewer: Billing?\n\
         Ewa: Support never answered my billing question, I was charged twice.\n",
    )
    .unwrap();
    std::fs::write(
        inp.join("participants.csv"),
        "file,name,plan\nruta.txt,Rūta Kazlauskienė,pro\njonas.txt,Jonas Petraitis,free\newa.txt,Ewa Nowak,pro\n",
    )
    .unwrap();
    std::fs::write(dir.join("names.txt"), "# the interviewer\nMantas\n").unwrap();
    inp
}

/// The personal details of [`interviews_with_personal_details`], in any form they could take.
const LEAKS: &str = r"(?i)\b(r[uū]ta|kazlauskien\w*|jon(as|o|ui)|petraitis|ew[aąęo]|nowak|mant(as|ui|o)|ruta\.k@example\.lt|ewa\.nowak@example\.pl|gmail|4111|LT12|612 34567|555-123-4567|123 45 67)\b";

#[test]
fn redact_removes_personal_details_from_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let inp = interviews_with_personal_details(dir.path());
    let leak = regex::Regex::new(LEAKS).unwrap();
    let run = |out: &Path, redact: bool| {
        let mut args = vec![
            "analyze",
            inp.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ];
        let names = dir.path().join("names.txt");
        if redact {
            args.extend(["--redact-names", names.to_str().unwrap()]);
        }
        let o = sowhat(&args, &dir.path().join("cache"));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        o
    };

    // Without --redact the details reach the outputs: the test below has teeth.
    let plain = dir.path().join("plain");
    run(&plain, false);
    let insights = std::fs::read_to_string(plain.join("insights.json")).unwrap();
    assert!(leak.is_match(&insights));

    let out = dir.path().join("redacted");
    let o = run(&out, true);
    assert!(
        stderr(&o).contains("Redacted for sharing"),
        "{}",
        stderr(&o)
    );
    let files = all_outputs(&out);
    assert!(files.len() >= 5 + 3 * 4, "{} files", files.len());
    for (p, text) in &files {
        if let Some(m) = leak.find(text) {
            panic!("{} still contains {:?}", p.display(), m.as_str());
        }
        assert!(
            !p.to_string_lossy().to_lowercase().contains("ruta"),
            "a file is named after a participant: {}",
            p.display()
        );
    }
    // What was said is still there, with labels where the details were, and the analysis
    // is the same analysis.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("insights.json")).unwrap()).unwrap();
    let said: String = v["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string() + "\n")
        .collect();
    for label in [
        "[email]",
        "[phone]",
        "[card number]",
        "[account number]",
        "[name]",
    ] {
        let everywhere: String = files.iter().map(|(_, t)| t.as_str()).collect();
        assert!(everywhere.contains(label), "no {label} anywhere");
    }
    assert!(said.contains("delivery was late"), "{said}");
    let p: serde_json::Value = serde_json::from_str(&insights).unwrap();
    assert_eq!(
        v["mentions"].as_array().unwrap().len(),
        p["mentions"].as_array().unwrap().len()
    );
    let ids = participant_ids(&v);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "participants kept apart: {ids:?}");
    // Quotes are still verbatim: in the (redacted) transcripts written beside the brief.
    let transcripts: String = files
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|x| x == "txt"))
        .map(|(_, t)| t.replace('\n', " "))
        .collect();
    for s in v["stories"].as_array().unwrap() {
        for q in s["quotes"].as_array().unwrap() {
            let q = q["text"].as_str().unwrap();
            assert!(transcripts.contains(q), "quote not in the transcripts: {q}");
        }
    }
    let brief = std::fs::read_to_string(out.join("brief.md")).unwrap();
    assert!(brief.contains("Redacted for sharing"));
}

/// Runs `script` with `bash -c` in new namespaces (`unshare FLAGS`); the script gets `$SOWHAT`.
fn in_namespace(flags: &[&str], script: &str, cache: &Path) -> Output {
    let o = Command::new("unshare")
        .args(flags)
        .args(["bash", "-c", script])
        .env("SOWHAT", env!("CARGO_BIN_EXE_sowhat"))
        .env("SOWHAT_CACHE", cache)
        .output()
        .expect("unshare (util-linux) runs the namespace tests; install util-linux");
    let err = stderr(&o);
    assert!(
        !err.contains("unshare failed") && !err.contains("Operation not permitted"),
        "these tests need root (they make namespaces): {err}"
    );
    o
}

#[test]
fn the_whole_pipeline_runs_with_the_network_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let recording = fixture("interviews/p01-anna.flac");
    let script = format!(
        // Proof that there is no network in here, then the whole job: Whisper, VAD, CAM++
        // speakers, e5 themes, the brief.
        "if (exec 3<>/dev/tcp/1.1.1.1/443) 2>/dev/null; then echo NETWORK-UP; exit 99; fi; \
         \"$SOWHAT\" run '{}' -o '{}' --model tiny.en --threads 1 --quiet",
        recording.display(),
        out.display()
    );
    let o = in_namespace(&["--net"], &script, &dir.path().join("cache"));
    let err = stderr(&o);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("NETWORK-UP"));
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("insights.json")).unwrap()).unwrap();
    assert!(!v["mentions"].as_array().unwrap().is_empty());
    assert!(out.join("brief.html").is_file());
}

/// `sowhat analyze` of the serdif-dev transcripts into `out`, mounted inside a private mount
/// namespace with `mount_opts`; afterwards the folder's content is copied to `keep`.
fn analyze_into_mount(mount_opts: &str, dir: &Path) -> (Output, PathBuf) {
    let serdif =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/serdif-dev/transcripts");
    let out = dir.join("out");
    let keep = dir.join("keep");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&keep).unwrap();
    let script = format!(
        "mount -t tmpfs -o {mount_opts} tmpfs '{out}' || exit 98; \
         \"$SOWHAT\" analyze '{serdif}' -o '{out}' --keywords-only --quiet; rc=$?; \
         cp -a '{out}/.' '{keep}/'; exit $rc",
        out = out.display(),
        keep = keep.display(),
        serdif = serdif.display()
    );
    (
        in_namespace(&["--mount"], &script, &dir.join("cache")),
        keep,
    )
}

#[test]
fn a_read_only_output_folder_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (o, _) = analyze_into_mount("ro,size=1m", dir.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write"), "{err}");
    assert!(
        err.contains("choose a writable output folder with -o"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_full_disk_gets_a_clear_error_and_leaves_no_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    // Room for the transcripts (≈ 600 KB) and the briefs (≈ 40 KB), not for insights.json
    // (≈ 230 KB), which is written first.
    let (o, keep) = analyze_into_mount("size=700k", dir.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("the disk is full"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Whatever was written is whole: no temporary files, every JSON parses.
    let files = all_outputs(&keep);
    assert!(!files.is_empty(), "nothing fitted: make the mount larger");
    // A report that did not fit does not stop the smaller ones after it.
    assert!(err.contains("insights.json"), "{err}");
    assert!(
        keep.join("brief.md").exists() && keep.join("brief.html").exists(),
        "{err}"
    );
    for (p, text) in &files {
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(
            !name.starts_with(".sowhat-tmp-"),
            "{} left behind",
            p.display()
        );
        if name.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(text)
                .unwrap_or_else(|e| panic!("{} is half-written: {e}", p.display()));
        }
    }
}

#[test]
fn a_folder_of_200_short_recordings_works() {
    // 200 short files: 40 cuts of 1–2.5 s from an example interview (the shortest exactly one
    // second) and 160 one-second clips of faint noise, which VAD skips. Each file goes through
    // the whole batch (decode, VAD, cache, outputs); the speech ones through Whisper too.
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("many");
    std::fs::create_dir(&inp).unwrap();
    let pcm = sowhat::audio::decode(
        &fixture("interviews/p01-anna.flac"),
        sowhat::audio::DecodeOptions {
            keep_channels: false,
        },
    )
    .unwrap();
    let rate = 16_000usize;
    let mut noise = 12345u32;
    for i in 0..200 {
        let samples: Vec<f32> = if i % 5 == 0 {
            let len = rate + (i * 7919 % 16) * rate / 10;
            let start = (i * 3 * rate / 2) % (pcm.samples.len() - len);
            pcm.samples[start..start + len].to_vec()
        } else {
            (0..rate)
                .map(|_| {
                    noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    ((noise >> 16) as f32 / 32768.0 - 1.0) * 0.002
                })
                .collect()
        };
        sowhat::audio::write_wav_16k(&inp.join(format!("clip-{i:03}.wav")), &samples).unwrap();
    }
    let out = dir.path().join("out");
    let transcribe = |extra: &[&str]| {
        let mut args = vec![
            "transcribe",
            inp.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--model",
            "tiny.en",
            "--speakers",
            "1",
        ];
        args.extend_from_slice(extra);
        sowhat(&args, &dir.path().join("cache"))
    };
    let o = transcribe(&["--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("200 of 200 recordings transcribed"), "{err}");
    let read = |i: usize| -> sowhat::types::Transcript {
        serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("transcripts/clip-{i:03}.json"))).unwrap(),
        )
        .unwrap()
    };
    let with_words = (0..200)
        .filter(|i| !read(*i).plain_text().trim().is_empty())
        .count();
    let speech_with_words = (0..200)
        .step_by(5)
        .filter(|i| !read(*i).plain_text().trim().is_empty())
        .count();
    assert!(
        speech_with_words >= 30,
        "{speech_with_words} of 40 speech clips have words"
    );
    assert_eq!(with_words, speech_with_words, "words in noise");
    // A rerun finds all 200 in the cache.
    let o = transcribe(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
