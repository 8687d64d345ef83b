//! The transcript cache: a finished transcript is stored under a key made of the audio's
//! content hash, the model and the settings that change the text, so a rerun (after Ctrl-C,
//! a crash, or with more files) skips every file already done. Entries are written atomically
//! and a damaged entry is discarded, never trusted.
//!
//! Location: `$SOWHAT_CACHE`, else the platform cache dir + `sowhat/transcripts`. The entries
//! are transcripts of personal recordings: `sowhat cache clear` (or deleting the folder)
//! removes them.

use crate::error::Result;
use crate::fsutil;
use crate::types::Transcript;
use std::path::PathBuf;

/// Bumped whenever transcription changes in a way that should invalidate old entries.
const CACHE_VERSION: &str = "transcribe-v3";

/// The cache folder.
pub fn dir() -> PathBuf {
    if let Some(p) = std::env::var_os("SOWHAT_CACHE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::cache_dir()
        .unwrap_or_else(|| std::env::temp_dir().join("sowhat-cache"))
        .join("sowhat")
        .join("transcripts")
}

/// The key of a transcript: audio content hash + model identity + settings.
pub fn key(audio_sha256: &str, model_identity: &str, settings: &str) -> String {
    fsutil::sha256_bytes(
        format!("{CACHE_VERSION}\n{audio_sha256}\n{model_identity}\n{settings}").as_bytes(),
    )
}

fn path(key: &str) -> PathBuf {
    dir().join(format!("{key}.json"))
}

/// The cached transcript for `key`, if there is a valid one. A damaged entry is removed.
pub fn load(key: &str) -> Option<Transcript> {
    let p = path(key);
    let bytes = std::fs::read(&p).ok()?;
    match serde_json::from_slice::<Transcript>(&bytes) {
        Ok(t) => Some(t),
        Err(_) => {
            let _ = std::fs::remove_file(&p);
            None
        }
    }
}

/// Stores a transcript under `key`.
pub fn store(key: &str, t: &Transcript) -> Result<()> {
    fsutil::write_atomic(
        &path(key),
        serde_json::to_string(t).expect("serialises").as_bytes(),
    )
}

/// Deletes every cached transcript and sentence embedding; returns how many files there were.
pub fn clear() -> std::io::Result<usize> {
    let d = dir();
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(&d) {
        for e in entries.flatten() {
            if matches!(
                e.path().extension().and_then(|x| x.to_str()),
                Some("json" | "bin")
            ) {
                std::fs::remove_file(e.path())?;
                n += 1;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_each_part() {
        let k = key("a", "m", "s");
        assert_ne!(k, key("b", "m", "s"));
        assert_ne!(k, key("a", "n", "s"));
        assert_ne!(k, key("a", "m", "t"));
        assert_eq!(k, key("a", "m", "s"));
    }
}
