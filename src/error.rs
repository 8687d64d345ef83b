//! Errors of the library. Each names the file it concerns and says what to do, because the
//! person reading it is a researcher with a folder of recordings, not a Rust developer.

use std::path::{Path, PathBuf};

/// The library's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file could not be read, decoded or understood.
    #[error("{}: {cause}{}", path.display(), hint(fix))]
    Input {
        path: PathBuf,
        cause: String,
        fix: Option<String>,
    },

    /// A model is missing, damaged or could not be loaded.
    #[error("model {name}: {cause}{}", hint(fix))]
    Model {
        name: String,
        cause: String,
        fix: Option<String>,
    },

    /// Writing an output failed.
    #[error("cannot write {}: {source}{}", path.display(), write_hint(source))]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Recognition failed inside whisper.cpp.
    #[error("{}: transcription failed: {cause}", path.display())]
    Transcribe { path: PathBuf, cause: String },

    /// The user stopped the run.
    #[error("interrupted")]
    Interrupted,

    /// A bug in sowhat rather than a problem with the input.
    #[error("internal error: {0} (please report it)")]
    Internal(String),
}

fn hint(fix: &Option<String>) -> String {
    match fix {
        Some(f) => format!(" ({f})"),
        None => String::new(),
    }
}

fn write_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            " (choose a writable output folder with -o)"
        }
        std::io::ErrorKind::StorageFull => {
            " (the disk is full: free some space or use -o elsewhere)"
        }
        _ => "",
    }
}

impl Error {
    pub fn input(path: &Path, cause: impl Into<String>) -> Self {
        Error::Input {
            path: path.to_path_buf(),
            cause: cause.into(),
            fix: None,
        }
    }

    pub fn input_fix(path: &Path, cause: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Input {
            path: path.to_path_buf(),
            cause: cause.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn model(name: &str, cause: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Model {
            name: name.to_string(),
            cause: cause.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn output(path: &Path, source: std::io::Error) -> Self {
        Error::Output {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
