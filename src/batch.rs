//! A batch of recordings: find the inputs, transcribe them in parallel with progress bars,
//! reuse cached transcripts, write each file's outputs as soon as it is done, and report
//! failures by file without stopping the others.

use crate::audio::{self, DecodeOptions};
use crate::cache;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::models::{self, Resolved};
use crate::speakers::channels;
use crate::transcribe::{Engine, Progress, Settings};
use crate::transcript;
use crate::types::{Provenance, Transcript};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Options of a transcription batch.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Output folder; transcripts go to `<out>/transcripts/`.
    pub out: PathBuf,
    /// `--model NAME|PATH`.
    pub model: String,
    /// Files transcribed at once.
    pub jobs: usize,
    pub settings: Settings,
    /// Reuse and store transcripts in the cache.
    pub use_cache: bool,
    pub quiet: bool,
    /// Voices in a mono recording: `Some(n)` (1 = no diarization), or `None` to estimate.
    pub speakers: Option<usize>,
    /// `--redact`: transcripts are written with personal details replaced (the cache keeps
    /// them whole).
    pub redact: Option<std::sync::Arc<crate::redact::Redactor>>,
}

/// Sensible defaults for this machine: whisper.cpp scales well to 4 threads per file, so one
/// file at a time up to 4 cores, then more files at once.
pub fn default_jobs_threads(cores: usize) -> (usize, usize) {
    let jobs = (cores / 4).max(1);
    (jobs, (cores / jobs).max(1))
}

/// One input file and the id its outputs get.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    pub id: String,
}

/// A file that was transcribed (or found in the cache).
#[derive(Debug)]
pub struct Done {
    pub input: Input,
    pub transcript: Transcript,
    pub cached: bool,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

/// What a batch did: the transcripts, and the inputs that failed with why.
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<Done>,
    pub failed: Vec<(PathBuf, Error)>,
}

/// Expands files and folders into recordings (folders recursively, by extension), in a
/// stable order, with unique filesystem-safe ids. Problems are returned per path.
pub fn collect_audio(paths: &[PathBuf]) -> (Vec<Input>, Vec<(PathBuf, Error)>) {
    let mut files = Vec::new();
    let mut failed = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Err(e) => failed.push((
                p.clone(),
                Error::input_fix(p, format!("cannot open: {e}"), "check the path"),
            )),
            Ok(m) if m.is_dir() => {
                let before = files.len();
                walk(p, &mut files);
                if files.len() == before {
                    failed.push((
                        p.clone(),
                        Error::input_fix(
                            p,
                            "the folder has no audio files",
                            format!("sowhat reads {}", audio::AUDIO_EXTENSIONS.join(", ")),
                        ),
                    ));
                }
            }
            Ok(_) => files.push(p.clone()),
        }
    }
    files.sort();
    files.dedup();
    (assign_ids(files), failed)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut all = Vec::new();
    walk_files(dir, None, &mut all);
    out.extend(all.into_iter().filter(|p| audio::is_audio_path(p)));
}

/// Every file under `dir`, recursively and in name order, skipping hidden files and folders
/// and the folder `skip` (canonical path; e.g. the output folder inside the input folder).
pub fn walk_files(dir: &Path, skip: Option<&Path>, out: &mut Vec<PathBuf>) {
    if let (Some(s), Ok(d)) = (skip, std::fs::canonicalize(dir)) {
        if d == s {
            return;
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            // Hidden files, and the lock files Office keeps beside an open document.
            .map(|n| n.starts_with('.') || n.starts_with("~$"))
            .unwrap_or(false);
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk_files(&p, skip, out);
        } else {
            out.push(p);
        }
    }
}

/// Ids from file stems, made unique with `-2`, `-3`, … in input order.
pub fn assign_ids(files: Vec<PathBuf>) -> Vec<Input> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    files
        .into_iter()
        .map(|path| {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let base = fsutil::safe_id(&stem);
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let id = if *n == 1 { base } else { format!("{base}-{n}") };
            Input { path, id }
        })
        .collect()
}

/// Transcribes `inputs`, writing `<out>/transcripts/<id>.*` for each as soon as it is done.
/// Returns `Err` only when nothing can run at all (e.g. the model is missing).
pub fn transcribe_all(inputs: &[Input], opts: &BatchOptions) -> Result<Report> {
    let model = models::resolve_whisper(&opts.model)?;
    let vad = if opts.settings.vad {
        Some(models::resolve_vad()?)
    } else {
        None
    };
    let out_dir = opts.out.join("transcripts");
    fsutil::prepare_output_dir(&out_dir)?;
    // The model is loaded lazily: a rerun where every file is cached never loads it.
    let engine = std::sync::OnceLock::<std::result::Result<Engine, String>>::new();
    let mp = MultiProgress::with_draw_target(if opts.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .expect("thread pool");
    let results: Vec<(Input, Result<Done>)> = pool.install(|| {
        inputs
            .par_iter()
            .map(|input| {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    one_file(input, opts, &model, &vad, &engine, &out_dir, &mp)
                }))
                .unwrap_or_else(|p| {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown".into());
                    Err(Error::Transcribe {
                        path: input.path.clone(),
                        cause: format!("internal error ({msg}); please report it"),
                    })
                });
                match &r {
                    Ok(d) => {
                        for w in &d.warnings {
                            say(&mp, format!("! {}: {w}", input.path.display()));
                        }
                        if !opts.quiet {
                            say(&mp, done_line(d, &out_dir));
                        }
                    }
                    Err(e) => say(&mp, format!("✗ {e}")),
                }
                (input.clone(), r)
            })
            .collect()
    });
    let mut report = Report::default();
    for (input, r) in results {
        match r {
            Ok(d) => report.done.push(d),
            Err(e) => report.failed.push((input.path, e)),
        }
    }
    Ok(report)
}

/// Prints a line above the progress bars, or plainly when there are none (quiet, or not a
/// terminal).
fn say(mp: &MultiProgress, line: String) {
    if mp.is_hidden() {
        eprintln!("{line}");
    } else {
        let _ = mp.println(line);
    }
}

fn done_line(d: &Done, out_dir: &Path) -> String {
    let t = &d.transcript;
    let dur = t.duration.map(transcript::clock).unwrap_or_default();
    let lang = t.language.as_deref().unwrap_or("?");
    let how = if d.cached {
        "from cache".to_string()
    } else {
        let speed = t.duration.unwrap_or(0.0) / d.seconds.max(1e-3);
        format!("{:.1} s, {speed:.1}× real time", d.seconds)
    };
    format!(
        "✓ {} ({dur}, {lang}, {} segments) → {}.{{json,txt,srt,vtt}} ({how})",
        d.input.path.display(),
        t.segments.len(),
        out_dir.join(&t.id).display()
    )
}

/// Writes a finished transcript, redacted when asked.
fn write_transcript(t: &Transcript, opts: &BatchOptions, out_dir: &Path) -> Result<()> {
    match &opts.redact {
        Some(r) => {
            let shown = r.transcript(t, &mut crate::redact::Counts::default())?;
            transcript::write_all(&shown, out_dir)?
        }
        None => transcript::write_all(t, out_dir)?,
    };
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn one_file(
    input: &Input,
    opts: &BatchOptions,
    model: &Resolved,
    vad: &Option<Resolved>,
    engine: &std::sync::OnceLock<std::result::Result<Engine, String>>,
    out_dir: &Path,
    mp: &MultiProgress,
) -> Result<Done> {
    let started = Instant::now();
    let path = &input.path;
    let key = if opts.use_cache {
        let h = fsutil::sha256_file(path).map_err(|e| {
            Error::input_fix(
                path,
                format!("cannot read: {e}"),
                "check the path and its permissions",
            )
        })?;
        Some(cache::key(
            &h,
            &model.identity,
            &format!(
                "{};speakers={:?};diarizer={}",
                opts.settings.cache_identity(),
                opts.speakers,
                diarizer_identity(opts)
            ),
        ))
    } else {
        None
    };
    if let Some(t) = key.as_deref().and_then(cache::load) {
        let t = Transcript {
            source: path.display().to_string(),
            id: input.id.clone(),
            ..t
        };
        write_transcript(&t, opts, out_dir)?;
        return Ok(Done {
            input: input.clone(),
            transcript: t,
            cached: true,
            seconds: started.elapsed().as_secs_f64(),
            warnings: Vec::new(),
        });
    }

    let mut pcm = audio::decode(
        path,
        DecodeOptions {
            keep_channels: true,
        },
    )?;
    let duration = pcm.duration();
    let engine = engine
        .get_or_init(|| Engine::load(model.clone(), vad.clone()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::model(&model.name, e.clone(), "see the message above"))?;
    if let (Some(l), false) = (&opts.settings.language, engine.is_multilingual()) {
        if l != "en" {
            return Err(Error::model(
                &model.name,
                format!("is English-only and cannot transcribe language '{l}'"),
                "use a multilingual model such as base",
            ));
        }
    }

    let bar = mp.add(ProgressBar::new((duration * 10.0).ceil() as u64));
    bar.set_style(
        ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {msg} · ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(short_name(path));
    let total = transcript::clock(duration);
    bar.set_message(format!("00:00:00 / {total}"));
    let b = bar.clone();
    let progress: Progress = Arc::new(move |t: f64| {
        b.set_position((t * 10.0) as u64);
        b.set_message(format!("{} / {total}", transcript::clock(t)));
    });
    // Keep only the audio the chosen path needs: the channels, or the mono mix.
    let layout = channels::analyse(&pcm.channels);
    let mut diarize_note: Option<String> = None;
    let rec = if layout.separate {
        pcm.samples = Vec::new();
        transcribe_channels(engine, path, &pcm.channels, &opts.settings, progress)
    } else {
        pcm.channels = Vec::new();
        engine
            .transcribe(path, &pcm.samples, &opts.settings, progress)
            .and_then(|mut rec| {
                rec.segments = diarize_mono(path, &pcm.samples, &rec, opts, &mut diarize_note)?;
                Ok(rec)
            })
    };
    drop(pcm.samples);
    drop(pcm.channels);
    bar.finish_and_clear();
    mp.remove(&bar);
    let rec = rec?;

    let elapsed = started.elapsed().as_secs_f64();
    let mut t = Transcript::new(path.display().to_string(), input.id.clone());
    t.language = rec.language;
    t.duration = Some((duration * 1000.0).round() / 1000.0);
    t.provenance = Some(Provenance {
        tool: format!("sowhat {}", env!("CARGO_PKG_VERSION")),
        model: model.name.clone(),
        vad: opts.settings.vad,
        language_setting: opts
            .settings
            .language
            .clone()
            .unwrap_or_else(|| "auto".into()),
        language_probability: rec
            .language_probability
            .map(|p| (p * 1000.0).round() / 1000.0),
        speech_seconds: Some((rec.speech_seconds * 1000.0).round() / 1000.0),
        channels_separate: layout.separate,
        elapsed_seconds: Some((elapsed * 100.0).round() / 100.0),
    });
    t.segments = rec.segments;

    let mut warnings = pcm.warnings;
    warnings.extend(diarize_note);
    if layout.separate {
        warnings.push(format!(
            "stereo with one speaker per channel (median channel gap {} dB): each channel was transcribed on its own",
            layout.median_gap_db
        ));
    }
    if let Some(k) = &key {
        if let Err(e) = cache::store(k, &t) {
            warnings.push(format!(
                "the transcript could not be cached ({e}); a rerun will redo it"
            ));
        }
    }
    if t.segments.is_empty() {
        warnings.push("no speech was found: the transcript is empty".into());
    }
    write_transcript(&t, opts, out_dir)?;
    Ok(Done {
        input: input.clone(),
        transcript: t,
        cached: false,
        seconds: elapsed,
        warnings,
    })
}

/// Stereo with one person per channel: each channel's speech is found and transcribed on its
/// own (so overlapping speech is kept), leakage from the other microphone is gated out, and
/// the segments are merged in time order with the channel as speaker label.
fn transcribe_channels(
    engine: &Engine,
    path: &Path,
    chans: &[Vec<i16>],
    settings: &crate::transcribe::Settings,
    progress: Progress,
) -> Result<crate::transcribe::Recognised> {
    let n = chans.len() as f64;
    let dur = chans.first().map(|c| c.len()).unwrap_or(0) as f64 / audio::SAMPLE_RATE as f64;
    let mut all = crate::transcribe::Recognised::default();
    let mut best_speech = -1.0;
    for i in 0..chans.len() {
        let ch = channels::gated(chans, i);
        let p = progress.clone();
        let part: Progress = Arc::new(move |t: f64| p((i as f64 * dur + t) / n));
        let rec = engine.transcribe(path, &ch, settings, part)?;
        if rec.speech_seconds > best_speech {
            best_speech = rec.speech_seconds;
            all.language = rec.language.clone();
            all.language_probability = rec.language_probability;
        }
        all.speech_seconds += rec.speech_seconds;
        let label = crate::types::Speaker::Label(format!("Channel {}", i + 1));
        all.segments.extend(rec.segments.into_iter().map(|mut s| {
            s.speaker = Some(label.clone());
            s
        }));
    }
    all.segments
        .sort_by(|a, b| a.start.unwrap_or(0.0).total_cmp(&b.start.unwrap_or(0.0)));
    Ok(all)
}

fn short_name(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if n.chars().count() > 24 {
        let s: String = n.chars().take(23).collect();
        format!("{s}…")
    } else {
        format!("{n:<24}")
    }
}

/// The CAM++ model, loaded once per process, when it is in the cache.
fn speaker_model(
) -> Option<&'static std::result::Result<crate::speakers::campplus::CamPlus, String>> {
    static M: std::sync::OnceLock<
        Option<std::result::Result<crate::speakers::campplus::CamPlus, String>>,
    > = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let p = models::resolve_named(models::SPEAKER_MODEL).ok()?;
        Some(crate::speakers::campplus::CamPlus::load(&p).map_err(|e| e.to_string()))
    })
    .as_ref()
}

/// What makes diarization distinct for the cache key: off, or the model's hash.
fn diarizer_identity(opts: &BatchOptions) -> String {
    if opts.speakers == Some(1) {
        return "off".into();
    }
    match models::spec(models::SPEAKER_MODEL) {
        // Bump the suffix when diarization changes, so cached transcripts are redone.
        Some(s) if s.is_present() => format!("{}-v2", &s.sha256[..12]),
        _ => "missing".into(),
    }
}

/// Tells the voices of a mono recording apart (CAM++ over the VAD's speech) and labels the
/// segments "Speaker 1", "Speaker 2", … — splitting a segment where the speaker changes.
fn diarize_mono(
    path: &Path,
    samples: &[f32],
    rec: &crate::transcribe::Recognised,
    opts: &BatchOptions,
    note: &mut Option<String>,
) -> Result<Vec<crate::types::Segment>> {
    if opts.speakers == Some(1) || rec.segments.is_empty() {
        return Ok(rec.segments.clone());
    }
    let model = match speaker_model() {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            return Err(Error::model(
                models::SPEAKER_MODEL,
                e.clone(),
                "run `sowhat models fetch --force campplus`",
            ))
        }
        None => {
            *note = Some(
                "speakers were not told apart: the CAM++ model is not in the cache (run `sowhat models fetch campplus`), so the interviewer may be quoted as a participant".into(),
            );
            return Ok(rec.segments.clone());
        }
    };
    let sr = audio::SAMPLE_RATE as f64;
    let speech: Vec<(f64, f64)> = rec
        .speech
        .iter()
        .map(|s| (s.start as f64 / sr, s.end as f64 / sr))
        .collect();
    let turns =
        crate::speakers::diarize::diarize(samples, &speech, model, opts.speakers).map_err(|e| {
            Error::Transcribe {
                path: path.to_path_buf(),
                cause: format!("speaker diarization failed: {e}"),
            }
        })?;
    Ok(crate::speakers::label_segments(
        rec.segments.clone(),
        &turns,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_stable() {
        let ids: Vec<String> = assign_ids(vec![
            "a/Interview 1.m4a".into(),
            "b/interview-1.wav".into(),
            "c/p2.mp3".into(),
        ])
        .into_iter()
        .map(|i| i.id)
        .collect();
        assert_eq!(ids, vec!["interview-1", "interview-1-2", "p2"]);
    }

    #[test]
    fn folders_are_walked_and_empty_ones_reported() {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("recs");
        std::fs::create_dir_all(rec.join("sub")).unwrap();
        std::fs::write(rec.join("b.wav"), b"x").unwrap();
        std::fs::write(rec.join("sub/a.MP3"), b"x").unwrap();
        std::fs::write(rec.join("notes.docx"), b"x").unwrap();
        std::fs::write(rec.join(".hidden.wav"), b"x").unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let (inputs, failed) =
            collect_audio(&[rec.clone(), empty.clone(), dir.path().join("nope.wav")]);
        let names: Vec<_> = inputs.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(names, vec!["b", "a"]);
        assert_eq!(failed.len(), 2);
        assert!(failed[0].1.to_string().contains("no audio files"));
        assert!(failed[1].1.to_string().contains("nope.wav"));
    }

    #[test]
    fn defaults_fit_the_machine() {
        assert_eq!(default_jobs_threads(2), (1, 2));
        assert_eq!(default_jobs_threads(8), (2, 4));
        assert_eq!(default_jobs_threads(1), (1, 1));
    }
}
