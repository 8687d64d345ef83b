//! What each command does, given parsed arguments; returns the process exit code.

use crate::analyze::{self, ParticipantRow, Prepared};
use crate::batch::{self, BatchOptions};
use crate::cli::{
    AnalysisFlags, AnalyzeArgs, CacheCommand, Cli, CodebookCommand, Command, ModelsCommand,
    RunArgs, TranscribeArgs,
};
use crate::error::Error;
use crate::models::{self, fetch};
use crate::redact::Redactor;
use crate::report::markdown::plural;
use crate::speakers::roles::RoleMethod;
use crate::transcribe::Settings;
use crate::types::{Failure, Insights, Transcript};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Exit codes (DESIGN.md): every input succeeded / some failed / usage error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Transcribe(a) => transcribe(a),
        Command::Run(a) => run_all(a),
        Command::Analyze(a) => analyze_cmd(a),
        Command::Codebook { command } => codebook_cmd(command),
        Command::Eval(a) => crate::eval::run(a),
        Command::Models { command } => models_cmd(command),
        Command::Cache { command } => cache_cmd(command),
    }
}

/// Transcription settings from the flags, or a usage error message.
fn batch_options(
    a: &TranscribeArgs,
    redact: Option<Arc<Redactor>>,
) -> Result<BatchOptions, String> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let (dj, _) = batch::default_jobs_threads(cores);
    let jobs = a.jobs.unwrap_or(dj).max(1);
    let threads = a.threads.unwrap_or((cores / jobs).max(1)).max(1);
    let language = match a.language.trim().to_ascii_lowercase().as_str() {
        "auto" | "" => None,
        l if whisper_rs::get_lang_id(l).is_some() => Some(l.to_string()),
        l => {
            return Err(format!("--language {l}: not a language Whisper knows; use auto or an ISO 639-1 code such as en, lt, pl, ru"));
        }
    };
    let speakers = match a.speakers.trim() {
        "auto" => None,
        n => match n.parse::<usize>() {
            Ok(k) if (1..=crate::speakers::diarize::MAX_SPEAKERS).contains(&k) => Some(k),
            _ => {
                return Err(format!(
                    "--speakers {n}: give a number from 1 to {} or auto",
                    crate::speakers::diarize::MAX_SPEAKERS
                ))
            }
        },
    };
    Ok(BatchOptions {
        redact,
        speakers,
        out: a.out.clone(),
        model: a.model.clone(),
        jobs,
        settings: Settings {
            language,
            threads,
            vad: !a.no_vad,
            beam_size: a.beam_size,
            ..Settings::default()
        },
        use_cache: !a.no_cache,
        quiet: a.quiet,
    })
}

/// Inputs that failed, with why.
type Failed = Vec<(PathBuf, Error)>;

/// Transcribes recordings; returns the transcripts in input order and the failures.
fn transcribe_inputs(
    opts: &BatchOptions,
    inputs: &[batch::Input],
) -> Result<(Vec<Transcript>, Failed), Error> {
    crate::transcribe::silence_whisper_logs();
    // A wrong model is everyone's problem: say so before looking at the inputs.
    models::resolve_whisper(&opts.model)?;
    let report = batch::transcribe_all(inputs, opts)?;
    let mut done = report.done;
    done.sort_by(|a, b| a.input.path.cmp(&b.input.path));
    Ok((
        done.into_iter().map(|d| d.transcript).collect(),
        report.failed,
    ))
}

fn transcribe(a: TranscribeArgs) -> i32 {
    let rows = match participants_path(None, &a.inputs) {
        Some(p) if a.redact.on() => match analyze::read_participants(&p) {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        },
        _ => Default::default(),
    };
    let redact = match redactor(&a.redact, &rows) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let opts = match batch_options(&a, redact) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    // A wrong model is everyone's problem: say so before looking at the inputs.
    if let Err(e) = models::resolve_whisper(&opts.model) {
        eprintln!("error: {e}");
        return EXIT_FAILED;
    }
    let (inputs, mut failed) = batch::collect_audio(&a.inputs);
    for (_, e) in &failed {
        eprintln!("✗ {e}");
    }
    if inputs.is_empty() {
        eprintln!("error: no recordings to transcribe");
        return EXIT_FAILED;
    }
    let (done, more) = match transcribe_inputs(&opts, &inputs) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    failed.extend(more);
    let audio: f64 = done.iter().filter_map(|t| t.duration).sum();
    eprintln!(
        "\n{} of {} recordings transcribed ({} of audio) into {}",
        done.len(),
        done.len() + failed.len(),
        crate::transcript::clock(audio),
        opts.out.join("transcripts").display()
    );
    print_failures(&failed);
    if failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

fn print_failures(failed: &[(PathBuf, Error)]) {
    if failed.is_empty() {
        return;
    }
    eprintln!("{} input(s) failed:", failed.len());
    for (p, e) in failed {
        eprintln!("  - {}", failure_text(p, e));
    }
}

fn failure_text(p: &Path, e: &Error) -> String {
    let msg = e.to_string();
    let shown = p.display().to_string();
    if msg.contains(&shown) {
        msg
    } else {
        format!("{shown}: {msg}")
    }
}

/// Which of a recording and a transcript of the same name stands for the interview.
#[derive(Clone, Copy, PartialEq)]
enum Pair {
    /// `run`: the recording (transcribed afresh, with times and playback).
    Recording,
    /// `analyze`: the transcript (the recording is not what it reads).
    Transcript,
}

/// Splits inputs into recordings and transcript files (folders searched recursively; the
/// output folder and sowhat's own outputs are skipped). Of a recording and a transcript with
/// the same name, `pair` says which is kept.
fn collect_inputs(
    paths: &[PathBuf],
    out: &Path,
    pair: Pair,
) -> (Vec<batch::Input>, Vec<PathBuf>, Vec<(PathBuf, Error)>) {
    let mut audio_paths = Vec::new();
    let mut transcripts = Vec::new();
    let mut failed = Vec::new();
    let out_abs = std::fs::canonicalize(out).ok();
    for p in paths {
        match std::fs::metadata(p) {
            Err(e) => failed.push((
                p.clone(),
                Error::input_fix(p, format!("cannot open: {e}"), "check the path"),
            )),
            Ok(m) if m.is_dir() => {
                let before = audio_paths.len() + transcripts.len();
                walk_inputs(p, out_abs.as_deref(), &mut audio_paths, &mut transcripts);
                if audio_paths.len() + transcripts.len() == before {
                    failed.push((
                        p.clone(),
                        Error::input_fix(
                            p,
                            "the folder has no recordings or transcripts",
                            format!(
                                "sowhat reads recordings ({}) and transcripts (txt, docx, vtt, srt, json)",
                                crate::audio::AUDIO_EXTENSIONS.join(", ")
                            ),
                        ),
                    ));
                }
            }
            Ok(_) if crate::transcript::read::is_transcript_path(p) => transcripts.push(p.clone()),
            Ok(_) => match crate::transcript::read::unread_document(p) {
                Some(fix) => failed.push((
                    p.clone(),
                    Error::input_fix(p, "a document sowhat cannot read", fix),
                )),
                None => audio_paths.push(p.clone()),
            },
        }
    }
    audio_paths.sort();
    audio_paths.dedup();
    transcripts.sort();
    transcripts.dedup();
    // A transcript beside a recording of the same name is the same interview: keep one.
    let stem = |p: &PathBuf| p.file_stem().map(|s| s.to_string_lossy().to_lowercase());
    match pair {
        Pair::Recording => {
            let stems: std::collections::HashSet<String> =
                audio_paths.iter().filter_map(stem).collect();
            transcripts.retain(|t| !stem(t).is_some_and(|s| stems.contains(&s)));
        }
        Pair::Transcript => {
            let stems: std::collections::HashSet<String> =
                transcripts.iter().filter_map(stem).collect();
            audio_paths.retain(|a| !stem(a).is_some_and(|s| stems.contains(&s)));
        }
    }
    (batch::assign_ids(audio_paths), transcripts, failed)
}

fn walk_inputs(dir: &Path, out: Option<&Path>, audio: &mut Vec<PathBuf>, texts: &mut Vec<PathBuf>) {
    let mut all = Vec::new();
    batch::walk_files(dir, out, &mut all);
    for p in all {
        if p.file_name().is_some_and(|n| n == "insights.json") {
            continue;
        }
        if crate::audio::is_audio_path(&p) {
            audio.push(p);
        } else if let Some(fix) = crate::transcript::read::unread_document(&p) {
            // Named on the command line it is an error; in a folder it may be anything.
            eprintln!("note: {}: not read ({fix})", p.display());
        } else if crate::transcript::read::is_transcript_path(&p) {
            texts.push(p);
        }
    }
}

/// Whether a transcript reads as a conversation: two or more speakers, one of them with two
/// turns or more. A guide's "Warm-up: tell me about yourself" is one labelled line, not a
/// speaker.
fn is_conversation(t: &Transcript) -> bool {
    let mut turns: BTreeMap<String, usize> = BTreeMap::new();
    for s in &t.segments {
        if let Some(sp) = &s.speaker {
            *turns.entry(sp.display().to_string()).or_default() += 1;
        }
    }
    turns.len() >= 2 && turns.values().any(|&n| n >= 2)
}

/// Reads transcript files; failures are returned per file. Interview folders hold discussion
/// guides, consent forms and notes as Word files, so a Word file found in a folder (not among
/// the `named` inputs) is read as an interview only when it is a conversation.
fn read_transcripts(
    paths: &[PathBuf],
    named: &[PathBuf],
) -> (Vec<Transcript>, Vec<(PathBuf, Error)>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for p in paths {
        match crate::transcript::read::read_file(p) {
            Ok(t)
                if crate::fsutil::has_extension(p, &["docx"])
                    && !named.contains(p)
                    && !is_conversation(&t) =>
            {
                eprintln!(
                    "note: {}: not read as an interview, as no two speakers take turns in it (name it on the command line to analyse it anyway)",
                    p.display()
                );
            }
            Ok(mut t) => {
                let n = seen.entry(t.id.clone()).or_insert(0);
                *n += 1;
                if *n > 1 {
                    t.id = format!("{}-{n}", t.id);
                }
                ok.push(t)
            }
            Err(e) => failed.push((p.clone(), e)),
        }
    }
    (ok, failed)
}

fn analysis_options(f: &AnalysisFlags, inputs: &[PathBuf]) -> Result<analyze::Options, String> {
    if let Some(p) = f.min_prevalence {
        if !(0.0..=1.0).contains(&p) {
            return Err(format!(
                "--min-prevalence {p}: give a share between 0 and 1 (0.3 = 30 %)"
            ));
        }
    }
    // Checked now, before any transcription: a wrong path should stop the run at once.
    for (flag, p) in (f.examples.iter().map(|p| ("--examples", p))).chain(
        f.examples_transcripts
            .iter()
            .map(|p| ("--examples-transcripts", p)),
    ) {
        if let Err(e) = std::fs::metadata(p) {
            return Err(format!("{flag} {}: cannot open: {e}", p.display()));
        }
    }
    // Read now, before any transcription: a broken file should stop the run at once.
    let participants = match participants_path(f.participants.as_deref(), inputs) {
        Some(p) => analyze::read_participants(&p).map_err(|e| e.to_string())?,
        None => Default::default(),
    };
    let title = f.title.clone().or_else(|| {
        let first = inputs.first()?;
        let dir = if first.is_dir() {
            first.clone()
        } else {
            first.parent()?.to_path_buf()
        };
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        dir.file_name()
            .map(|n| format!("Interview findings: {}", n.to_string_lossy()))
    });
    Ok(analyze::Options {
        codebook: f.codebook.clone(),
        interviewer: f
            .interviewer
            .clone()
            .or_else(|| f.interviewer_speaker.map(crate::speakers::speaker_label_1))
            .or_else(|| f.interviewer_channel.map(|n| format!("Channel {n}"))),
        participants,
        examples: f.examples.clone(),
        examples_transcripts: f.examples_transcripts.clone(),
        min_prevalence: f.min_prevalence,
        top: f.top,
        title,
        keywords_only: f.keywords_only,
        no_discover: f.no_discover,
    })
}

/// participants.csv: the flag's, else one in an input folder (picked up without a flag), or a
/// spreadsheet of that name.
fn participants_path(flag: Option<&Path>, inputs: &[PathBuf]) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        inputs.iter().filter(|p| p.is_dir()).find_map(|d| {
            std::iter::once(&"csv")
                .chain(crate::spreadsheet::EXTENSIONS)
                .map(|ext| d.join(format!("participants.{ext}")))
                .find(|p| p.is_file())
        })
    })
}

/// The redactor `--redact` asks for: names from `--redact-names` and from the name columns of
/// participants.csv.
fn redactor(
    flags: &crate::cli::RedactFlags,
    participants: &BTreeMap<String, ParticipantRow>,
) -> Result<Option<Arc<Redactor>>, Error> {
    if !flags.on() {
        return Ok(None);
    }
    let mut names = match &flags.redact_names {
        Some(p) => Redactor::read_names(p)?,
        None => Vec::new(),
    };
    names.extend(crate::redact::names_from_attributes(
        participants.values().map(|r| &r.attributes),
    ));
    Ok(Some(Arc::new(Redactor::new(&names))))
}

fn analyze_cmd(a: AnalyzeArgs) -> i32 {
    let (audio, paths, mut failed) = collect_inputs(&a.inputs, &a.out, Pair::Transcript);
    for i in &audio {
        let error = if crate::audio::is_audio_path(&i.path) {
            Error::input_fix(
                &i.path,
                "this is a recording, not a transcript",
                "use `sowhat run` to transcribe and analyse recordings",
            )
        } else {
            Error::input_fix(
                &i.path,
                "not a transcript sowhat reads",
                format!(
                    "give transcripts as {} files, or recordings to `sowhat run`",
                    crate::transcript::read::TRANSCRIPT_EXTENSIONS.join(", ")
                ),
            )
        };
        failed.push((i.path.clone(), error));
    }
    let (transcripts, more) = read_transcripts(&paths, &a.inputs);
    failed.extend(more);
    let opts = match analysis_options(&a.analysis, &a.inputs) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let redact = match redactor(&a.redact, &opts.participants) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    finish(transcripts, failed, opts, &a.out, a.quiet, redact)
}

fn run_all(a: RunArgs) -> i32 {
    let analysis = match analysis_options(&a.analysis, &a.transcribe.inputs) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let redact = match redactor(&a.transcribe.redact, &analysis.participants) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let opts = match batch_options(&a.transcribe, redact.clone()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let (audio, paths, mut failed) =
        collect_inputs(&a.transcribe.inputs, &opts.out, Pair::Recording);
    for (_, e) in &failed {
        eprintln!("✗ {e}");
    }
    let mut transcripts = Vec::new();
    if !audio.is_empty() {
        match transcribe_inputs(&opts, &audio) {
            Ok((t, f)) => {
                transcripts.extend(t);
                failed.extend(f);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        }
    }
    let (texts, more) = read_transcripts(&paths, &a.transcribe.inputs);
    for (_, e) in &more {
        eprintln!("✗ {e}");
    }
    transcripts.extend(texts);
    failed.extend(more);
    finish(
        transcripts,
        failed,
        analysis,
        &opts.out,
        a.transcribe.quiet,
        redact,
    )
}

/// The analysis and the reports, then the terminal summary.
fn finish(
    transcripts: Vec<Transcript>,
    failed: Vec<(PathBuf, Error)>,
    opts: analyze::Options,
    out: &Path,
    quiet: bool,
    redact: Option<Arc<Redactor>>,
) -> i32 {
    if transcripts.is_empty() {
        print_failures(&failed);
        eprintln!("error: no interviews to analyse");
        return EXIT_FAILED;
    }
    let prepared: Vec<Prepared> =
        analyze::prepare(transcripts, &opts.participants, opts.interviewer.as_deref());
    let log = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    for p in &prepared {
        let method = p.roles.method;
        if let (Some(flag), false) = (&opts.interviewer, method == RoleMethod::Flag) {
            let labels: Vec<String> = p
                .roles
                .evidence
                .iter()
                .map(|e| format!("{:?}", e.label))
                .collect();
            eprintln!(
                "warning: {}: no speaker {flag:?} (its speakers: {}); the interviewer was chosen {}",
                crate::report::file_name(&p.transcript.source),
                if labels.is_empty() { "none".to_string() } else { labels.join(", ") },
                match method {
                    RoleMethod::Label => "by its speaker label",
                    RoleMethod::Evidence => "from who asks, starts and talks less",
                    _ => "as nobody (one speaker)",
                }
            );
        }
        if let Some(who) = &p.roles.interviewer {
            if p.roles.confidence < 0.7 {
                eprintln!(
                    "note: {}: guessed that {who:?} is the interviewer (confidence {:.2}); pass --interviewer NAME if not",
                    crate::report::file_name(&p.transcript.source),
                    p.roles.confidence
                );
            }
        }
    }
    let failures: Vec<Failure> = failed
        .iter()
        .map(|(p, e)| Failure {
            source: crate::report::file_name(&p.display().to_string()),
            error: failure_text(p, e),
        })
        .collect();
    let insights = match analyze::analyze(&prepared, failures, &opts, &log) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    let transcripts: Vec<Transcript> = prepared.into_iter().map(|p| p.transcript).collect();
    // --redact: personal details out of everything written from here on.
    let (insights, transcripts) = match &redact {
        Some(r) => match r.analysis(&insights, &transcripts) {
            Ok((i, t, _)) => (i, t),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        },
        None => (insights, transcripts),
    };
    // Transcripts again, now with Interviewer / participant labels.
    let tdir = out.join("transcripts");
    for t in &transcripts {
        if let Err(e) = crate::transcript::write_all(t, &tdir) {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    }
    if let Err(errors) = crate::report::write_all(&insights, &transcripts, out) {
        for e in errors {
            eprintln!("error: {e}");
        }
        return EXIT_FAILED;
    }
    summary(&insights, out);
    print_failures(&failed);
    if failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

fn summary(i: &Insights, out: &Path) {
    let kept = i
        .themes
        .iter()
        .filter(|t| t.verdict == crate::types::Verdict::Keep)
        .count();
    eprintln!(
        "\n{}, {}, {}: {kept} of {} kept.",
        plural(i.study.interviews, "interview", "interviews"),
        plural(i.participants.len(), "participant", "participants"),
        plural(i.mentions.len(), "mention", "mentions"),
        plural(i.themes.len(), "theme", "themes"),
    );
    for s in i.stories.iter().take(5) {
        eprintln!("  • {}", s.headline);
    }
    eprintln!("{}", i.saturation.statement);
    if let Some(r) = &i.study.redaction {
        eprintln!("{r}");
    }
    eprintln!("Brief: {}", out.join("brief.html").display());
    eprintln!("       {}", out.join("brief.md").display());
}

fn codebook_cmd(c: CodebookCommand) -> i32 {
    match c {
        CodebookCommand::Show { file: None } => {
            print!("{}", crate::codebook::DEFAULT_TOML);
            EXIT_OK
        }
        CodebookCommand::Show { file: Some(f) } | CodebookCommand::Check { file: f } => {
            match analyze::load_codebook(Some(&f)) {
                Ok(c) => {
                    println!(
                        "{}: {:?}, {} themes, fine",
                        f.display(),
                        c.name,
                        c.themes.len()
                    );
                    for t in &c.themes {
                        println!(
                            "  {:<28} {:<8} {} keywords, {} examples",
                            t.id,
                            format!("{:?}", t.kind).to_lowercase(),
                            t.keywords.len(),
                            t.examples.len()
                        );
                    }
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_FAILED
                }
            }
        }
        CodebookCommand::Init { file } => {
            if file.exists() {
                eprintln!(
                    "error: {} exists; choose another name or delete it first",
                    file.display()
                );
                return EXIT_FAILED;
            }
            match crate::fsutil::write_atomic(&file, crate::codebook::DEFAULT_TOML.as_bytes()) {
                Ok(()) => {
                    eprintln!(
                        "wrote {}: edit it, then `sowhat codebook check {}`",
                        file.display(),
                        file.display()
                    );
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_FAILED
                }
            }
        }
    }
}

fn models_cmd(c: ModelsCommand) -> i32 {
    match c {
        ModelsCommand::List => {
            println!("model cache: {}", models::cache_dir().display());
            for m in models::manifest() {
                let state = if m.is_present() {
                    "in cache"
                } else {
                    "not fetched"
                };
                println!(
                    "{:<12} {:>6.1} MB  {:<11} {}  {}",
                    m.name,
                    m.bytes as f64 / 1e6,
                    state,
                    m.licence,
                    m.about
                );
            }
            EXIT_OK
        }
        ModelsCommand::Path { name } => match models::spec(&name) {
            Some(m) => {
                println!("{}", m.path().display());
                if m.is_present() {
                    EXIT_OK
                } else {
                    eprintln!("(not fetched yet: run `sowhat models fetch {name}`)");
                    EXIT_FAILED
                }
            }
            None => {
                eprintln!("error: unknown model {name}; see `sowhat models list`");
                EXIT_USAGE
            }
        },
        ModelsCommand::Fetch {
            names,
            wheels,
            force,
        } => {
            let names = if names.is_empty() {
                models::DEFAULT_SET.iter().map(|s| s.to_string()).collect()
            } else {
                names
            };
            let opts = fetch::FetchOptions {
                wheels_dir: wheels,
                force,
            };
            let mut code = EXIT_OK;
            for n in &names {
                let Some(spec) = models::spec(n) else {
                    eprintln!("error: unknown model {n}; see `sowhat models list`");
                    code = EXIT_USAGE;
                    continue;
                };
                let started = std::time::Instant::now();
                match fetch::fetch(spec, &opts, &|msg| eprintln!("{msg}")) {
                    Ok(fetch::Outcome::AlreadyPresent) => {
                        eprintln!(
                            "{n}: already in the cache and valid ({})",
                            spec.path().display()
                        )
                    }
                    Ok(fetch::Outcome::Fetched) => eprintln!(
                        "{n}: fetched, converted and verified in {:.1} s ({})",
                        started.elapsed().as_secs_f64(),
                        spec.path().display()
                    ),
                    Err(e) => {
                        eprintln!("error: {e}");
                        code = EXIT_FAILED;
                    }
                }
            }
            code
        }
    }
}

fn cache_cmd(c: CacheCommand) -> i32 {
    match c {
        CacheCommand::Path => {
            println!("{}", crate::cache::dir().display());
            EXIT_OK
        }
        CacheCommand::Clear => match crate::cache::clear() {
            Ok(n) => {
                eprintln!(
                    "deleted {n} cached transcript(s) from {}",
                    crate::cache::dir().display()
                );
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: cannot clear {}: {e}", crate::cache::dir().display());
                EXIT_FAILED
            }
        },
    }
}
