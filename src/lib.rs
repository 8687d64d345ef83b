//! sowhat: recorded customer interviews in, an insight brief out, all on this machine.
//!
//! The pipeline, one module a stage (DESIGN.md has the types and the contracts):
//!
//! | stage | module | in → out |
//! |---|---|---|
//! | decode | [`audio`] | audio file → 16 kHz PCM |
//! | voice activity | [`vad`] | PCM → speech spans |
//! | transcribe | [`transcribe`] | PCM → timestamped segments |
//! | transcript files | [`transcript`] | [`types::Transcript`] ↔ json/txt/srt/vtt |
//! | roles | [`speakers`] | speaker labels → interviewer / participant ids |
//! | sentences | [`sentences`] | participant segments → [`types::Utterance`]s |
//! | tag | [`tag`] | utterances + [`codebook`] → [`types::Mention`]s (keyword, e5, pain, discover) |
//! | filter | [`filter`] | mentions → [`types::ThemeStats`] with verdict and reason |
//! | stories | [`story`] | kept themes → [`types::Story`]s, saturation |
//! | report | [`report`] | [`types::Insights`] → brief.md, brief.html, insights.json, mentions.csv, project.qdpx |
//!
//! [`redact`] (`--redact`) removes personal details from every output before it is written.
//!
//! [`analyze`] wires the analysis stages together; [`examples`] finds the interviews a
//! researcher's coded quotes (`--examples`) come from; [`eval`] scores tagging against a
//! researcher's coding.
//!
//! Around them: [`types`] (the data of every stage), [`models`] (model cache, fetching and
//! conversion), [`cache`] (finished transcripts), [`batch`] (many files in parallel),
//! [`cli`] and [`commands`] (the command line), [`error`], [`fsutil`], [`wer`] (word error
//! rate, for tests and benchmarks).

pub mod analyze;
pub mod audio;
pub mod batch;
pub mod cache;
pub mod cli;
pub mod codebook;
pub mod commands;
pub mod error;
pub mod eval;
pub mod examples;
pub mod filter;
pub mod fsutil;
pub mod models;
pub mod redact;
pub mod report;
pub mod sentences;
pub mod speakers;
pub mod spreadsheet;
pub mod story;
pub mod tag;
pub mod transcribe;
pub mod transcript;
pub mod types;
pub mod vad;
pub mod wer;

pub use error::{Error, Result};
