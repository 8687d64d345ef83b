//! Transcript writers: `json`, `txt` (`[hh:mm:ss] Speaker: text`), `srt` and `vtt`
//! (with `<v Name>` voice tags, as Zoom and Teams write them).

use crate::error::Result;
use crate::fsutil::write_atomic;
use crate::types::{Seconds, Segment, Transcript};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The formats a transcript is written in, in the order they are written: the JSON, the
/// transcript itself, last, so that its presence means all four are whole.
pub const FORMATS: &[&str] = &["txt", "srt", "vtt", "json"];

/// Writes `<dir>/<id>.{txt,srt,vtt,json}`, each atomically. Returns the paths written.
pub fn write_all(t: &Transcript, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for ext in FORMATS {
        let path = dir.join(format!("{}.{ext}", t.id));
        let body = match *ext {
            "json" => to_json(t),
            "txt" => to_txt(t),
            "srt" => to_srt(t),
            _ => to_vtt(t),
        };
        write_atomic(&path, body.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

pub fn to_json(t: &Transcript) -> String {
    let mut s = serde_json::to_string_pretty(t).expect("transcripts serialise");
    s.push('\n');
    s
}

/// `[hh:mm:ss] Speaker: text`, one segment a line; consecutive segments of one speaker
/// keep the label so every line can be read alone.
pub fn to_txt(t: &Transcript) -> String {
    let mut out = String::new();
    for s in &t.segments {
        if let Some(start) = s.start {
            let _ = write!(out, "[{}] ", clock(start));
        }
        if let Some(sp) = &s.speaker {
            let _ = write!(out, "{}: ", sp.display());
        }
        out.push_str(s.text.trim());
        out.push('\n');
    }
    out
}

pub fn to_srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (i, s) in timed(t).enumerate() {
        let (a, b) = (s.start.unwrap_or(0.0), s.end.unwrap_or(0.0));
        let _ = writeln!(out, "{}", i + 1);
        let _ = writeln!(out, "{} --> {}", stamp(a, ','), stamp(b, ','));
        match &s.speaker {
            Some(sp) => {
                let _ = writeln!(out, "{}: {}", sp.display(), s.text.trim());
            }
            None => {
                let _ = writeln!(out, "{}", s.text.trim());
            }
        }
        out.push('\n');
    }
    out
}

pub fn to_vtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for s in timed(t) {
        let (a, b) = (s.start.unwrap_or(0.0), s.end.unwrap_or(0.0));
        let _ = writeln!(out, "{} --> {}", stamp(a, '.'), stamp(b, '.'));
        let text = vtt_escape(s.text.trim());
        match &s.speaker {
            Some(sp) => {
                let _ = writeln!(out, "<v {}>{}", vtt_escape(sp.display()), text);
            }
            None => {
                let _ = writeln!(out, "{text}");
            }
        }
        out.push('\n');
    }
    out
}

/// Segments that have times and text (subtitles need both).
fn timed(t: &Transcript) -> impl Iterator<Item = &Segment> {
    t.segments
        .iter()
        .filter(|s| s.start.is_some() && !s.text.trim().is_empty())
}

/// `hh:mm:ss`.
pub fn clock(t: Seconds) -> String {
    let s = t.max(0.0).floor() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `hh:mm:ss,mmm` (srt) or `hh:mm:ss.mmm` (vtt).
pub fn stamp(t: Seconds, sep: char) -> String {
    let ms = (t.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// WebVTT cue text may not contain `<`, `&` or `-->` unescaped.
fn vtt_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Speaker;

    fn sample() -> Transcript {
        let mut t = Transcript::new("p01.m4a", "p01");
        t.segments = vec![
            Segment {
                start: Some(0.0),
                end: Some(2.5),
                speaker: Some(Speaker::Interviewer),
                text: "How did the delivery go?".into(),
                confidence: Some(0.9),
            },
            Segment {
                start: Some(3661.25),
                end: Some(3663.0),
                speaker: Some(Speaker::Participant("P01".into())),
                text: "It came late & <broken>.".into(),
                confidence: Some(0.8),
            },
        ];
        t
    }

    #[test]
    fn txt_has_clock_and_speaker() {
        let s = to_txt(&sample());
        assert_eq!(
            s,
            "[00:00:00] Interviewer: How did the delivery go?\n[01:01:01] P01: It came late & <broken>.\n"
        );
    }

    #[test]
    fn srt_and_vtt_timestamps_and_voices() {
        let srt = to_srt(&sample());
        assert!(srt.starts_with("1\n00:00:00,000 --> 00:00:02,500\nInterviewer: How"));
        assert!(srt.contains("2\n01:01:01,250 --> 01:01:03,000\nP01: It came late"));
        let vtt = to_vtt(&sample());
        assert!(vtt.starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n<v Interviewer>How"));
        assert!(vtt.contains("<v P01>It came late &amp; &lt;broken&gt;."));
    }

    #[test]
    fn write_all_writes_four_files() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_all(&sample(), dir.path()).unwrap();
        assert_eq!(paths.len(), 4);
        // The JSON last: once it exists, the other three are whole (a killed batch).
        assert!(paths[3].ends_with("p01.json"), "{paths:?}");
        let back: Transcript =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("p01.json")).unwrap())
                .unwrap();
        assert_eq!(back, sample());
    }
}
