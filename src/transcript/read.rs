//! Transcript readers: the transcripts researchers already have, into [`Transcript`].
//!
//! - `.txt`: `Speaker: text` lines, optionally stamped `[hh:mm:ss]`, `(hh:mm:ss)` or
//!   `hh:mm:ss`; lines without a speaker continue the previous turn; Otter-style headers
//!   (`Anna Smith  0:03` on a line of its own, the text below), Rev-style ones
//!   (`Anna Smith (00:03):`, the text after it or below) and Teams' Word export (a
//!   `0:0:5.2 --> 0:0:8.9` line, the name on the next, then the text). Up to eight short
//!   lines before the first turn (a title, `Date: 12 May`) are not speech and are left out.
//! - `.docx` (Word; Otter, Teams and Rev exports, a typist's document): its paragraphs read as
//!   `.txt` lines, table rows as `[time] Speaker: text` ([`super::docx`]).
//! - `.vtt` (WebVTT): cue settings, `NOTE`/`STYLE`/`REGION` blocks, `<v Name>` voice tags (Teams),
//!   `Name: text` cues (Zoom), inline tags and entities.
//! - `.srt`: numbered cues, `Name: text` speakers.
//! - `.json`: sowhat's own transcript JSON.
//!
//! Encodings: UTF-8 with or without BOM, UTF-16 LE/BE with BOM (Word's "Unicode text"),
//! CRLF or CR line ends. A malformed file gets an error naming the file and the line.

use crate::error::{Error, Result};
use crate::fsutil::safe_id;
use crate::types::{Seconds, Segment, Speaker, Transcript};
use std::path::Path;

/// The transcript formats sowhat reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Txt,
    Vtt,
    Srt,
    Json,
}

/// File extensions read as transcripts.
pub const TRANSCRIPT_EXTENSIONS: &[&str] = &["txt", "vtt", "srt", "json", "docx"];

/// Document formats sowhat does not read, with what to do instead.
pub fn unread_document(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "doc" | "rtf" | "odt" | "pages" | "wpd" => {
            "sowhat reads Word .docx and plain text: open it in Word or LibreOffice and save it as .docx or .txt"
        }
        "pdf" => {
            "sowhat does not read PDF: export the transcript from its tool as .docx, .txt, .vtt or .srt"
        }
        _ => return None,
    })
}

/// Whether a path looks like a transcript, by its extension.
pub fn is_transcript_path(path: &Path) -> bool {
    crate::fsutil::has_extension(path, TRANSCRIPT_EXTENSIONS)
}

/// A problem at a line of a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Reads a transcript file; the format comes from the extension (or a `WEBVTT` header).
pub fn read_file(path: &Path) -> Result<Transcript> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::input_fix(path, format!("cannot open: {e}"), "check the path"))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let docx = ext == "docx";
    let text = if docx {
        super::docx::text(&bytes).map_err(|why| {
            Error::input_fix(
                path,
                why,
                "open it in Word and save it as .docx again, or export the transcript as .txt",
            )
        })?
    } else {
        decode_text(&bytes).map_err(|why| {
            Error::input_fix(path, why, "save the transcript as UTF-8 (or UTF-16) text")
        })?
    };
    let format = if docx {
        Format::Txt
    } else if text.trim_start().starts_with("WEBVTT") {
        Format::Vtt
    } else {
        match ext.as_str() {
            "vtt" => Format::Vtt,
            "srt" => Format::Srt,
            "json" => Format::Json,
            _ => Format::Txt,
        }
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut t =
        read_str(&text, format, &path.display().to_string(), &safe_id(&stem)).map_err(|e| {
            let (at, fix) = if docx {
                (
                    "paragraph",
                    "use `Speaker: text` paragraphs, optionally starting with [hh:mm:ss]",
                )
            } else {
                ("line", fix_for(format))
            };
            Error::input_fix(path, format!("{at} {}: {}", e.line, e.message), fix)
        })?;
    if t.segments.iter().all(|s| s.text.trim().is_empty()) {
        return Err(Error::input_fix(
            path,
            "the transcript has no text",
            "check that this is the right file",
        ));
    }
    t.source = path.display().to_string();
    Ok(t)
}

fn fix_for(f: Format) -> &'static str {
    match f {
        Format::Vtt => "fix that line or export the WebVTT again",
        Format::Srt => "each cue needs a number, a `00:00:01,000 --> 00:00:04,000` line and text",
        Format::Json => {
            "sowhat reads the transcript JSON it writes; export other JSON as txt, vtt or srt"
        }
        Format::Txt => "use `Speaker: text` lines, optionally starting with [hh:mm:ss]",
    }
}

/// Bytes → text: UTF-8 (BOM optional), UTF-16 with BOM; line ends normalised to `\n`.
pub fn decode_text(bytes: &[u8]) -> std::result::Result<String, String> {
    let text = if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8(rest.to_vec())
            .map_err(|e| format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to() + 3))?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        utf16(rest, u16::from_be_bytes)?
    } else if bytes.len() >= 4 && bytes[1] == 0 && bytes[3] == 0 && bytes[0] != 0 {
        utf16(bytes, u16::from_le_bytes)? // UTF-16 LE without a BOM
    } else {
        String::from_utf8(bytes.to_vec()).map_err(|e| {
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })?
    };
    Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
}

fn utf16(bytes: &[u8], f: fn([u8; 2]) -> u16) -> std::result::Result<String, String> {
    if bytes.len() % 2 == 1 {
        // Half a character at the end: the file was cut off (or is not UTF-16).
        return Err(format!(
            "UTF-16 text with an odd number of bytes ({}): the file looks cut off",
            bytes.len()
        ));
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|b| f([b[0], b[1]])).collect();
    String::from_utf16(&units).map_err(|_| "invalid UTF-16 text".to_string())
}

/// Parses transcript text in `format`.
pub fn read_str(
    text: &str,
    format: Format,
    source: &str,
    id: &str,
) -> std::result::Result<Transcript, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut t = match format {
        Format::Json => {
            let t: Transcript = serde_json::from_str(text).map_err(|e| ParseError {
                line: e.line(),
                message: format!("not a sowhat transcript: {e}"),
            })?;
            t
        }
        // Subtitles saved as .txt: numbered cues with timings.
        Format::Txt if looks_like_srt(text) => Transcript {
            segments: parse_cues(text, false)?,
            ..Transcript::new(source, id)
        },
        Format::Txt => Transcript {
            segments: parse_txt(text)?,
            ..Transcript::new(source, id)
        },
        Format::Vtt => Transcript {
            segments: parse_cues(text, true)?,
            ..Transcript::new(source, id)
        },
        Format::Srt => Transcript {
            segments: parse_cues(text, false)?,
            ..Transcript::new(source, id)
        },
    };
    if format != Format::Json {
        t.duration = t
            .segments
            .iter()
            .filter_map(|s| s.end.or(s.start))
            .fold(None, |m, x| Some(m.map_or(x, |m: f64| m.max(x))));
    }
    Ok(t)
}

// ---------------------------------------------------------------------------------------- txt

fn parse_txt(text: &str) -> std::result::Result<Vec<Segment>, ParseError> {
    let mut segs: Vec<Segment> = Vec::new();
    // Otter style: a "Name  0:03" header line sets speaker and time for the lines below.
    let mut header: Option<(Option<Speaker>, Option<Seconds>)> = None;
    // The lines read before anyone speaks: a title and a date, or speech without labels.
    let mut before_turns: Vec<&str> = Vec::new();
    // After a `0:0:5.2 --> 0:0:8.9` line (Teams' Word export), the speaker's name may follow
    // on a line of its own.
    let mut name_next = false;
    // Whether anyone has spoken yet (a segment with a speaker was pushed).
    let mut turns_yet = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        turns_yet = turns_yet || segs.last().is_some_and(|s| s.speaker.is_some());
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            // A header keeps its speaker across blank lines until its text comes.
            continue;
        }

        if let Some(start) = cue_timing(line) {
            header = Some((None, Some(start)));
            name_next = true;
            continue;
        }
        // The name is a short line with text after it in the same block: "Smith, Anna" or
        // "anna.k" as much as "Anna Smith". A lone short line is a one-word answer ("Late").
        let text_follows = lines
            .get(i + 1)
            .is_some_and(|l| !l.trim().is_empty() && cue_timing(l.trim()).is_none());
        if std::mem::take(&mut name_next)
            && text_follows
            && line.chars().count() <= 60
            && !line.ends_with(['.', '!', '?', '…'])
        {
            if let Some((sp, _)) = header.as_mut() {
                *sp = Some(Speaker::Label(line.to_string()));
                continue;
            }
        }
        let (stamp, rest) = leading_stamp(line).map_err(|m| ParseError {
            line: line_no,
            message: m,
        })?;
        if stamp.is_none() {
            if let Some((name, t)) = otter_header(line) {
                header = Some((Some(Speaker::Label(name)), Some(t)));
                continue;
            }
            if let Some((name, t, said)) = rev_header(line) {
                if said.is_empty() {
                    header = Some((Some(Speaker::Label(name)), Some(t)));
                } else {
                    header = None;
                    segs.push(segment(Some(t), Some(Speaker::Label(name)), said));
                }
                continue;
            }
        }
        if let Some((sp, t)) = header.take() {
            // Text under an Otter-style header belongs to that speaker, unless it names its own.
            if split_speaker(rest).is_none() {
                segs.push(segment(stamp.or(t), sp, rest));
                continue;
            }
        }
        let labelled = split_speaker(rest);
        // A researcher's note ("Note: she laughs") or a date or time between the turns is no
        // speech: a speaker of its own would be a participant more.
        if labelled
            .as_ref()
            .is_some_and(|(name, _)| is_note_label(name))
        {
            continue;
        }
        // "Date: 12 May" above the first turn is a detail of the interview, not a speaker.
        match labelled.filter(|(name, _)| turns_yet || !is_detail_label(name)) {
            Some((name, said)) => {
                header = None;
                segs.push(segment(stamp, Some(Speaker::Label(name)), said));
            }
            None => {
                if !turns_yet {
                    before_turns.push(rest);
                }
                if let (None, Some(last)) = (stamp, segs.last_mut()) {
                    // A continuation of the previous turn.
                    if !last.text.is_empty() {
                        last.text.push(' ');
                    }
                    last.text.push_str(rest);
                } else {
                    let speaker = segs
                        .last()
                        .and_then(|s| s.speaker.clone())
                        .filter(|_| stamp.is_some());
                    segs.push(segment(stamp, speaker, rest));
                }
            }
        }
    }
    // Up to eight short lines without a full stop before the first turn of a transcript with
    // speakers are its title and details ("Interview 3", "Date: 12 May 2026"), not speech.
    // Anything else may be an answer without its label, and is kept.
    let title = before_turns.len() <= 8
        && before_turns
            .iter()
            .all(|l| l.split_whitespace().count() <= 12 && !l.ends_with(['.', '!', '?', '…']));
    if title && segs.iter().any(|s| s.speaker.is_some()) {
        let preamble = segs
            .iter()
            .take_while(|s| s.speaker.is_none() && s.start.is_none())
            .count();
        segs.drain(..preamble);
    }
    Ok(segs)
}

fn segment(start: Option<Seconds>, speaker: Option<Speaker>, text: &str) -> Segment {
    Segment {
        start,
        end: None,
        speaker,
        text: text.trim().to_string(),
        confidence: None,
    }
}

/// A stamp at the start of a line: `[01:02:03]`, `(1:02)`, `01:02:03.5 `, `[00:01:02.500]`.
/// A bracketed stamp that does not parse is an error; anything else is no stamp.
fn leading_stamp(line: &str) -> std::result::Result<(Option<Seconds>, &str), String> {
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(rest) = line.strip_prefix(open) {
            if let Some(end) = rest.find(close) {
                let inside = rest[..end].trim();
                if looks_like_stamp(inside) {
                    let t = parse_clock(inside)
                        .ok_or_else(|| format!("bad time stamp '{open}{inside}{close}'"))?;
                    return Ok((Some(t), rest[end + close.len_utf8()..].trim_start()));
                }
            }
        }
    }
    // A bare stamp followed by a space: "00:01:02 Anna: …"
    if let Some((first, rest)) = line.split_once(char::is_whitespace) {
        if looks_like_stamp(first) && first.contains(':') {
            if let Some(t) = parse_clock(first) {
                return Ok((Some(t), rest.trim_start()));
            }
        }
    }
    Ok((None, line))
}

fn looks_like_stamp(s: &str) -> bool {
    !s.is_empty()
        && s.contains(':')
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.' || c == ',')
}

/// `h:mm:ss`, `mm:ss`, with an optional `.fff` or `,fff`.
pub fn parse_clock(s: &str) -> Option<Seconds> {
    let s = s.trim().replace(',', ".");
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let sec: f64 = parts.last()?.parse().ok()?;
    let min: u64 = parts[parts.len() - 2].parse().ok()?;
    let hour: u64 = if parts.len() == 3 {
        parts[0].parse().ok()?
    } else {
        0
    };
    if !(0.0..60.0).contains(&sec) || (parts.len() == 3 && min >= 60) {
        return None;
    }
    Some(hour as f64 * 3600.0 + min as f64 * 60.0 + sec)
}

/// Whether text is SubRip subtitles: a cue number, then a timing line.
fn looks_like_srt(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    matches!(
        (lines.next(), lines.next()),
        (Some(n), Some(t)) if n.chars().all(|c| c.is_ascii_digit()) && cue_timing(t).is_some()
    )
}

/// `0:0:5.270 --> 0:0:8.960`, a cue's timing on a line of its own: its start ([`timing`]).
fn cue_timing(line: &str) -> Option<Seconds> {
    timing(line).map(|(start, _)| start)
}

/// A cue's timing line, `00:00:01,000 --> 00:00:04,000` (VTT cue settings after the end are
/// ignored): its start and end.
fn timing(line: &str) -> Option<(Seconds, Seconds)> {
    let (a, b) = line.split_once("-->")?;
    let b = b.split_whitespace().next().unwrap_or("");
    Some((parse_clock(a)?, parse_clock(b)?))
}

/// `Anna Smith  0:03` / `Speaker 1 01:02:03`: a short name, then only a time.
fn otter_header(line: &str) -> Option<(String, Seconds)> {
    let (name, time) = line.rsplit_once(char::is_whitespace)?;
    let name = name.trim();
    if !looks_like_stamp(time) || !is_speaker_label(name) {
        return None;
    }
    Some((name.to_string(), parse_clock(time)?))
}

/// `Anna Smith (00:03):` / `Speaker 1 (01:02:03): text` (Rev): a name, a stamp in
/// parentheses, a colon, then the text or nothing.
fn rev_header(line: &str) -> Option<(String, Seconds, &str)> {
    let (name, rest) = line.split_once('(')?;
    let (inside, said) = rest.split_once("):")?;
    let name = name.trim();
    if !looks_like_stamp(inside.trim()) || !is_speaker(name) {
        return None;
    }
    Some((name.to_string(), parse_clock(inside)?, said.trim()))
}

/// What a typist notes in parentheses about how something was said, in the four languages.
fn is_stage_direction(remark: &str) -> bool {
    const DIRECTIONS: &[&str] = &[
        "laughs",
        "laughing",
        "laughter",
        "chuckles",
        "smiles",
        "sighs",
        "sighing",
        "pause",
        "pauses",
        "long pause",
        "inaudible",
        "unclear",
        "crosstalk",
        "overlapping",
        "interrupting",
        "interrupts",
        "coughs",
        "silence",
        "whispers",
        "juokiasi",
        "juokas",
        "pauzė",
        "tyla",
        "negirdėti",
        "śmiech",
        "śmieje się",
        "pauza",
        "niewyraźnie",
        "cisza",
        "смеётся",
        "смеется",
        "смех",
        "пауза",
        "неразборчиво",
        "тишина",
        "вздыхает",
    ];
    DIRECTIONS.contains(&remark.to_lowercase().as_str())
}

/// Whether `s` reads as a speaker's label: a name ([`is_speaker_label`]) or a role
/// ("Interviewer", "Moderatorius").
pub(super) fn is_speaker(s: &str) -> bool {
    is_speaker_label(s) || crate::speakers::roles::is_role_label(s)
}

/// Labels of when and where, in English, Lithuanian, Polish and Russian: never a speaker, in the
/// heading ([`is_detail_label`]) or between the turns ([`is_note_label`]).
const WHEN_AND_WHERE: &[&str] = &[
    "date",
    "time",
    "location",
    "duration",
    "laikas",
    "vieta",
    "trukmė",
    "miejsce",
    "czas",
    "дата",
    "время",
    "место",
];

/// The labels of an interview's details in a transcript's heading ("Date: 12 May 2026"),
/// which are no speakers there.
fn is_detail_label(name: &str) -> bool {
    const DETAILS: &[&str] = &[
        "place",
        "length",
        "project",
        "study",
        "session",
        "recording",
        "file",
        "title",
        "subject",
        "topic",
        "participants",
        "attendees",
        "data",
        "projektas",
        "tema",
        "czas trwania",
        "projekt",
        "temat",
        "длительность",
        "проект",
        "тема",
    ];
    let name = name.to_lowercase();
    DETAILS.contains(&name.as_str()) || WHEN_AND_WHERE.contains(&name.as_str())
}

/// Labels of lines that are never speech, wherever they stand: a researcher's notes and the
/// date, time or place of a part of the session ("Note: long pause", "Time: 00:32:10").
/// "Subject", "Topic" and such stay speakers after the first turn: "Subject" names the
/// participant in some transcripts.
fn is_note_label(name: &str) -> bool {
    const NOTES: &[&str] = &[
        "note",
        "notes",
        "nb",
        "comment",
        "comments",
        "observation",
        "observer note",
        "researcher note",
        "pastaba",
        "pastabos",
        "komentaras",
        "uwaga",
        "uwagi",
        "notatka",
        "komentarz",
        "примечание",
        "заметка",
        "комментарий",
    ];
    let name = name.to_lowercase();
    NOTES.contains(&name.as_str()) || WHEN_AND_WHERE.contains(&name.as_str())
}

/// `Name: text` → (Name, text), when `Name` looks like a speaker label.
fn split_speaker(line: &str) -> Option<(String, &str)> {
    let (name, said) = line.split_once(':')?;
    let name = name.trim();
    if !is_speaker(name) {
        return None;
    }
    // "Anna (laughs): …" is Anna: a stage direction is no part of who speaks. Other remarks
    // tell people apart ("Customer (wife)", "Customer (husband)") and stay.
    let name = match name.split_once('(') {
        Some((base, remark))
            if !base.trim().is_empty()
                && remark
                    .strip_suffix(')')
                    .is_some_and(|r| is_stage_direction(r.trim())) =>
        {
            base.trim()
        }
        _ => name,
    };
    Some((name.to_string(), said.trim_start()))
}

/// A speaker label: 1–40 characters, at most 5 words, no sentence punctuation, and written
/// like a name: every word capitalised or a number ("Anna Smith", "Speaker 1", "P03",
/// "SPEAKER_01"), apart from short particles ("de", "van", "von"). "The price" is not a label.
fn is_speaker_label(s: &str) -> bool {
    let n = s.chars().count();
    let words: Vec<&str> = s.split_whitespace().collect();
    (1..=40).contains(&n)
        && words.len() <= 5
        && s.chars().next().is_some_and(|c| c.is_alphabetic())
        && s.chars()
            .all(|c| c.is_alphanumeric() || " .-_'()#&".contains(c))
        // "Anna K." is a name; "Fine." is a sentence.
        && (!s.ends_with('.') || words.last().is_some_and(|w| is_initial(w)))
        && words.iter().all(|w| {
            let c = w.chars().next().unwrap_or('x');
            c.is_uppercase()
                || c.is_ascii_digit()
                || c == '('
                || ["de", "van", "von", "der", "da", "di", "la", "le"].contains(w)
        })
}

/// An initial such as "K.".
fn is_initial(w: &str) -> bool {
    let mut c = w.chars();
    matches!((c.next(), c.next(), c.next()), (Some(a), Some('.'), None) if a.is_uppercase())
}

// ----------------------------------------------------------------------------------- vtt, srt

fn parse_cues(text: &str, vtt: bool) -> std::result::Result<Vec<Segment>, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    if vtt {
        let first = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
        if !lines
            .get(first)
            .is_some_and(|l| l.trim_start_matches('\u{feff}').starts_with("WEBVTT"))
        {
            return Err(ParseError {
                line: first + 1,
                message: "a WebVTT file must start with WEBVTT".into(),
            });
        }
        i = first + 1;
        // Header lines up to the first blank line.
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
    }
    let mut segs = Vec::new();
    while i < lines.len() {
        // Skip blank lines between blocks.
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let block_start = i;
        let mut block = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() {
            block.push((i + 1, lines[i]));
            i += 1;
        }
        let head = block[0].1.trim();
        if vtt && (head.starts_with("NOTE") || head == "STYLE" || head == "REGION") {
            continue;
        }
        // The timing line is the first or (after a cue id / number) the second line.
        let timing_at = block.iter().take(2).position(|(_, l)| l.contains("-->"));
        let Some(k) = timing_at else {
            return Err(ParseError {
                line: block_start + 1,
                message: format!(
                    "expected a timing line like 00:00:01{}000 --> 00:00:04{}000",
                    if vtt { '.' } else { ',' },
                    if vtt { '.' } else { ',' }
                ),
            });
        };
        let (line_no, line) = block[k];
        let Some((start, end)) = timing(line) else {
            return Err(ParseError {
                line: line_no,
                message: format!("bad timing line '{}'", line.trim()),
            });
        };
        let body: Vec<&str> = block[k + 1..].iter().map(|(_, l)| l.trim()).collect();
        let (speaker, text) = cue_text(&body.join("\n"), vtt);
        if text.is_empty() {
            continue;
        }
        segs.push(Segment {
            start: Some(start),
            end: Some(end.max(start)),
            speaker,
            text,
            confidence: None,
        });
    }
    Ok(segs)
}

/// The speaker and plain text of a cue body: `<v Name>` voice tags, else a `Name:` prefix;
/// other tags removed, entities decoded, lines joined.
fn cue_text(body: &str, vtt: bool) -> (Option<Speaker>, String) {
    let mut speaker = None;
    let mut out = String::new();
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        // Only what looks like a tag: <i>, </b>, <font …>, <v Name>, <c.x>, and in WebVTT the
        // <00:01.000> time tags. "I'd rate it <5" or "<>" is text.
        let first = tag.trim_start_matches('/').chars().next();
        let is_tag = first.is_some_and(|c| c.is_ascii_alphabetic() || (vtt && c.is_ascii_digit()));
        if !is_tag {
            out.push('<');
            rest = &rest[open + 1..];
            continue;
        }
        if let Some(v) = tag.strip_prefix('v').filter(|v| v.starts_with([' ', '.'])) {
            // <v Name> or <v.class Name>
            let name = v.split_once(' ').map(|(_, n)| n).unwrap_or("").trim();
            if !name.is_empty() && speaker.is_none() {
                speaker = Some(Speaker::Label(name.to_string()));
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let mut text = out
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if vtt || text.contains('&') {
        text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&nbsp;", " ")
            .replace("&lrm;", "")
            .replace("&rlm;", "")
            .replace("&amp;", "&");
    }
    if speaker.is_none() {
        if let Some((name, said)) = split_speaker(&text) {
            speaker = Some(Speaker::Label(name));
            text = said.trim().to_string();
        }
    }
    (speaker, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(s: &str) -> Vec<Segment> {
        read_str(s, Format::Txt, "t.txt", "t").unwrap().segments
    }

    fn label(s: &Segment) -> &str {
        s.speaker.as_ref().map(|s| s.display()).unwrap_or("")
    }

    #[test]
    fn txt_speakers_stamps_and_continuations() {
        let s = txt("[00:00:05] Interviewer: How was it?\n(0:07) Anna: Slow.\nReally slow.\n\n01:02:03.5 Anna: And then?\nModerator: OK.\n");
        assert_eq!(s.len(), 4);
        assert_eq!(
            (label(&s[0]), s[0].start, s[0].text.as_str()),
            ("Interviewer", Some(5.0), "How was it?")
        );
        assert_eq!(
            (label(&s[1]), s[1].start, s[1].text.as_str()),
            ("Anna", Some(7.0), "Slow. Really slow.")
        );
        assert_eq!(s[2].start, Some(3723.5));
        assert_eq!((label(&s[3]), s[3].start), ("Moderator", None));
    }

    #[test]
    fn txt_otter_headers_and_sentences_with_colons() {
        let s =
            txt("Anna Smith  0:03\nThe price: too high, honestly.\n\nInterviewer  1:10\nWhy?\n");
        assert_eq!(s.len(), 2);
        assert_eq!((label(&s[0]), s[0].start), ("Anna Smith", Some(3.0)));
        assert_eq!(s[0].text, "The price: too high, honestly.");
        assert_eq!((label(&s[1]), s[1].start), ("Interviewer", Some(70.0)));
        // A long sentence with a colon is not a speaker.
        let s = txt("interviewer: lower-case roles count too\n");
        assert_eq!(label(&s[0]), "interviewer");
        let s = txt("P1: I said this to them: it does not work at all for us.\n");
        assert_eq!(label(&s[0]), "P1");
        assert_eq!(
            s[0].text,
            "I said this to them: it does not work at all for us."
        );
    }

    #[test]
    fn txt_bad_stamp_names_the_line() {
        let e = read_str("A: ok\n[00:99:00] B: no\n", Format::Txt, "t", "t").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("00:99:00"));
    }

    #[test]
    fn vtt_voices_settings_notes_and_entities() {
        let v = "WEBVTT - Teams export\n\nNOTE a comment\nspanning lines\n\nSTYLE\n::cue { color: red }\n\n1\n00:00:01.000 --> 00:00:04.500 align:start position:10%\n<v Anna Smith>It was <i>very</i> slow &amp; late.</v>\n\n00:05.000 --> 00:06.000\nInterviewer: Why?\n";
        let s = read_str(v, Format::Vtt, "t.vtt", "t").unwrap().segments;
        assert_eq!(s.len(), 2);
        assert_eq!(
            (label(&s[0]), s[0].start, s[0].end),
            ("Anna Smith", Some(1.0), Some(4.5))
        );
        assert_eq!(s[0].text, "It was very slow & late.");
        assert_eq!(
            (label(&s[1]), s[1].text.as_str(), s[1].start),
            ("Interviewer", "Why?", Some(5.0))
        );
    }

    #[test]
    fn vtt_and_srt_errors_name_the_line() {
        let e = read_str("hello\n", Format::Vtt, "t", "t").unwrap_err();
        assert_eq!(e.line, 1);
        let e = read_str("WEBVTT\n\n00:00:01.000 --> xx\nhi\n", Format::Vtt, "t", "t").unwrap_err();
        assert_eq!(e.line, 3);
        let e = read_str(
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\nno timing here\n",
            Format::Srt,
            "t",
            "t",
        )
        .unwrap_err();
        assert_eq!(e.line, 5);
    }

    #[test]
    fn srt_with_speaker_prefix_and_multiline_text() {
        let s = "1\n00:00:01,000 --> 00:00:03,000\nP03: The invoice\nwas wrong.\n\n2\n00:00:04,000 --> 00:00:05,000\nThanks.\n";
        let s = read_str(s, Format::Srt, "t.srt", "t").unwrap().segments;
        assert_eq!(
            (label(&s[0]), s[0].text.as_str()),
            ("P03", "The invoice was wrong.")
        );
        assert_eq!((s[1].speaker.clone(), s[1].start), (None, Some(4.0)));
    }

    #[test]
    fn encodings_bom_utf16_crlf() {
        let plain = "Interviewer: Jak było?\r\nAnna: Dostawa się spóźniła.\r\n";
        let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
        utf8_bom.extend_from_slice(plain.as_bytes());
        let mut le = vec![0xFF, 0xFE];
        le.extend(plain.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let mut be = vec![0xFE, 0xFF];
        be.extend(plain.encode_utf16().flat_map(|u| u.to_be_bytes()));
        for bytes in [plain.as_bytes().to_vec(), utf8_bom, le, be] {
            let text = decode_text(&bytes).unwrap();
            let s = txt(&text);
            assert_eq!(s.len(), 2);
            assert_eq!(s[1].text, "Dostawa się spóźniła.");
        }
        assert!(decode_text(&[0x41, 0xFF, 0x42, 0x43, 0x44]).is_err());
        // A UTF-16 file cut off mid-character is an error, not a silently shorter text.
        let mut cut = vec![0xFF, 0xFE];
        cut.extend(plain.encode_utf16().flat_map(|u| u.to_le_bytes()));
        cut.pop();
        let e = decode_text(&cut).unwrap_err();
        assert!(
            e.contains("odd number of bytes") && e.contains("cut off"),
            "{e}"
        );
    }

    #[test]
    fn json_round_trip_and_file_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Transcript::new("a.wav", "a");
        t.segments
            .push(segment(Some(1.0), Some(Speaker::Interviewer), "Hi"));
        let p = dir.path().join("a.json");
        std::fs::write(&p, crate::transcript::to_json(&t)).unwrap();
        assert_eq!(read_file(&p).unwrap().segments, t.segments);

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\n  \"segments\": [\n oops").unwrap();
        let e = read_file(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("line 3"), "{e}");

        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "\n\n").unwrap();
        assert!(read_file(&empty)
            .unwrap_err()
            .to_string()
            .contains("no text"));
    }

    #[test]
    fn txt_rev_headers_with_the_text_below_or_after() {
        let s = txt(
            "Interview 4 with Anna\n12 May 2026\n\nSpeaker 1 (00:03):\nHow was the delivery?\n\nAnna Smith (01:02:03): Late.\nAgain.\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(
            (label(&s[0]), s[0].start, s[0].text.as_str()),
            ("Speaker 1", Some(3.0), "How was the delivery?")
        );
        assert_eq!(
            (label(&s[1]), s[1].start, s[1].text.as_str()),
            ("Anna Smith", Some(3723.0), "Late. Again.")
        );
        // A blank line between a header and its text (Word paragraphs) keeps the speaker; a line
        // that names its own speaker does not take the header's.
        let s =
            txt("Speaker 1 (00:03):\n\nHow was it?\n\nAnna  0:09\nInterviewer: Sorry, go on.\n");
        assert_eq!(
            (label(&s[0]), s[0].text.as_str()),
            ("Speaker 1", "How was it?")
        );
        assert_eq!(label(&s[1]), "Interviewer");
        // Speech before the first label is no title: it stays.
        let s = txt(
            "The parcel was late.\nI waited two weeks.\nNobody called.\nInterviewer: And then?\n",
        );
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s[0].text.contains("I waited two weeks."));
        let s = txt("Late, and nobody told me why.\nInterviewer: Why?\n");
        assert_eq!(s.len(), 2, "{s:?}");
        // The interview's details are no speakers and no speech.
        let s = txt("Delivery study\nDate: 12 May 2026\nLocation: London\nInterviewer: How was it?\nAnna: Late.\n");
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!((label(&s[0]), label(&s[1])), ("Interviewer", "Anna"));
        // A researcher's notes and times between the turns are neither speakers nor speech;
        // "Subject" can be the participant.
        let s = txt("Interviewer: How was it?\nAnna: Late.\nNote: she sighs.\nTime: 00:12:30\nUwaga: przerwa\nAnna: Very late.\nSubject: And rude.\n");
        let labels: Vec<&str> = s.iter().map(label).collect();
        assert_eq!(labels, ["Interviewer", "Anna", "Anna", "Subject"], "{s:?}");
        // Teams' Word export: the cue's timing, the name on its own line, the text.
        let s = txt("Transcript\n\n0:0:0.0 --> 0:0:5.270\nAnna Smith\nHello, can everyone hear me?\n\n0:0:5.270 --> 0:0:8.960\nBen Jones\nYes.\nLoud and clear.\n");
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!((label(&s[0]), s[0].start), ("Anna Smith", Some(0.0)));
        assert_eq!((label(&s[1]), s[1].start), ("Ben Jones", Some(5.27)));
        assert_eq!(s[1].text, "Yes. Loud and clear.");
        // A stage direction is not part of the speaker's name; a role in parentheses is.
        let s = txt("Anna (laughs): Not again.\nAnna: Really.\nBen (Interviewer): Why?\nCustomer (wife): Yes.\nCustomer (husband): No.\n");
        assert_eq!((label(&s[0]), label(&s[1])), ("Anna", "Anna"));
        assert_eq!(label(&s[2]), "Ben (Interviewer)");
        assert_eq!(
            (label(&s[3]), label(&s[4])),
            ("Customer (wife)", "Customer (husband)")
        );
        // Teams names as the directory writes them; a subtitle file saved as .txt keeps its
        // one-word answers.
        let s = txt("0:0:0.0 --> 0:0:5.270\nSmith, Anna\nHello, can everyone hear me?\n");
        assert_eq!(
            (label(&s[0]), s[0].text.as_str()),
            ("Smith, Anna", "Hello, can everyone hear me?")
        );
        let s = txt("1\n00:00:01,000 --> 00:00:03,000\nInterviewer: How was it?\n\n2\n00:00:04,000 --> 00:00:05,000\nLate\n\n3\n00:00:06,000 --> 00:00:07,000\nInterviewer: Why?\n");
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!((s[1].text.as_str(), s[1].start), ("Late", Some(4.0)));
        // A remark in parentheses is no stamp.
        let s = txt("Anna: It was (honestly): slow.\n");
        assert_eq!(
            (label(&s[0]), s[0].text.as_str()),
            ("Anna", "It was (honestly): slow.")
        );
    }

    /// A Word transcript reads like its text; a broken one and a PDF get errors that say what to
    /// do.
    #[test]
    fn docx_transcripts_and_documents_sowhat_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let para = |s: &str| format!("<w:p><w:r><w:t xml:space=\"preserve\">{s}</w:t></w:r></w:p>");
        let body = [
            para("Interviewer&#9;0:05"),
            para("How was the delivery?"),
            para(""),
            para("Jonas Petraitis (00:09):"),
            para("Siuntinys vėlavo dvi savaites."),
        ]
        .concat();
        let p = dir.path().join("Interview 3 (Jonas).docx");
        std::fs::write(&p, crate::transcript::docx::tests::docx(&body)).unwrap();
        assert!(is_transcript_path(&p));
        let t = read_file(&p).unwrap();
        assert_eq!(t.id, "interview-3-jonas");
        assert_eq!(t.segments.len(), 2, "{:?}", t.segments);
        assert_eq!(
            (label(&t.segments[1]), t.segments[1].start),
            ("Jonas Petraitis", Some(9.0))
        );
        assert_eq!(t.segments[1].text, "Siuntinys vėlavo dvi savaites.");

        let bad = dir.path().join("renamed.docx");
        std::fs::write(&bad, "Anna: hello").unwrap();
        let e = read_file(&bad).unwrap_err().to_string();
        assert!(
            e.contains("renamed.docx") && e.contains("not a Word .docx") && e.contains(".txt"),
            "{e}"
        );
        let pdf = dir.path().join("notes.pdf");
        assert!(unread_document(&pdf)
            .unwrap()
            .contains("export the transcript"));
        assert!(unread_document(&dir.path().join("old.DOC"))
            .unwrap()
            .contains(".docx"));
        assert_eq!(unread_document(&p), None);
    }

    #[test]
    fn serdif_transcripts_read() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/eval/serdif-dev/transcripts/P1.txt");
        if let Ok(t) = read_file(&p) {
            assert!(t.segments.len() > 20);
            assert!(
                t.segments
                    .iter()
                    .all(|s| matches!(label(s), "Moderator" | "Participant")),
                "{:?}",
                t.segments
                    .iter()
                    .map(label)
                    .collect::<std::collections::BTreeSet<_>>()
            );
        }
    }
}
