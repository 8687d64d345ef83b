//! Report writers: everything in [`Insights`] → files in the output folder.
//!
//! - [`markdown`]: `brief.md`, readable as is and in GitHub or Notion;
//! - [`html`]: `brief.html`, one self-contained file with inline SVG charts and a player that
//!   seeks each quote's moment in the recording;
//! - `insights.json`: the full contract (DESIGN.md);
//! - [`csv`]: `mentions.csv`, a quote table that opens correctly in Excel;
//! - [`qdpx`]: `project.qdpx`, a REFI-QDA project for NVivo, ATLAS.ti, MAXQDA and QualCoder.
//!
//! Every file is written atomically (temporary file, then rename).

pub mod csv;
#[cfg(test)]
pub(crate) mod fixture;
pub mod html;
pub mod markdown;
pub mod qdpx;

pub use markdown::BriefOptions;

use crate::error::{Error, Result};
use crate::types::{Insights, Transcript};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The file name of a source path, for display (briefs never show absolute paths).
pub fn file_name(source: &str) -> String {
    Path::new(source)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_string())
}

/// Links from the brief's folder to each participant's recording, for the HTML player: the
/// recording sowhat transcribed, or for an imported transcript the recording of the same name
/// beside it (`int1.m4a` for `int1.vtt`), so that its quotes can be heard too.
pub fn media_links(insights: &Insights, out: &Path) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for p in &insights.participants {
        let src = Path::new(&p.source);
        let media = if crate::audio::is_audio_path(src) {
            src.is_file().then(|| src.to_path_buf())
        } else {
            recording_beside(src)
        };
        if let Some(rel) = media.and_then(|r| relative_path(&r, out)) {
            m.insert(p.source.clone(), rel);
        }
    }
    m
}

/// The recording with the same name as a transcript in its folder, if there is one (the first
/// by name when there are several). The name may carry one more suffix, as exports write
/// them: `int2.wav.vtt` (whisper.cpp) and `…_Recording.transcript.vtt` (Zoom) are the
/// transcripts of `int2.wav` and `…_Recording.m4a`.
fn recording_beside(transcript: &Path) -> Option<PathBuf> {
    let full = transcript.file_stem()?.to_string_lossy().to_lowercase();
    let short = Path::new(&full)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| full.clone());
    let dir = match transcript.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            crate::audio::is_audio_path(p)
                && p.is_file()
                && p.file_stem().is_some_and(|s| {
                    let s = s.to_string_lossy().to_lowercase();
                    s == full || s == short
                })
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// `target` relative to the folder `base` (both made absolute), with `/` separators.
fn relative_path(target: &Path, base: &Path) -> Option<String> {
    let abs = |p: &Path| -> Option<PathBuf> {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        // Normalise `.` and `..` without touching the file system.
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other.as_os_str()),
            }
        }
        Some(out)
    };
    let t = abs(target)?;
    let b = abs(base)?;
    let tc: Vec<_> = t.components().collect();
    let bc: Vec<_> = b.components().collect();
    let common = tc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); bc.len() - common];
    parts.extend(
        tc[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    // Plain path: the HTML writer URL-encodes it.
    Some(parts.join("/"))
}

/// Writes brief.md, brief.html, insights.json, mentions.csv and project.qdpx into `out`.
/// Every report is attempted even when an earlier one fails (on a full disk a smaller file may
/// still fit), each atomically. Returns the paths written, or every error met.
pub fn write_all(
    insights: &Insights,
    transcripts: &[Transcript],
    out: &Path,
) -> std::result::Result<Vec<PathBuf>, Vec<Error>> {
    crate::fsutil::prepare_output_dir(out).map_err(|e| vec![e])?;
    let opts = BriefOptions {
        top: 7,
        media: media_links(insights, out),
    };
    let (mut written, mut errors) = (Vec::new(), Vec::new());
    let mut put = |name: &str, bytes: Result<Vec<u8>>| {
        let p = out.join(name);
        match bytes.and_then(|b| crate::fsutil::write_atomic(&p, &b)) {
            Ok(()) => written.push(p),
            Err(e) => errors.push(e),
        }
    };
    let json = serde_json::to_string_pretty(insights).expect("insights serialise");
    put("insights.json", Ok(json.into_bytes()));
    put(
        "brief.md",
        Ok(markdown::render(insights, &opts).into_bytes()),
    );
    put("brief.html", Ok(html::render(insights, &opts).into_bytes()));
    put(
        "mentions.csv",
        Ok(csv::write_mentions(&insights.mentions, &insights.themes)),
    );
    put(
        "project.qdpx",
        qdpx::write(insights, transcripts)
            .map_err(|e| Error::output(&out.join("project.qdpx"), std::io::Error::other(e))),
    );
    if errors.is_empty() {
        Ok(written)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_out_of_the_output_folder() {
        let r = relative_path(Path::new("/a/rec/p 01.m4a"), Path::new("/a/out")).unwrap();
        assert_eq!(r, "../rec/p 01.m4a");
        assert_eq!(file_name("/home/x/rec/p01.m4a"), "p01.m4a");
    }

    /// An imported transcript plays from the recording of the same name beside it.
    #[test]
    fn imported_transcripts_link_the_recording_beside_them() {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("rec");
        std::fs::create_dir(&rec).unwrap();
        for f in [
            "Int1.vtt",
            "int1.M4A",
            "int2.docx",
            "int3.wav",
            "int4.wav.vtt",
            "int4.wav",
            "GMT20261204_Recording.transcript.vtt",
            "GMT20261204_Recording.m4a",
        ] {
            std::fs::write(rec.join(f), b"x").unwrap();
        }
        let mut ins = fixture::insights();
        let files = [
            "Int1.vtt",
            "int2.docx",
            "int3.wav",
            "int4.wav.vtt",
            "GMT20261204_Recording.transcript.vtt",
        ];
        while ins.participants.len() < files.len() {
            let mut p = ins.participants[0].clone();
            p.id = format!("P{}", ins.participants.len() + 1);
            ins.participants.push(p);
        }
        ins.participants.truncate(files.len());
        for (p, f) in ins.participants.iter_mut().zip(files) {
            p.source = rec.join(f).display().to_string();
        }
        let m = media_links(&ins, &dir.path().join("out"));
        let src = |f: &str| rec.join(f).display().to_string();
        assert_eq!(
            m.get(&src("Int1.vtt")).map(String::as_str),
            Some("../rec/int1.M4A")
        );
        assert_eq!(m.get(&src("int2.docx")), None, "no recording beside it");
        assert_eq!(
            m.get(&src("int3.wav")).map(String::as_str),
            Some("../rec/int3.wav")
        );
        assert_eq!(
            m.get(&src("int4.wav.vtt")).map(String::as_str),
            Some("../rec/int4.wav")
        );
        assert_eq!(
            m.get(&src("GMT20261204_Recording.transcript.vtt"))
                .map(String::as_str),
            Some("../rec/GMT20261204_Recording.m4a")
        );
    }
}
