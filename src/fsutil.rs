//! Small file-system helpers shared by every stage that writes: atomic writes, content hashes.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over the target. A crash or a kill leaves either the old file or the new one,
/// never half of one. Creates the folder when missing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Like [`write_atomic`], with the content produced by a writer callback (for large files).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".sowhat-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::output(path, e))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w).map_err(|e| Error::output(path, e))?;
        w.flush().map_err(|e| Error::output(path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::output(path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::output(path, e.error))?;
    Ok(())
}

/// Removes the temporary files [`write_atomic`] leaves in `dir` when the process is killed
/// between writing and renaming (SIGKILL, power loss): `.sowhat-tmp-*` files older than
/// `min_age`, so a write still under way in another process is left alone. Errors are ignored:
/// a leftover costs nothing but clutter.
pub fn sweep_stale_temp(dir: &Path, min_age: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let stale = e.file_name().to_string_lossy().starts_with(".sowhat-tmp-")
            && e.metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= min_age);
        if stale && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Makes `dir` ready for sowhat's outputs: creates it when missing and removes what a killed
/// earlier run left half-written there ([`sweep_stale_temp`], files older than a minute).
pub fn prepare_output_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    sweep_stale_temp(dir, std::time::Duration::from_secs(60));
    Ok(())
}

/// sha256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// sha256 of bytes, as lowercase hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `path`'s extension (any case) is one of `extensions` (lower case, no dot).
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// A stable, filesystem-safe id from a file name: `Interview 03 (Anna).m4a` → `interview-03-anna`.
/// Keeps letters and digits of any script, lower-cased; everything else becomes one `-`.
/// A participant id as the researcher wrote it ("P03", "P03b"), made safe for file names:
/// letters, digits, `-` and `_` kept (case too), anything else becomes `-`.
pub fn safe_participant_id(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

pub fn safe_id(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "recording".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temp_files_are_swept_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(".sowhat-tmp-abc123");
        std::fs::write(&tmp, b"half").unwrap();
        std::fs::write(dir.path().join("p01.json"), b"{}").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        // Too fresh: another run may still be writing it.
        assert_eq!(
            sweep_stale_temp(dir.path(), std::time::Duration::from_secs(60)),
            0
        );
        assert!(tmp.exists());
        assert_eq!(sweep_stale_temp(dir.path(), std::time::Duration::ZERO), 1);
        assert!(!tmp.exists());
        assert!(dir.path().join("p01.json").exists() && dir.path().join(".hidden").exists());
        assert_eq!(
            sweep_stale_temp(&dir.path().join("missing"), std::time::Duration::ZERO),
            0
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_atomic(&p, b"kept").unwrap();
        let r = write_atomic_with(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "kept");
    }

    #[test]
    fn ids_are_safe_and_stable() {
        assert_eq!(safe_id("Interview 03 (Anna)"), "interview-03-anna");
        assert_eq!(safe_id("../../etc/passwd"), "etc-passwd");
        assert_eq!(safe_id("Łukasz_żółw"), "łukasz-żółw");
        assert_eq!(safe_id("..."), "recording");
    }
}
