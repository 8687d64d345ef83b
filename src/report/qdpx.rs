//! REFI-QDA project exchange (`.qdpx`, QDA-XML 1.0): write the study for ATLAS.ti, MAXQDA,
//! NVivo, QualCoder …, and read back the codings a researcher made in one of them.
//!
//! A `.qdpx` is a ZIP holding `project.qde` (XML in the namespace `urn:QDA-XML:project:1.0`,
//! valid against the REFI `Project.xsd`) and a `sources/` folder with the source files, referred
//! to as `internal://<guid>.<ext>`.
//!
//! Facts from the standard (REFI-QDA 1.5, §9.1.2 and §10.2) this module relies on:
//! - a plain-text source is a UTF-8 `.txt` file;
//! - a text selection is counted in **Unicode code points** (Rust `char`s, not bytes, not
//!   UTF-16 units), the first code point being 0; the standard's own example
//!   (`startPosition="215" endPosition="275"` for a 60-character sentence) shows that
//!   `endPosition` is exclusive, i.e. the selection is `chars[start..end]`.
//!
//! What `write` puts in the project:
//! - one user, "sowhat";
//! - the codebook: one `<Code>` per theme (name, colour by kind, a `<Description>` with kind,
//!   verdict, reason and numbers, and a `<NoteRef>` to its story, if any);
//! - one `<Variable>` (typed Text) per participant attribute, and one `<Case>` per
//!   participant with its `<VariableValue>`s and `<SourceRef>`s to its transcript(s);
//! - one `<TextSource>` per transcript, its text rendered as `[hh:mm:ss] Speaker: text` lines
//!   (LF line ends, no BOM, so that one line break is one code point for every importer),
//!   stored as `sources/<guid>.txt`; one `<PlainTextSelection>` with one `<Coding>` per
//!   mention, over the mention's verbatim text;
//! - one `<Note>` per story (headline, observation, implication, confidence, quotes).
//!
//! Every GUID is a UUID v5 derived from content (theme id, transcript source, mention …), and
//! the ZIP entries carry a fixed timestamp, so the same insights give the same bytes.

use crate::report::markdown::plural;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Cursor, Read, Write};

use uuid::Uuid;

use crate::types::{Insights, Mention, Speaker, ThemeKind, Transcript, Verdict};

/// One coded quote: the selected text, the code's name, the name of the source it was
/// selected in, and the participant (case) it belongs to when the project or table says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coded {
    pub text: String,
    pub code: String,
    pub source: String,
    /// From a `.qdpx`: the case whose `<SelectionRef>` holds the selection, else the only case
    /// linked to the source by `<SourceRef>`. From a quote table: its participant column.
    pub participant: Option<String>,
}

/// A mention that could not be placed in its transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub participant: String,
    pub source: String,
    pub theme: String,
    pub text: String,
    pub reason: String,
}

/// What `write_with_report` did, for the terminal summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteReport {
    /// Mentions written as coded selections.
    pub codings: usize,
    /// Mentions left out, with why.
    pub skipped: Vec<Skipped>,
    /// Codes added for mentions whose theme is not in `insights.themes` (ids).
    pub extra_codes: Vec<String>,
    /// Of `codings`, mentions not found verbatim in one segment but found once whitespace is
    /// collapsed, possibly running over consecutive lines (the selection then covers the line
    /// prefixes between them). sowhat's own mentions are single sentences and never need this;
    /// coded quotes imported from elsewhere sometimes do.
    pub approximate: usize,
}

/// What `read_codings_with_warnings` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    pub codings: Vec<Coded>,
    /// The text of every source with a coded selection, in document order.
    pub sources: Vec<SourceText>,
    /// Selections or sources that could not be read, in plain words.
    pub warnings: Vec<String>,
}

/// The plain text of a coded source: the interview its quotes come from.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceText {
    pub name: String,
    pub text: String,
    /// The source's case (participant), when it has exactly one.
    pub case: Option<String>,
}

/// Bytes of a `.qdpx` project with the study's codebook, transcripts, codings, cases and stories.
pub fn write(insights: &Insights, transcripts: &[Transcript]) -> Result<Vec<u8>, String> {
    write_with_report(insights, transcripts).map(|(bytes, _)| bytes)
}

/// Like [`write`], and says which mentions could not be placed (their text was not found in
/// their transcript, or there is no transcript for their source).
pub fn write_with_report(
    insights: &Insights,
    transcripts: &[Transcript],
) -> Result<(Vec<u8>, WriteReport), String> {
    let (qde, files, report) = build_project(insights, transcripts);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let mut put = |name: &str, data: &[u8]| -> Result<(), String> {
        zip.start_file(name, options)
            .map_err(|e| format!("cannot write {name} into the .qdpx: {e}"))?;
        zip.write_all(data)
            .map_err(|e| format!("cannot write {name} into the .qdpx: {e}"))
    };
    put("project.qde", qde.as_bytes())?;
    for (name, text) in &files {
        put(name, text.as_bytes())?;
    }
    let bytes = zip
        .finish()
        .map_err(|e| format!("cannot finish the .qdpx archive: {e}"))?
        .into_inner();
    Ok((bytes, report))
}

/// The plain text a transcript is given as in the project: one line per segment,
/// `[hh:mm:ss] Speaker: text` (time left out when unknown, speaker left out when unknown),
/// each line ended by `\n`. Line breaks inside a segment become spaces.
pub fn render_transcript(t: &Transcript) -> String {
    render(t).text
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

const USER_NAME: &str = "sowhat";

fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:sowhat:qdpx")
}

/// A deterministic GUID for `kind` + `key` (upper case, as ATLAS.ti, MAXQDA and NVivo write them).
fn guid(kind: &str, key: &str) -> String {
    let name = format!("{kind}\u{1f}{key}");
    Uuid::new_v5(&namespace(), name.as_bytes())
        .hyphenated()
        .to_string()
        .to_uppercase()
}

fn kind_color(k: ThemeKind) -> &'static str {
    match k {
        ThemeKind::Pain => "#D64545",
        ThemeKind::Delight => "#2E9E5B",
        ThemeKind::Request => "#3A6FD8",
        ThemeKind::Neutral => "#8A8A8A",
    }
}

fn hms(seconds: f64) -> String {
    let t = if seconds.is_finite() && seconds > 0.0 {
        seconds.floor() as u64
    } else {
        0
    };
    format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60)
}

/// Text on one line: every line break becomes a space; trimmed.
fn one_line(s: &str) -> String {
    let s = s.replace("\r\n", " ");
    s.chars()
        .map(|c| match c {
            '\r' | '\n' | '\u{2028}' | '\u{2029}' | '\u{85}' => ' ',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

struct SegSpan {
    /// Byte range of the segment's text in the rendered text.
    byte_start: usize,
    byte_end: usize,
    /// Code-point offset of `byte_start`.
    char_start: usize,
    start: Option<f64>,
    end: Option<f64>,
    speaker: Option<Speaker>,
}

struct Rendered {
    text: String,
    segs: Vec<SegSpan>,
    /// The spoken text alone (segment bodies joined by one space, whitespace runs collapsed),
    /// and for each of its characters the code-point offset in `text`.
    spoken: String,
    spoken_at: Vec<usize>,
}

fn render(t: &Transcript) -> Rendered {
    let mut text = String::new();
    let mut chars = 0usize;
    let mut segs = Vec::new();
    for seg in &t.segments {
        let body = one_line(&seg.text);
        if body.is_empty() {
            continue;
        }
        let mut prefix = String::new();
        if let Some(s) = seg.start.filter(|s| s.is_finite()) {
            prefix.push_str(&format!("[{}] ", hms(s)));
        }
        if let Some(sp) = &seg.speaker {
            prefix.push_str(&one_line(sp.display()));
            prefix.push_str(": ");
        }
        text.push_str(&prefix);
        chars += prefix.chars().count();
        let byte_start = text.len();
        text.push_str(&body);
        segs.push(SegSpan {
            byte_start,
            byte_end: text.len(),
            char_start: chars,
            start: seg.start.filter(|s| s.is_finite()),
            end: seg.end.filter(|s| s.is_finite()),
            speaker: seg.speaker.clone(),
        });
        chars += body.chars().count();
        text.push('\n');
        chars += 1;
    }
    let mut spoken = String::new();
    let mut spoken_at = Vec::new();
    for s in &segs {
        let mut at = s.char_start;
        for c in text[s.byte_start..s.byte_end].chars() {
            if c.is_whitespace() {
                if !spoken.is_empty() && !spoken.ends_with(' ') {
                    spoken.push(' ');
                    spoken_at.push(at);
                }
            } else {
                spoken.push(c);
                spoken_at.push(at);
            }
            at += 1;
        }
        if !spoken.is_empty() && !spoken.ends_with(' ') {
            spoken.push(' ');
            spoken_at.push(at);
        }
    }
    Rendered {
        text,
        segs,
        spoken,
        spoken_at,
    }
}

/// Code-point range of a mention's text in the rendered transcript: first in the segment(s)
/// whose time range holds `mention.start`, then in the participant's own segments, then the
/// first occurrence anywhere.
fn locate(r: &Rendered, m: &Mention) -> Option<(usize, usize)> {
    let needle = one_line(&m.text);
    if needle.is_empty() {
        return None;
    }
    let len = needle.chars().count();
    let in_seg = |s: &SegSpan| -> Option<(usize, usize)> {
        let hay = &r.text[s.byte_start..s.byte_end];
        hay.find(&needle).map(|b| {
            let start = s.char_start + hay[..b].chars().count();
            (start, start + len)
        })
    };
    const EPS: f64 = 0.05;
    if let Some(t) = m.start.filter(|t| t.is_finite()) {
        for s in &r.segs {
            let holds = match (s.start, s.end) {
                (Some(a), Some(b)) => a - EPS <= t && t <= b + EPS,
                (Some(a), None) => a - EPS <= t,
                _ => false,
            };
            if holds {
                if let Some(found) = in_seg(s) {
                    return Some(found);
                }
            }
        }
    }
    for s in &r.segs {
        let own = match &s.speaker {
            Some(Speaker::Participant(id)) | Some(Speaker::Label(id)) => *id == m.participant,
            _ => false,
        };
        if own {
            if let Some(found) = in_seg(s) {
                return Some(found);
            }
        }
    }
    for s in &r.segs {
        if let Some(found) = in_seg(s) {
            return Some(found);
        }
    }
    r.text.find(&needle).map(|b| {
        let start = r.text[..b].chars().count();
        (start, start + len)
    })
}

/// Second chance: the mention's words with whitespace collapsed, found in the spoken text
/// (which may run over several segments). Returns the code-point range in the rendered text.
fn locate_loose(r: &Rendered, m: &Mention) -> Option<(usize, usize)> {
    let needle = m.text.split_whitespace().collect::<Vec<_>>().join(" ");
    if needle.is_empty() {
        return None;
    }
    let b = r.spoken.find(&needle)?;
    let first = r.spoken[..b].chars().count();
    let last = first + needle.chars().count() - 1;
    Some((r.spoken_at[first], r.spoken_at[last] + 1))
}

/// Replaces characters XML 1.0 does not allow (even escaped) with U+FFFD.
fn xml_char(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        c if (c as u32) < 0x20 => '\u{FFFD}',
        '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
        c => c,
    }
}

/// Escapes element text. `\r` is written as `&#13;` so that XML end-of-line handling keeps it.
fn esc_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(xml_char) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value (double-quoted); tabs and line breaks as character references so
/// that attribute-value normalisation keeps them.
fn esc_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(xml_char) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// True for an `xsd:dateTime` such as `2024-05-01T10:00:00Z` or `…T10:00:00.5+02:00`.
fn is_xsd_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 19
        || !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        || b[10] != b'T'
        || !(digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':' && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == from {
            return false;
        }
    }
    match &b[i..] {
        [] | [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|x| x.is_ascii_digit()),
        _ => false,
    }
}

fn truncate_chars(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t = t.trim_end().to_string();
        t.push('…');
        t
    }
}

fn percent(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

struct Project {
    xml: String,
    indent: usize,
}

impl Project {
    fn line(&mut self, s: &str) {
        for _ in 0..self.indent {
            self.xml.push_str("  ");
        }
        self.xml.push_str(s);
        self.xml.push('\n');
    }
    fn open(&mut self, s: &str) {
        self.line(s);
        self.indent += 1;
    }
    fn close(&mut self, s: &str) {
        self.indent -= 1;
        self.line(s);
    }
    fn element(&mut self, name: &str, text: &str) {
        let s = format!("<{name}>{}</{name}>", esc_text(text));
        self.line(&s);
    }
}

fn attrs(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(&format!(" {k}=\"{}\"", esc_attr(v)));
    }
    out
}

fn build_project(
    insights: &Insights,
    transcripts: &[Transcript],
) -> (String, Vec<(String, String)>, WriteReport) {
    let mut report = WriteReport::default();
    let user = guid("user", USER_NAME);
    let when = Some(insights.study.generated.trim())
        .filter(|s| is_xsd_datetime(s))
        .map(str::to_string);
    let stamp = |v: &mut Vec<(&'static str, String)>| {
        v.push(("creatingUser", user.clone()));
        if let Some(w) = &when {
            v.push(("creationDateTime", w.clone()));
        }
    };
    let n_participants = insights.participants.len();

    // Transcripts → sources (a repeated source name gets a GUID of its own, mentions go to the first).
    let mut source_guid: HashMap<&str, String> = HashMap::new();
    let mut sources: Vec<(String, &Transcript, Rendered)> = Vec::new();
    for (i, t) in transcripts.iter().enumerate() {
        let g = if source_guid.contains_key(t.source.as_str()) {
            guid("source", &format!("{}\u{1f}{i}", t.source))
        } else {
            guid("source", &t.source)
        };
        source_guid
            .entry(t.source.as_str())
            .or_insert_with(|| g.clone());
        sources.push((g, t, render(t)));
    }

    // Themes → codes (plus a code for any mention whose theme is not listed).
    let mut code_guid: BTreeMap<String, String> = BTreeMap::new();
    for th in &insights.themes {
        code_guid
            .entry(th.id.clone())
            .or_insert_with(|| guid("code", &th.id));
    }
    let mut extra: BTreeMap<String, ThemeKind> = BTreeMap::new();
    for m in &insights.mentions {
        if !code_guid.contains_key(&m.theme) {
            code_guid.insert(m.theme.clone(), guid("code", &m.theme));
            extra.insert(m.theme.clone(), m.kind);
        }
    }
    report.extra_codes = extra.keys().cloned().collect();

    // Stories → notes.
    let notes: Vec<(String, &crate::types::Story)> = insights
        .stories
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                guid("note", &format!("{i}\u{1f}{}\u{1f}{}", s.theme, s.headline)),
                s,
            )
        })
        .collect();

    // Mentions → selections, per source.
    let mut selections: Vec<Vec<(usize, usize, String, &Mention)>> =
        vec![Vec::new(); sources.len()];
    let index_of: HashMap<&str, usize> = sources
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (_, t, _))| (t.source.as_str(), i))
        .collect();
    for (i, m) in insights.mentions.iter().enumerate() {
        let skip = |reason: &str| Skipped {
            participant: m.participant.clone(),
            source: m.source.clone(),
            theme: m.theme.clone(),
            text: m.text.clone(),
            reason: reason.to_string(),
        };
        let Some(&si) = index_of.get(m.source.as_str()) else {
            report.skipped.push(skip("no transcript with this source"));
            continue;
        };
        let exact = locate(&sources[si].2, m);
        let found = exact.or_else(|| {
            let loose = locate_loose(&sources[si].2, m);
            report.approximate += loose.is_some() as usize;
            loose
        });
        match found {
            Some((a, b)) => {
                let g = guid(
                    "selection",
                    &format!("{i}\u{1f}{}\u{1f}{}\u{1f}{a}\u{1f}{b}", m.source, m.theme),
                );
                selections[si].push((a, b, g, m));
                report.codings += 1;
            }
            None => report
                .skipped
                .push(skip("text not found in the transcript")),
        }
    }
    for sel in &mut selections {
        sel.sort_by_key(|x| (x.0, x.1));
    }

    // Variables: participant attributes (and language), all typed Text.
    let mut var_names: BTreeSet<String> = BTreeSet::new();
    for p in &insights.participants {
        var_names.extend(p.attributes.keys().cloned());
        if p.language.is_some() {
            var_names.insert("language".to_string());
        }
    }

    let mut x = Project {
        xml: String::new(),
        indent: 0,
    };
    x.line(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let title = if insights.study.title.trim().is_empty() {
        "sowhat study".to_string()
    } else {
        insights.study.title.trim().to_string()
    };
    let origin = if insights.study.tool.trim().is_empty() {
        "sowhat".to_string()
    } else {
        insights.study.tool.trim().to_string()
    };
    let mut pa: Vec<(&str, &str)> = vec![
        ("xmlns", "urn:QDA-XML:project:1.0"),
        ("name", &title),
        ("origin", &origin),
        ("creatingUserGUID", &user),
    ];
    if let Some(w) = &when {
        pa.push(("creationDateTime", w));
    }
    x.open(&format!("<Project{}>", attrs(&pa)));

    x.open("<Users>");
    x.line(&format!(
        "<User{}/>",
        attrs(&[("guid", &user), ("name", USER_NAME)])
    ));
    x.close("</Users>");

    // Codebook.
    if !code_guid.is_empty() {
        x.open("<CodeBook>");
        x.open("<Codes>");
        let mut seen = BTreeSet::new();
        for th in &insights.themes {
            if !seen.insert(th.id.clone()) {
                continue;
            }
            let g = &code_guid[&th.id];
            let name = if th.name.trim().is_empty() {
                th.id.as_str()
            } else {
                th.name.as_str()
            };
            x.open(&format!(
                "<Code{}>",
                attrs(&[
                    ("guid", g),
                    ("name", name),
                    ("isCodable", "true"),
                    ("color", kind_color(th.kind))
                ])
            ));
            let verdict = match th.verdict {
                Verdict::Keep => "keep",
                Verdict::Drop => "drop",
            };
            let mut d = format!(
                "Kind: {}. Verdict: {verdict} — {}\nTheme id: {}; origin: {}.\nParticipants: {} of {n_participants} ({}); mentions: {}; severity: {} of 4; priority: {:.2}.",
                th.kind.as_str(),
                th.reason.trim(),
                th.id,
                match th.origin {
                    crate::types::Origin::Codebook => "codebook",
                    crate::types::Origin::Discovered => "discovered",
                },
                th.participants.len(),
                percent(th.prevalence),
                th.mentions,
                th.severity,
                th.priority,
            );
            if th.single_source {
                d.push_str("\nSingle-source critical: kept on one participant's evidence.");
            }
            if !th.description.trim().is_empty() {
                d.push_str("\n\n");
                d.push_str(th.description.trim());
            }
            x.element("Description", &d);
            for (ng, s) in &notes {
                if s.theme == th.id {
                    x.line(&format!("<NoteRef{}/>", attrs(&[("targetGUID", ng)])));
                }
            }
            x.close("</Code>");
        }
        for (id, kind) in &extra {
            let g = &code_guid[id];
            x.open(&format!(
                "<Code{}>",
                attrs(&[
                    ("guid", g),
                    ("name", id),
                    ("isCodable", "true"),
                    ("color", kind_color(*kind))
                ])
            ));
            x.element(
                "Description",
                &format!(
                    "Kind: {}. Theme id: {id}; mentioned, but not in the study's theme list.",
                    kind.as_str()
                ),
            );
            x.close("</Code>");
        }
        x.close("</Codes>");
        x.close("</CodeBook>");
    }

    // Variables.
    if !var_names.is_empty() {
        x.open("<Variables>");
        for v in &var_names {
            let desc = if v == "language"
                && !insights
                    .participants
                    .iter()
                    .any(|p| p.attributes.contains_key("language"))
            {
                "Language of the participant's interview (ISO 639-1)".to_string()
            } else {
                format!("Participant attribute '{v}' (participants.csv)")
            };
            x.open(&format!(
                "<Variable{}>",
                attrs(&[
                    ("guid", &guid("variable", v)),
                    ("name", v),
                    ("typeOfVariable", "Text")
                ])
            ));
            x.element("Description", &desc);
            x.close("</Variable>");
        }
        x.close("</Variables>");
    }

    // Cases.
    if !insights.participants.is_empty() {
        x.open("<Cases>");
        let mut seen = BTreeSet::new();
        for p in &insights.participants {
            if !seen.insert(p.id.clone()) {
                continue;
            }
            x.open(&format!(
                "<Case{}>",
                attrs(&[("guid", &guid("case", &p.id)), ("name", &p.id)])
            ));
            let mut d = format!("Participant {}; source: {}", p.id, p.source);
            if let Some(l) = &p.language {
                d.push_str(&format!("; language: {l}"));
            }
            x.element("Description", &d);
            let mut values: BTreeMap<&str, &str> = p
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(l) = &p.language {
                values.entry("language").or_insert(l.as_str());
            }
            for (k, v) in values {
                x.open("<VariableValue>");
                x.line(&format!(
                    "<VariableRef{}/>",
                    attrs(&[("targetGUID", &guid("variable", k))])
                ));
                x.element("TextValue", v);
                x.close("</VariableValue>");
            }
            // Sources: the participant's own, those of its mentions, those where it speaks.
            let mut refs: Vec<&str> = Vec::new();
            fn add<'a>(g: &'a str, refs: &mut Vec<&'a str>) {
                if !refs.contains(&g) {
                    refs.push(g);
                }
            }
            for (g, t, _) in &sources {
                let speaks = t
                    .segments
                    .iter()
                    .any(|s| matches!(&s.speaker, Some(Speaker::Participant(id)) if *id == p.id));
                if t.source == p.source || speaks {
                    add(g, &mut refs);
                }
            }
            for m in insights.mentions.iter().filter(|m| m.participant == p.id) {
                if let Some(g) = source_guid.get(m.source.as_str()) {
                    add(g, &mut refs);
                }
            }
            for g in refs {
                x.line(&format!("<SourceRef{}/>", attrs(&[("targetGUID", g)])));
            }
            for sels in &selections {
                for (_, _, sg, m) in sels {
                    if m.participant == p.id {
                        x.line(&format!("<SelectionRef{}/>", attrs(&[("targetGUID", sg)])));
                    }
                }
            }
            x.close("</Case>");
        }
        x.close("</Cases>");
    }

    // Sources.
    let mut files = Vec::new();
    if !sources.is_empty() {
        x.open("<Sources>");
        for ((g, t, r), sels) in sources.iter().zip(&selections) {
            let file = format!("{g}.txt");
            let path = format!("internal://{file}");
            let mut a: Vec<(&str, String)> = vec![
                ("guid", g.clone()),
                ("name", t.source.clone()),
                ("plainTextPath", path),
            ];
            stamp(&mut a);
            let a: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
            x.open(&format!("<TextSource{}>", attrs(&a)));
            let mut d = format!("Transcript {} of {}", t.id, t.source);
            if let Some(l) = &t.language {
                d.push_str(&format!("; language: {l}"));
            }
            if let Some(s) = t.duration.filter(|s| s.is_finite()) {
                d.push_str(&format!("; length: {}", hms(s)));
            }
            if let Some(p) = &t.provenance {
                d.push_str(&format!("; transcribed by {} with {}", p.tool, p.model));
            }
            d.push_str(". Lines read [hh:mm:ss] Speaker: text.");
            x.element("Description", &d);
            for (a0, b0, sg, m) in sels {
                let (a0, b0) = (a0.to_string(), b0.to_string());
                let name = truncate_chars(&one_line(&m.text), 60);
                let mut sa: Vec<(&str, String)> = vec![
                    ("guid", sg.clone()),
                    ("name", name),
                    ("startPosition", a0),
                    ("endPosition", b0),
                ];
                stamp(&mut sa);
                let sa: Vec<(&str, &str)> = sa.iter().map(|(k, v)| (*k, v.as_str())).collect();
                x.open(&format!("<PlainTextSelection{}>", attrs(&sa)));
                let mut d = m.participant.clone();
                if let Some(s) = m.start.filter(|s| s.is_finite()) {
                    d.push_str(&format!(" at {}", hms(s)));
                }
                d.push_str(&format!(
                    "; theme {} ({}); severity {} of 4; found by {} with score {:.2}",
                    m.theme,
                    m.kind.as_str(),
                    m.pain,
                    serde_json::to_value(m.method)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    m.score
                ));
                if !m.cues.is_empty() {
                    d.push_str(&format!("; cues: {}", m.cues.join(", ")));
                }
                x.element("Description", &d);
                let mut ca: Vec<(&str, String)> = vec![("guid", guid("coding", sg))];
                stamp(&mut ca);
                let ca: Vec<(&str, &str)> = ca.iter().map(|(k, v)| (*k, v.as_str())).collect();
                x.open(&format!("<Coding{}>", attrs(&ca)));
                x.line(&format!(
                    "<CodeRef{}/>",
                    attrs(&[("targetGUID", &code_guid[&m.theme])])
                ));
                x.close("</Coding>");
                x.close("</PlainTextSelection>");
            }
            x.close("</TextSource>");
            files.push((format!("sources/{file}"), r.text.clone()));
        }
        x.close("</Sources>");
    }

    // Notes: one per story.
    if !notes.is_empty() {
        x.open("<Notes>");
        for (g, s) in &notes {
            let mut na: Vec<(&str, String)> = vec![
                ("guid", g.clone()),
                ("name", format!("Story: {}", one_line(&s.headline))),
            ];
            stamp(&mut na);
            let na: Vec<(&str, &str)> = na.iter().map(|(k, v)| (*k, v.as_str())).collect();
            x.open(&format!("<Note{}>", attrs(&na)));
            x.element("PlainTextContent", &story_text(s));
            x.close("</Note>");
        }
        x.close("</Notes>");
    }

    let mut desc = format!("Insight brief made by {origin}");
    if !insights.study.codebook.is_empty() {
        desc.push_str(&format!(
            " with the codebook \"{}\"",
            insights.study.codebook
        ));
    }
    desc.push_str(&format!(
        ". {}, {}, {}, {}.",
        plural(
            insights.study.interviews.max(transcripts.len()),
            "interview",
            "interviews"
        ),
        plural(n_participants, "participant", "participants"),
        plural(insights.themes.len(), "theme", "themes"),
        plural(report.codings, "coded mention", "coded mentions")
    ));
    if !insights.study.rules.trim().is_empty() {
        desc.push_str(&format!("\nRules: {}", insights.study.rules.trim()));
    }
    if !insights.saturation.statement.trim().is_empty() {
        desc.push_str(&format!(
            "\nSaturation: {}",
            insights.saturation.statement.trim()
        ));
    }
    x.element("Description", &desc);
    x.close("</Project>");
    (x.xml, files, report)
}

fn story_text(s: &crate::types::Story) -> String {
    let conf = match s.confidence {
        crate::types::Confidence::High => "high",
        crate::types::Confidence::Medium => "medium",
        crate::types::Confidence::Low => "low",
    };
    let mut t = format!(
        "{}\n\nObservation: {}\n\nImplication: {}\n\nConfidence: {conf}",
        s.headline.trim(),
        s.observation.trim(),
        s.implication.trim()
    );
    if !s.confidence_reason.trim().is_empty() {
        t.push_str(&format!(" ({})", s.confidence_reason.trim()));
    }
    t.push_str(&format!("\n\nTheme: {}", s.theme));
    if !s.quotes.is_empty() {
        t.push_str("\n\nEvidence:");
        for q in &s.quotes {
            let at = q
                .start
                .filter(|x| x.is_finite())
                .map(|x| format!(" at {}", hms(x)))
                .unwrap_or_default();
            t.push_str(&format!(
                "\n- \"{}\" — {}, {}{at}",
                one_line(&q.text),
                q.participant,
                q.source
            ));
        }
    }
    t
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Every coded text selection in a `.qdpx` (from NVivo, ATLAS.ti, MAXQDA, QualCoder or sowhat):
/// the selected text, the code's name and the source's name, in document order. A selection
/// with several codings gives one `Coded` per coding. Also accepts a bare `project.qde`.
pub fn read_codings(bytes: &[u8]) -> Result<Vec<Coded>, String> {
    read_codings_with_warnings(bytes).map(|r| r.codings)
}

/// Like [`read_codings`], and says what could not be read (missing source files, unknown codes,
/// selections outside their text).
pub fn read_codings_with_warnings(bytes: &[u8]) -> Result<ReadReport, String> {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let qde: String;
    if bytes.starts_with(b"PK") {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| format!("not a readable .qdpx (ZIP) file: {e}"))?;
        for i in 0..zip.len() {
            let mut f = zip
                .by_index(i)
                .map_err(|e| format!("cannot read entry {i} of the .qdpx: {e}"))?;
            if f.is_dir() {
                continue;
            }
            let name = f.name().replace('\\', "/");
            let mut data = Vec::new();
            f.read_to_end(&mut data)
                .map_err(|e| format!("cannot read {name} in the .qdpx: {e}"))?;
            entries.push((name, data));
        }
        let qi = entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case("project.qde"))
            .or_else(|| {
                entries
                    .iter()
                    .position(|(n, _)| n.to_ascii_lowercase().ends_with(".qde"))
            })
            .ok_or("not a REFI-QDA project: the .qdpx holds no project.qde")?;
        qde = decode_text(&entries[qi].1);
    } else {
        qde = decode_text(bytes);
        if !qde.trim_start().starts_with('<') {
            return Err("not a REFI-QDA project: neither a .qdpx (ZIP) nor project XML".into());
        }
    }
    let root = parse_dom(&qde)?;
    if root.name != "Project" {
        return Err(format!(
            "not a REFI-QDA project: the XML root is <{}>, not <Project>",
            root.name
        ));
    }

    let mut by_path: HashMap<String, usize> = HashMap::new();
    let mut by_base: HashMap<String, usize> = HashMap::new();
    for (i, (n, _)) in entries.iter().enumerate() {
        let low = n.to_lowercase();
        by_base
            .entry(low.rsplit('/').next().unwrap_or(&low).to_string())
            .or_insert(i);
        by_path.entry(low).or_insert(i);
    }

    let mut codes: HashMap<String, String> = HashMap::new();
    for cb in root.children_named("CodeBook") {
        for cs in cb.children_named("Codes") {
            collect_codes(cs, &mut codes);
        }
    }

    // Cases: selection → case, source → cases.
    let mut case_of_selection: HashMap<String, String> = HashMap::new();
    let mut cases_of_source: HashMap<String, Vec<String>> = HashMap::new();
    for cs in root.children_named("Cases") {
        for c in cs.children_named("Case") {
            let Some(name) = c.attr("name").or(c.attr("guid")) else {
                continue;
            };
            for r in c.children_named("SelectionRef") {
                if let Some(t) = r.attr("targetGUID") {
                    case_of_selection
                        .entry(norm_guid(t))
                        .or_insert_with(|| name.to_string());
                }
            }
            for r in c.children_named("SourceRef") {
                if let Some(t) = r.attr("targetGUID") {
                    let v = cases_of_source.entry(norm_guid(t)).or_default();
                    if !v.iter().any(|n| n == name) {
                        v.push(name.to_string());
                    }
                }
            }
        }
    }

    let mut out = ReadReport::default();
    let mut text_sources: Vec<(&Node, String)> = Vec::new();
    for s in root.children_named("Sources") {
        find_text_sources(s, None, &mut text_sources);
    }
    for (ts, name) in text_sources {
        let sels: Vec<&Node> = ts.children_named("PlainTextSelection").collect();
        if sels.is_empty() {
            continue;
        }
        let text = if let Some(c) = ts.children_named("PlainTextContent").next() {
            Some(c.text.clone())
        } else if let Some(p) = ts.attr("plainTextPath") {
            let p = p.trim();
            let lower = p.to_lowercase();
            if let Some(rest) = lower.strip_prefix("internal://") {
                let rest = rest.trim_start_matches('/');
                let idx = by_path
                    .get(&format!("sources/{rest}"))
                    .or_else(|| by_path.get(rest))
                    .or_else(|| by_base.get(rest.rsplit('/').next().unwrap_or(rest)));
                match idx {
                    Some(&i) => Some(decode_text(&entries[i].1)),
                    None => {
                        out.warnings.push(format!(
                            "source \"{name}\": its text file {p} is not in the .qdpx"
                        ));
                        None
                    }
                }
            } else {
                out.warnings.push(format!(
                    "source \"{name}\": its text is outside the .qdpx ({p})"
                ));
                None
            }
        } else {
            out.warnings.push(format!(
                "source \"{name}\" has neither PlainTextContent nor plainTextPath"
            ));
            None
        };
        let Some(text) = text else { continue };
        let source_case = ts
            .attr("guid")
            .and_then(|g| cases_of_source.get(&norm_guid(g)))
            .filter(|v| v.len() == 1)
            .map(|v| v[0].clone());
        out.sources.push(SourceText {
            name: name.clone(),
            text: text.clone(),
            case: source_case.clone(),
        });
        let raw: Vec<char> = text.chars().collect();
        let alt: Option<Vec<char>> = text
            .contains('\r')
            .then(|| text.replace("\r\n", "\n").chars().collect());
        for sel in sels {
            let pos = |k: &str| sel.attr(k).and_then(|v| v.trim().parse::<i64>().ok());
            let (Some(a), Some(b)) = (pos("startPosition"), pos("endPosition")) else {
                out.warnings.push(format!(
                    "source \"{name}\": a selection without numeric positions was skipped"
                ));
                continue;
            };
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            let len = raw.len() as i64;
            if a < 0 || a >= len {
                out.warnings.push(format!(
                    "source \"{name}\": selection {a}–{b} lies outside its {len} characters"
                ));
                continue;
            }
            let selected = pick_slice(
                &raw,
                alt.as_deref(),
                a as usize,
                b.min(len) as usize,
                sel.attr("name"),
            );
            if b > len {
                out.warnings.push(format!(
                    "source \"{name}\": selection {a}–{b} cut at the end of the text ({len})"
                ));
            }
            let participant = sel
                .attr("guid")
                .and_then(|g| case_of_selection.get(&norm_guid(g)).cloned())
                .or_else(|| source_case.clone());
            for coding in sel.children_named("Coding") {
                for cr in coding.children_named("CodeRef") {
                    let target = cr.attr("targetGUID").map(norm_guid).unwrap_or_default();
                    match codes.get(&target) {
                        Some(code) => out.codings.push(Coded {
                            text: selected.clone(),
                            code: code.clone(),
                            source: name.clone(),
                            participant: participant.clone(),
                        }),
                        None => out.warnings.push(format!(
                            "source \"{name}\": a coding refers to an unknown code {target}"
                        )),
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The selected code points. When the text has CRLF line ends and the selection's `name`
/// (tools put the start of the selected text there) matches only when CRLF counts as one
/// character, that reading is used.
fn pick_slice(
    raw: &[char],
    alt: Option<&[char]>,
    a: usize,
    b: usize,
    name: Option<&str>,
) -> String {
    let slice = |t: &[char]| -> String { t[a.min(t.len())..b.min(t.len())].iter().collect() };
    let first = slice(raw);
    let (Some(alt), Some(name)) = (alt, name) else {
        return first;
    };
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let hint: String = squash(name)
        .trim_end_matches('…')
        .chars()
        .take(24)
        .collect();
    if hint.chars().count() < 4 || squash(&first).starts_with(&hint) {
        return first;
    }
    let second = slice(alt);
    if squash(&second).starts_with(&hint) {
        second
    } else {
        first
    }
}

fn norm_guid(s: &str) -> String {
    s.trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_uppercase()
}

fn collect_codes(parent: &Node, codes: &mut HashMap<String, String>) {
    for c in parent.children_named("Code") {
        if let Some(g) = c.attr("guid") {
            codes.insert(norm_guid(g), c.attr("name").unwrap_or("").to_string());
        }
        collect_codes(c, codes);
    }
}

/// TextSources, and the plain-text representations of PDF sources, with their names.
fn find_text_sources<'a>(
    n: &'a Node,
    parent_name: Option<&str>,
    out: &mut Vec<(&'a Node, String)>,
) {
    for c in &n.children {
        match c.name.as_str() {
            "TextSource" | "Representation" => {
                let name = c
                    .attr("name")
                    .filter(|s| !s.is_empty() && c.name == "TextSource")
                    .or(parent_name)
                    .or(c.attr("name"))
                    .or(c.attr("guid"))
                    .unwrap_or("")
                    .to_string();
                out.push((c, name));
            }
            "PDFSource" => find_text_sources(c, c.attr("name").or(c.attr("guid")), out),
            _ => {}
        }
    }
}

/// UTF-8 (BOM dropped), or UTF-16 with a BOM; other bytes are replaced with U+FFFD.
fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let utf16 = |rest: &[u8], le: bool| -> String {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// A minimal element tree: local names, attributes, and the element's own text.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    s.rsplit(':').next().unwrap_or(&s).to_string()
}

/// XML end-of-line handling (XML 1.0 §2.11): literal CRLF and CR become LF.
fn eol(s: &str) -> String {
    if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s.to_string()
    }
}

fn parse_dom(xml: &str) -> Result<Node, String> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    let where_ = |r: &quick_xml::Reader<&[u8]>| {
        let pos = r.buffer_position() as usize;
        let line = xml.as_bytes()[..pos.min(xml.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("project.qde line {line}")
    };
    let element = |e: &BytesStart, r: &quick_xml::Reader<&[u8]>| -> Result<Node, String> {
        let mut n = Node {
            name: local(e.name().as_ref()),
            ..Node::default()
        };
        for a in e.attributes() {
            let a = a.map_err(|err| format!("{}: bad attribute: {err}", where_(r)))?;
            let v = a
                .unescape_value()
                .map_err(|err| format!("{}: bad attribute value: {err}", where_(r)))?;
            n.attrs.push((local(a.key.as_ref()), v.into_owned()));
        }
        Ok(n)
    };
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let n = element(&e, &reader)?;
                stack.push(n);
            }
            Ok(Event::Empty(e)) => {
                let n = element(&e, &reader)?;
                stack.last_mut().unwrap().children.push(n);
            }
            Ok(Event::End(_)) => {
                if stack.len() < 2 {
                    return Err(format!("{}: unbalanced end tag", where_(&reader)));
                }
                let n = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(n);
            }
            Ok(Event::Text(t)) => {
                let raw = String::from_utf8_lossy(t.as_ref()).into_owned();
                let s = quick_xml::escape::unescape(&eol(&raw))
                    .map_err(|err| format!("{}: bad text: {err}", where_(&reader)))?
                    .into_owned();
                stack.last_mut().unwrap().text.push_str(&s);
            }
            Ok(Event::CData(t)) => {
                let raw = String::from_utf8_lossy(t.as_ref()).into_owned();
                stack.last_mut().unwrap().text.push_str(&eol(&raw));
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("{}: not well-formed XML: {e}", where_(&reader))),
        }
    }
    if stack.len() != 1 {
        return Err("project.qde ends before its elements are closed".into());
    }
    let doc = stack.pop().unwrap();
    doc.children
        .into_iter()
        .next()
        .ok_or_else(|| "project.qde holds no XML element".to_string())
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;
    use std::collections::BTreeMap;

    fn seg(start: Option<f64>, end: Option<f64>, who: Option<Speaker>, text: &str) -> Segment {
        Segment {
            start,
            end,
            speaker: who,
            text: text.into(),
            confidence: None,
        }
    }

    fn mention(
        p: &str,
        src: &str,
        text: &str,
        start: Option<f64>,
        theme: &str,
        kind: ThemeKind,
    ) -> Mention {
        Mention {
            participant: p.into(),
            source: src.into(),
            text: text.into(),
            start,
            end: start.map(|s| s + 2.0),
            theme: theme.into(),
            kind,
            score: 0.8,
            method: Method::Keyword,
            pain: 3,
            cues: vec!["deliver*".into()],
        }
    }

    fn theme(id: &str, name: &str, kind: ThemeKind, verdict: Verdict) -> ThemeStats {
        ThemeStats {
            id: id.into(),
            name: name.into(),
            kind,
            origin: Origin::Codebook,
            description: "Orders arrive late & <untracked>".into(),
            participants: vec!["P01".into()],
            prevalence: 0.5,
            mentions: 2,
            severity: 3,
            priority: 1.5,
            verdict,
            reason: "kept: 50 % of participants \"said so\"".into(),
            single_source: false,
            segments: BTreeMap::new(),
        }
    }

    /// Two transcripts (English with times, Lithuanian/Russian/emoji without), awkward
    /// characters everywhere, a sentence that occurs twice, a mention that cannot be found.
    fn fixture() -> (Insights, Vec<Transcript>) {
        let p1 = Speaker::Participant("P01".into());
        let p2 = Speaker::Participant("P02".into());
        let mut t1 = Transcript::new("interviews/p01.m4a", "p01");
        t1.language = Some("en".into());
        t1.duration = Some(3725.0);
        t1.segments = vec![
            seg(
                Some(0.0),
                Some(3.0),
                Some(Speaker::Interviewer),
                "How was the delivery?",
            ),
            seg(
                Some(61.5),
                Some(70.0),
                Some(p1.clone()),
                "It was late. Nobody told me when it would arrive & I waited <all day>.",
            ),
            seg(
                Some(70.0),
                Some(75.0),
                Some(Speaker::Interviewer),
                "It was late?",
            ),
            seg(
                Some(3700.0),
                Some(3720.0),
                Some(p1.clone()),
                "It was late. The \"tracking\" page said 'delivered'.",
            ),
        ];
        let mut t2 = Transcript::new("interviews/p02.txt", "p02");
        t2.language = Some("lt".into());
        t2.segments = vec![
            seg(
                None,
                None,
                Some(Speaker::Label("Moderatorė".into())),
                "Kaip sekėsi?",
            ),
            seg(
                None,
                None,
                Some(p2.clone()),
                "Pristatymas vėlavo 😡 dvi dienas. Доставка опоздала на два дня.",
            ),
            seg(
                None,
                None,
                Some(p2.clone()),
                "Line one\nline two = still one line.",
            ),
        ];
        let mentions = vec![
            mention(
                "P01",
                "interviews/p01.m4a",
                "It was late.",
                Some(3701.0),
                "delivery",
                ThemeKind::Pain,
            ),
            mention(
                "P01",
                "interviews/p01.m4a",
                "Nobody told me when it would arrive & I waited <all day>.",
                Some(61.5),
                "communication",
                ThemeKind::Pain,
            ),
            mention(
                "P01",
                "interviews/p01.m4a",
                "The \"tracking\" page said 'delivered'.",
                Some(3700.0),
                "delivery",
                ThemeKind::Pain,
            ),
            mention(
                "P02",
                "interviews/p02.txt",
                "Доставка опоздала на два дня.",
                None,
                "delivery",
                ThemeKind::Pain,
            ),
            mention(
                "P02",
                "interviews/p02.txt",
                "Pristatymas vėlavo 😡 dvi dienas.",
                None,
                "delivery",
                ThemeKind::Pain,
            ),
            mention(
                "P02",
                "interviews/p02.txt",
                "Line one\nline two = still one line.",
                None,
                "orphan-theme",
                ThemeKind::Request,
            ),
            mention(
                "P02",
                "interviews/p02.txt",
                "This sentence is not in the transcript.",
                None,
                "delivery",
                ThemeKind::Pain,
            ),
            mention(
                "P03",
                "interviews/missing.wav",
                "No transcript for me.",
                Some(1.0),
                "delivery",
                ThemeKind::Pain,
            ),
        ];
        let mut attrs = BTreeMap::new();
        attrs.insert("plan".to_string(), "pro & <gold>".to_string());
        attrs.insert("country".to_string(), "LT".to_string());
        let insights = Insights {
            schema: INSIGHTS_SCHEMA.into(),
            study: Study {
                title: "Delivery study \"Q2\"".into(),
                generated: "2024-05-01T10:00:00Z".into(),
                tool: "sowhat 0.1.0".into(),
                codebook: "Customer experience".into(),
                interviews: 2,
                languages: vec!["en".into(), "lt".into()],
                rules: "keep at ≥ 30 % of participants".into(),
                redaction: None,
                unnamed: None,
            },
            participants: vec![
                Participant {
                    id: "P01".into(),
                    source: "interviews/p01.m4a".into(),
                    language: Some("en".into()),
                    attributes: attrs,
                },
                Participant {
                    id: "P02".into(),
                    source: "interviews/p02.txt".into(),
                    language: Some("lt".into()),
                    attributes: BTreeMap::new(),
                },
            ],
            themes: vec![
                theme(
                    "delivery",
                    "Delivery & waiting",
                    ThemeKind::Pain,
                    Verdict::Keep,
                ),
                theme(
                    "communication",
                    "Proactive communication",
                    ThemeKind::Pain,
                    Verdict::Drop,
                ),
                theme("praise", "Praise", ThemeKind::Delight, Verdict::Drop),
            ],
            stories: vec![Story {
                theme: "delivery".into(),
                headline: "Deliveries are late & nobody says so".into(),
                observation: "2 of 2 participants <waited>.".into(),
                implication: "Send tracking.".into(),
                confidence: Confidence::High,
                confidence_reason: "2 of 2".into(),
                quotes: vec![Quote {
                    participant: "P01".into(),
                    source: "interviews/p01.m4a".into(),
                    text: "It was late.".into(),
                    start: Some(61.5),
                    end: Some(63.0),
                    pain: 3,
                    confidence: None,
                }],
            }],
            mentions,
            saturation: Saturation::default(),
            failures: vec![],
        };
        (insights, vec![t1, t2])
    }

    fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut out = BTreeMap::new();
        for i in 0..z.len() {
            let mut f = z.by_index(i).unwrap();
            let mut d = Vec::new();
            f.read_to_end(&mut d).unwrap();
            out.insert(f.name().to_string(), d);
        }
        out
    }

    #[test]
    fn renders_lines_with_time_and_speaker() {
        let (_, ts) = fixture();
        let r = render_transcript(&ts[0]);
        assert!(r.starts_with(
            "[00:00:00] Interviewer: How was the delivery?\n[00:01:01] P01: It was late."
        ));
        assert!(r.contains("[01:01:40] P01: It was late."));
        let r2 = render_transcript(&ts[1]);
        assert!(r2.starts_with("Moderatorė: Kaip sekėsi?\nP02: Pristatymas"));
        assert!(r2.contains("P02: Line one line two = still one line.\n"));
    }

    #[test]
    fn selections_are_code_point_offsets_into_the_source_file() {
        let (ins, ts) = fixture();
        let (bytes, report) = write_with_report(&ins, &ts).unwrap();
        assert_eq!(report.codings, 6);
        assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);
        assert_eq!(report.extra_codes, vec!["orphan-theme".to_string()]);
        let files = unzip(&bytes);
        let qde = String::from_utf8(files["project.qde"].clone()).unwrap();
        let root = parse_dom(&qde).unwrap();
        let sources: Vec<&Node> = root
            .children_named("Sources")
            .next()
            .unwrap()
            .children_named("TextSource")
            .collect();
        assert_eq!(sources.len(), 2);
        for s in sources {
            let path = s.attr("plainTextPath").unwrap();
            let file = path.strip_prefix("internal://").unwrap();
            assert_eq!(file, format!("{}.txt", s.attr("guid").unwrap()));
            let text = String::from_utf8(files[&format!("sources/{file}")].clone()).unwrap();
            let chars: Vec<char> = text.chars().collect();
            for sel in s.children_named("PlainTextSelection") {
                let a: usize = sel.attr("startPosition").unwrap().parse().unwrap();
                let b: usize = sel.attr("endPosition").unwrap().parse().unwrap();
                let got: String = chars[a..b].iter().collect();
                assert!(
                    ins.mentions.iter().any(|m| one_line(&m.text) == got),
                    "{got:?}"
                );
            }
        }
        // "It was late." at 3701 s is the second occurrence (inside the 3700 s segment), not the first.
        let t1 = render_transcript(&ts[0]);
        let second = t1.match_indices("P01: It was late.").nth(1).unwrap().0 + "P01: ".len();
        let expect = t1[..second].chars().count();
        assert!(
            qde.contains(&format!("startPosition=\"{expect}\"")),
            "{qde}"
        );
        // The Lithuanian sentence starts after an emoji-free prefix; the Russian one after an emoji:
        // offsets count code points (the emoji is one), not UTF-8 bytes or UTF-16 units.
        let t2 = render_transcript(&ts[1]);
        let ru = t2.find("Доставка").unwrap();
        assert!(qde.contains(&format!("startPosition=\"{}\"", t2[..ru].chars().count())));
    }

    #[test]
    fn round_trip_gives_back_every_placed_mention() {
        let (ins, ts) = fixture();
        let (bytes, report) = write_with_report(&ins, &ts).unwrap();
        let back = read_codings(&bytes).unwrap();
        assert_eq!(back.len(), report.codings);
        let name_of = |id: &str| {
            ins.themes
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.name.clone())
                .unwrap_or(id.to_string())
        };
        for m in &ins.mentions {
            let placed = !report
                .skipped
                .iter()
                .any(|s| s.text == m.text && s.source == m.source);
            let hit = back.iter().any(|c| {
                c.text == one_line(&m.text)
                    && c.code == name_of(&m.theme)
                    && c.source == m.source
                    && c.participant.as_deref() == Some(m.participant.as_str())
            });
            assert_eq!(placed, hit, "{m:?} in {back:?}");
        }
    }

    #[test]
    fn quotes_over_several_lines_are_placed_loosely() {
        let p = Some(Speaker::Participant("P01".into()));
        let mut t = Transcript::new("a.txt", "a");
        t.segments = vec![
            seg(Some(1.0), Some(2.0), p.clone(), "It was late."),
            seg(Some(2.0), Some(3.0), p.clone(), "Really   late, again."),
        ];
        let (mut ins, _) = fixture();
        ins.mentions = vec![mention(
            "P01",
            "a.txt",
            "It was late.  Really late,",
            Some(1.0),
            "delivery",
            ThemeKind::Pain,
        )];
        let (bytes, report) = write_with_report(&ins, &[t]).unwrap();
        assert_eq!((report.codings, report.approximate), (1, 1));
        let back = read_codings(&bytes).unwrap();
        assert_eq!(back[0].text, "It was late.\n[00:00:02] P01: Really   late,");
    }

    #[test]
    fn output_is_deterministic() {
        let (ins, ts) = fixture();
        assert_eq!(write(&ins, &ts).unwrap(), write(&ins, &ts).unwrap());
    }

    #[test]
    fn project_holds_codes_cases_variables_notes_and_user() {
        let (ins, ts) = fixture();
        let files = unzip(&write(&ins, &ts).unwrap());
        let qde = String::from_utf8(files["project.qde"].clone()).unwrap();
        let root = parse_dom(&qde).unwrap();
        assert_eq!(root.attr("name"), Some("Delivery study \"Q2\""));
        let users: Vec<&Node> = root
            .children_named("Users")
            .next()
            .unwrap()
            .children_named("User")
            .collect();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].attr("name"), Some("sowhat"));
        let mut codes = HashMap::new();
        collect_codes(
            root.children_named("CodeBook")
                .next()
                .unwrap()
                .children_named("Codes")
                .next()
                .unwrap(),
            &mut codes,
        );
        assert_eq!(codes.len(), 4); // 3 themes + the orphan
        let delivery = root
            .children_named("CodeBook")
            .next()
            .unwrap()
            .children_named("Codes")
            .next()
            .unwrap()
            .children_named("Code")
            .next()
            .unwrap();
        assert_eq!(delivery.attr("name"), Some("Delivery & waiting"));
        assert_eq!(delivery.attr("color"), Some("#D64545"));
        let d = &delivery.children_named("Description").next().unwrap().text;
        assert!(
            d.contains("Kind: pain")
                && d.contains("Verdict: keep")
                && d.contains("\"said so\"")
                && d.contains("<untracked>"),
            "{d}"
        );
        let note_ref = delivery
            .children_named("NoteRef")
            .next()
            .unwrap()
            .attr("targetGUID")
            .unwrap();
        let notes: Vec<&Node> = root
            .children_named("Notes")
            .next()
            .unwrap()
            .children_named("Note")
            .collect();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].attr("guid"), Some(note_ref));
        let body = &notes[0]
            .children_named("PlainTextContent")
            .next()
            .unwrap()
            .text;
        assert!(body.starts_with(
            "Deliveries are late & nobody says so\n\nObservation: 2 of 2 participants <waited>."
        ));
        assert!(body.contains("\"It was late.\" — P01, interviews/p01.m4a at 00:01:01"));
        let vars: Vec<String> = root
            .children_named("Variables")
            .next()
            .unwrap()
            .children_named("Variable")
            .map(|v| v.attr("name").unwrap().to_string())
            .collect();
        assert_eq!(vars, vec!["country", "language", "plan"]);
        let cases: Vec<&Node> = root
            .children_named("Cases")
            .next()
            .unwrap()
            .children_named("Case")
            .collect();
        assert_eq!(cases.len(), 2);
        let p1 = cases[0];
        assert_eq!(p1.attr("name"), Some("P01"));
        let vals: Vec<String> = p1
            .children_named("VariableValue")
            .map(|v| v.children_named("TextValue").next().unwrap().text.clone())
            .collect();
        assert_eq!(vals, vec!["LT", "en", "pro & <gold>"]);
        assert_eq!(p1.children_named("SourceRef").count(), 1);
        assert_eq!(
            p1.children_named("SourceRef")
                .next()
                .unwrap()
                .attr("targetGUID"),
            Some(guid("source", "interviews/p01.m4a").as_str())
        );
    }

    #[test]
    fn escapes_xml_and_drops_forbidden_characters() {
        assert_eq!(
            esc_attr("a\"b'c<d>&e\nf\tg"),
            "a&quot;b&apos;c&lt;d&gt;&amp;e&#10;f&#9;g"
        );
        assert_eq!(esc_text("a<b>&\u{1}\r"), "a&lt;b&gt;&amp;\u{FFFD}&#13;");
        assert!(is_xsd_datetime("2024-05-01T10:00:00Z"));
        assert!(is_xsd_datetime("2024-05-01T10:00:00.123+02:00"));
        assert!(!is_xsd_datetime("yesterday"));
        assert!(!is_xsd_datetime(""));
    }

    /// Validates the written project.qde with xmllint against the REFI schema, when both are here.
    #[test]
    fn written_project_validates_against_refi_schema() {
        let candidates = [
            std::env::var("REFI_XSD").unwrap_or_default(),
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/eval/refi/Project.xsd"
            )
            .to_string(),
            "/work/shared/eval/refi/Project.xsd".to_string(),
        ];
        let Some(xsd) = candidates
            .iter()
            .find(|p| !p.is_empty() && std::path::Path::new(p).exists())
        else {
            eprintln!("skipped: Project.xsd not found");
            return;
        };
        if std::process::Command::new("xmllint")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: xmllint not installed (apt-get install libxml2-utils)");
            return;
        }
        let (ins, ts) = fixture();
        let mut cases = vec![("full", write(&ins, &ts).unwrap())];
        if let Ok(out) = std::env::var("QDPX_SAMPLE_OUT") {
            std::fs::write(out, &cases[0].1).unwrap();
        }
        // An almost empty study must validate too (no themes, participants, stories, transcripts).
        let empty = Insights::default();
        cases.push(("empty", write(&empty, &[]).unwrap()));
        let dir = std::env::temp_dir().join(format!("qdpx-xsd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (label, bytes) in cases {
            let files = unzip(&bytes);
            let path = dir.join(format!("{label}.qde"));
            std::fs::write(&path, &files["project.qde"]).unwrap();
            let out = std::process::Command::new("xmllint")
                .args(["--noout", "--schema", xsd])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{label}: xmllint rejected project.qde:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        for (n, d) in files {
            z.start_file(*n, o).unwrap();
            z.write_all(d).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    /// Shapes other tools write: nested codes (MAXQDA/NVivo folders), braced lower-case GUIDs,
    /// `Sources/` with a capital S, a BOM in the .txt, inline PlainTextContent, a PDF's
    /// plain-text representation, several codings on one selection, an unknown code.
    #[test]
    fn reads_codings_from_other_tools() {
        let qde = r#"<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="x" origin="MAXQDA 2022">
 <CodeBook><Codes>
  <Code guid="AAAAAAAA-0000-0000-0000-000000000001" name="Service" isCodable="false">
   <Description>parent</Description>
   <Code guid="AAAAAAAA-0000-0000-0000-000000000002" name="Delivery &amp; waiting" isCodable="true">
    <Code guid="AAAAAAAA-0000-0000-0000-000000000003" name="Late" isCodable="true"/>
   </Code>
  </Code>
  <Code guid="aaaaaaaa-0000-0000-0000-000000000004" name="Price" isCodable="true"/>
 </Codes></CodeBook>
 <Cases>
  <Case guid="{FFFFFFFF-0000-0000-0000-000000000001}" name="P07"><SourceRef targetGUID="bbbbbbbb-0000-0000-0000-000000000001"/></Case>
  <Case guid="FFFFFFFF-0000-0000-0000-000000000002" name="P09">
   <SourceRef targetGUID="BBBBBBBB-0000-0000-0000-000000000002"/>
   <SelectionRef targetGUID="CCCCCCCC-0000-0000-0000-000000000003"/>
  </Case>
  <Case guid="FFFFFFFF-0000-0000-0000-000000000003" name="P10"><SourceRef targetGUID="BBBBBBBB-0000-0000-0000-000000000002"/></Case>
 </Cases>
 <Sources>
  <TextSource guid="BBBBBBBB-0000-0000-0000-000000000001" name="Interview Ąžuolas" plainTextPath="internal://bbbbbbbb-0000-0000-0000-000000000001.txt">
   <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000001" startPosition="0" endPosition="6">
    <Coding guid="DDDDDDDD-0000-0000-0000-000000000001"><CodeRef targetGUID="{aaaaaaaa-0000-0000-0000-000000000003}"/></Coding>
    <Coding guid="DDDDDDDD-0000-0000-0000-000000000002"><CodeRef targetGUID="AAAAAAAA-0000-0000-0000-000000000004"/></Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000002" startPosition="7" endPosition="12">
    <Coding guid="DDDDDDDD-0000-0000-0000-000000000003"><CodeRef targetGUID="EEEEEEEE-0000-0000-0000-000000000009"/></Coding>
   </PlainTextSelection>
  </TextSource>
  <TextSource guid="BBBBBBBB-0000-0000-0000-000000000002" name="Inline">
   <PlainTextContent>Цена &lt;высокая&gt; 😡 too high</PlainTextContent>
   <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000003" startPosition="17" endPosition="25">
    <Coding guid="DDDDDDDD-0000-0000-0000-000000000004"><CodeRef targetGUID="AAAAAAAA-0000-0000-0000-000000000004"/></Coding>
   </PlainTextSelection>
  </TextSource>
  <PDFSource guid="BBBBBBBB-0000-0000-0000-000000000003" name="Survey.pdf" path="internal://x.pdf">
   <Representation guid="BBBBBBBB-0000-0000-0000-000000000004" plainTextPath="internal://rep.txt">
    <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000004" startPosition="4" endPosition="8">
     <Coding guid="DDDDDDDD-0000-0000-0000-000000000005"><CodeRef targetGUID="AAAAAAAA-0000-0000-0000-000000000002"/></Coding>
    </PlainTextSelection>
   </Representation>
  </PDFSource>
  <TextSource guid="BBBBBBBB-0000-0000-0000-000000000005" name="Gone" plainTextPath="internal://gone.txt">
   <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000005" startPosition="0" endPosition="1"/>
  </TextSource>
 </Sources>
</Project>"#;
        let txt = "\u{FEFF}Vėlavo dvi dienas.".as_bytes().to_vec();
        let bytes = zip_of(&[
            ("project.qde", qde.as_bytes()),
            ("Sources/BBBBBBBB-0000-0000-0000-000000000001.txt", &txt),
            ("Sources/rep.txt", b"The late parcel"),
        ]);
        let r = read_codings_with_warnings(&bytes).unwrap();
        let got: Vec<(&str, &str, &str, Option<&str>)> = r
            .codings
            .iter()
            .map(|c| {
                (
                    c.text.as_str(),
                    c.code.as_str(),
                    c.source.as_str(),
                    c.participant.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("Vėlavo", "Late", "Interview Ąžuolas", Some("P07")),
                ("Vėlavo", "Price", "Interview Ąžuolas", Some("P07")),
                ("too high", "Price", "Inline", Some("P09")),
                ("late", "Delivery & waiting", "Survey.pdf", None),
            ]
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("unknown code")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("gone.txt")),
            "{:?}",
            r.warnings
        );
        // A bare project.qde reads too (inline text only).
        let bare = read_codings(qde.as_bytes()).unwrap();
        assert!(bare.contains(&Coded {
            text: "too high".into(),
            code: "Price".into(),
            source: "Inline".into(),
            participant: Some("P09".into()),
        }));
    }

    #[test]
    fn crlf_sources_use_the_selection_name_to_choose_the_count() {
        let qde = r#"<Project xmlns="urn:QDA-XML:project:1.0" name="x">
 <CodeBook><Codes><Code guid="AAAAAAAA-0000-0000-0000-000000000001" name="C" isCodable="true"/></Codes></CodeBook>
 <Sources>
  <TextSource guid="BBBBBBBB-0000-0000-0000-000000000001" name="S" plainTextPath="internal://s.txt">
   <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000001" name="line three" startPosition="18" endPosition="28">
    <Coding guid="DDDDDDDD-0000-0000-0000-000000000001"><CodeRef targetGUID="AAAAAAAA-0000-0000-0000-000000000001"/></Coding>
   </PlainTextSelection>
   <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000002" startPosition="10" endPosition="18">
    <Coding guid="DDDDDDDD-0000-0000-0000-000000000002"><CodeRef targetGUID="AAAAAAAA-0000-0000-0000-000000000001"/></Coding>
   </PlainTextSelection>
  </TextSource>
 </Sources>
</Project>"#;
        // Counting CRLF as one character, "line three" is 18..28; counting it as two (the
        // standard's code points) 18..28 is "\r\nline thr", which does not match the name.
        let text = b"line one\r\nline two\r\nline three\r\n";
        let r = read_codings(&zip_of(&[
            ("project.qde", qde.as_bytes()),
            ("sources/s.txt", text),
        ]))
        .unwrap();
        assert_eq!(r[0].text, "line three");
        // Without a name, the raw count (CRLF = two code points) is used.
        assert_eq!(r[1].text, "line two");
    }

    #[test]
    fn rejects_non_projects_with_a_clear_message() {
        assert!(read_codings(b"hello")
            .unwrap_err()
            .contains("not a REFI-QDA project"));
        let z = zip_of(&[("a.txt", b"x")]);
        assert!(read_codings(&z).unwrap_err().contains("no project.qde"));
        let z = zip_of(&[("project.qde", b"<Project><Sources>")]);
        assert!(read_codings(&z).is_err());
    }
}
