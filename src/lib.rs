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
//!
//! Around them: [`types`] (the data of every stage), [`models`] (model cache, fetching and
//! conversion), [`cache`] (finished transcripts), [`batch`] (many files in parallel),
//! [`cli`] and [`commands`] (the command line), [`error`], [`fsutil`], [`wer`] (word error
//! rate, for tests and benchmarks).

pub mod audio;
pub mod batch;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod error;
pub mod fsutil;
pub mod models;
pub mod speakers;
pub mod transcribe;
pub mod transcript;
pub mod types;
pub mod vad;
pub mod wer;

pub use error::{Error, Result};
