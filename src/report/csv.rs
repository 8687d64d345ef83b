//! CSV in and out: `mentions.csv` for spreadsheets, and a researcher's own quote table.
//!
//! `mentions.csv` is written for Excel first:
//! - UTF-8 with a byte-order mark (without it Excel reads UTF-8 as the ANSI code page and
//!   Lithuanian or Russian text turns into mojibake), CRLF line ends, RFC 4180 quoting: a field
//!   is quoted when it holds the delimiter, a quote or a line break, and quotes are doubled;
//! - columns `participant, source, start, end, start_hms, theme, theme_name, kind, severity,
//!   method, score, cues, text`; times in seconds with one decimal (`61.5`), `start_hms` as
//!   `hh:mm:ss` for people, `score` with three decimals, `cues` joined with `"; "`;
//! - **formula injection guard**: a text cell (participant, source, theme, theme_name, cues,
//!   text) whose first non-blank character is `=`, `+`, `-`, `@` (or their full-width forms),
//!   or which starts with a tab or CR, is written with a leading apostrophe `'`, so Excel and
//!   LibreOffice show it as text instead of running it (OWASP "CSV injection"). A cell that
//!   itself starts with `'` gets one more, so the rule can be undone exactly: [`read_mentions`]
//!   drops one leading apostrophe from every text cell. The apostrophe stays visible in Excel
//!   (that is how a CSV cell shows it is inert); numeric columns are never prefixed.
//!
//! Excel in locales whose list separator is `;` (Lithuanian, Polish, Russian, German …) opens
//! a comma-separated file into one column on double-click; [`write_mentions_delimited`] writes
//! `;` for them. (A `sep=;` first line would also do it, but then Excel ignores the BOM.)
//!
//! What survives a round trip through `write_mentions` → `read_mentions`: every text field
//! exactly (quotes, commas, line breaks, any script, `=SUM(A1)`), kind, method, severity, cues
//! (unless a cue itself contains `"; "`); times to 0.1 s and the score to 0.001.

use std::collections::HashMap;

use super::qdpx::Coded;
use crate::types::{Mention, Method, ThemeKind, ThemeStats};

/// Columns of `mentions.csv`, in order.
pub const MENTION_COLUMNS: [&str; 13] = [
    "participant",
    "source",
    "start",
    "end",
    "start_hms",
    "theme",
    "theme_name",
    "kind",
    "severity",
    "method",
    "score",
    "cues",
    "text",
];

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `mentions.csv`: comma-separated, UTF-8 with BOM, CRLF (see the module documentation).
pub fn write_mentions(mentions: &[Mention], themes: &[ThemeStats]) -> Vec<u8> {
    write_mentions_delimited(mentions, themes, b',')
}

/// `mentions.csv` with another delimiter (`b';'` for Excel in most European locales, `b'\t'`).
pub fn write_mentions_delimited(
    mentions: &[Mention],
    themes: &[ThemeStats],
    delimiter: u8,
) -> Vec<u8> {
    let names: HashMap<&str, &str> = themes
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    let mut out = BOM.to_vec();
    {
        let mut w = ::csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(::csv::Terminator::CRLF)
            .quote_style(::csv::QuoteStyle::Necessary)
            .from_writer(&mut out);
        w.write_record(MENTION_COLUMNS).expect("writing to memory");
        for m in mentions {
            let secs = |s: Option<f64>| {
                s.filter(|s| s.is_finite())
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_default()
            };
            let row = [
                guard(&m.participant),
                guard(&m.source),
                secs(m.start),
                secs(m.end),
                m.start
                    .filter(|s| s.is_finite())
                    .map(hms)
                    .unwrap_or_default(),
                guard(&m.theme),
                guard(names.get(m.theme.as_str()).copied().unwrap_or("")),
                m.kind.as_str().to_string(),
                m.pain.to_string(),
                method_str(m.method).to_string(),
                if m.score.is_finite() {
                    format!("{:.3}", m.score)
                } else {
                    String::new()
                },
                guard(&m.cues.join("; ")),
                guard(&m.text),
            ];
            w.write_record(&row).expect("writing to memory");
        }
        w.flush().expect("writing to memory");
    }
    out
}

/// Reads `mentions.csv` back (as written by [`write_mentions`], or after a round through a
/// spreadsheet: with or without BOM, `,` `;` or tab delimited, columns in any order, decimal
/// commas accepted). Required columns: participant, source, theme, kind, method, text.
pub fn read_mentions(bytes: &[u8]) -> Result<Vec<Mention>, String> {
    let table = Table::parse(bytes)?;
    let header = table.rows.first().ok_or("mentions.csv is empty")?;
    let col: HashMap<String, usize> = header
        .cells
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_lowercase(), i))
        .collect();
    let need = |name: &str| -> Result<usize, String> {
        col.get(name).copied().ok_or_else(|| {
            format!(
                "line {}: mentions.csv has no \"{name}\" column (found: {})",
                header.line,
                header.cells.join(", ")
            )
        })
    };
    let (c_participant, c_source, c_theme, c_kind, c_method, c_text) = (
        need("participant")?,
        need("source")?,
        need("theme")?,
        need("kind")?,
        need("method")?,
        need("text")?,
    );
    let opt = |names: &[&str]| names.iter().find_map(|n| col.get(*n).copied());
    let (c_start, c_end, c_score) = (opt(&["start"]), opt(&["end"]), opt(&["score"]));
    let c_severity = opt(&["severity", "pain"]);
    let c_cues = opt(&["cues"]);

    let mut out = Vec::new();
    for row in &table.rows[1..] {
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let line = row.line;
        let cell = |i: usize| row.cells.get(i).map(String::as_str).unwrap_or("");
        let text_cell = |i: usize| unguard(cell(i)).to_string();
        let number = |i: Option<usize>, what: &str| -> Result<Option<f64>, String> {
            let Some(i) = i else { return Ok(None) };
            let v = cell(i).trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.replace(',', ".")
                .parse::<f64>()
                .map(Some)
                .map_err(|_| format!("line {line}: {what} \"{v}\" is not a number"))
        };
        let kind_v = cell(c_kind).trim();
        let kind = ThemeKind::parse(&kind_v.to_lowercase()).ok_or_else(|| {
            format!("line {line}: kind \"{kind_v}\" is not one of pain, delight, request, neutral")
        })?;
        let method_v = cell(c_method).trim();
        let method = parse_method(method_v).ok_or_else(|| {
            format!("line {line}: method \"{method_v}\" is not one of keyword, embedding, both, examples")
        })?;
        let pain = match c_severity.map(|i| cell(i).trim()).filter(|v| !v.is_empty()) {
            None => 0,
            Some(v) => match v.parse::<u8>() {
                Ok(n) if n <= 4 => n,
                _ => {
                    return Err(format!(
                        "line {line}: severity \"{v}\" is not a whole number from 0 to 4"
                    ))
                }
            },
        };
        let cues_v = c_cues.map(text_cell).unwrap_or_default();
        out.push(Mention {
            participant: text_cell(c_participant),
            source: text_cell(c_source),
            text: text_cell(c_text),
            start: number(c_start, "start")?,
            end: number(c_end, "end")?,
            theme: text_cell(c_theme),
            kind,
            score: number(c_score, "score")?.unwrap_or(0.0) as f32,
            method,
            pain,
            cues: if cues_v.trim().is_empty() {
                Vec::new()
            } else {
                cues_v.split("; ").map(str::to_string).collect()
            },
        });
    }
    Ok(out)
}

/// The names of a quote table's text column ([`read_quote_table`]), by which a spreadsheet's
/// table is found ([`crate::spreadsheet::to_csv`]).
pub const QUOTE_HEADERS: &[&str] = &[
    "quote",
    "quotes",
    "quotation",
    "quotations",
    "excerpt",
    "excerpts",
    "text",
    "verbatim",
    "segment",
];

/// Reads a researcher's quote table: UTF-8 with or without BOM, `,` `;` or tab delimited
/// (sniffed; a leading `sep=;` line is honoured). Header names are matched case-insensitively,
/// ignoring spaces, punctuation and a trailing number ("Code 2"):
/// - text: `quote`, `excerpt`, `text`, `segment` (also `quotation`, `verbatim`), first of these;
/// - code: `code`, `tag`, `theme`, `category` (and plurals); every column of the first kind
///   found is used (`Code 1`, `Code 2`), and a cell may hold several codes separated by `;`,
///   `|` or line breaks, giving one `Coded` each;
/// - participant (optional): `participant`, `speaker`, `case`, `respondent` → `Coded::participant`;
/// - source (optional): `source`, `file`, `document`, `transcript`, `interview` → `Coded::source`
///   (empty when the table has none).
///
/// The header may follow a few title lines. Rows without text or without a code are skipped.
/// Matching outer quotation marks (“…”, "…", «…», „…“) are removed from the text, and a
/// spreadsheet's formula-guard apostrophe before `=`, `+`, `-`, `@` is dropped.
pub fn read_quote_table(bytes: &[u8]) -> Result<Vec<Coded>, String> {
    const TEXT: &[&[&str]] = &[
        &["quote", "quotes", "quotation", "quotations"],
        &["excerpt", "excerpts"],
        &["text"],
        &["verbatim"],
        &["segment"],
    ];
    debug_assert!(TEXT
        .iter()
        .flat_map(|n| n.iter())
        .all(|n| QUOTE_HEADERS.contains(n)));
    const CODE: &[&[&str]] = &[
        &["code", "codes"],
        &["tag", "tags"],
        &["theme", "themes"],
        &["category", "categories"],
    ];
    const SOURCE: &[&[&str]] = &[&["source", "file", "document", "transcript", "interview"]];
    const WHO: &[&[&str]] = &[
        &["participant"],
        &["speaker"],
        &["case"],
        &["respondent", "interviewee"],
    ];
    let table = Table::parse(bytes)?;
    if table.rows.is_empty() {
        return Err("the quote table is empty".into());
    }
    // Columns of the best synonym group present in a header row.
    let pick = |cells: &[String], groups: &[&[&str]]| -> Vec<usize> {
        let norm: Vec<String> = cells.iter().map(|c| norm_header(c)).collect();
        for g in groups {
            let hits: Vec<usize> = norm
                .iter()
                .enumerate()
                .filter(|(_, n)| g.contains(&n.as_str()))
                .map(|(i, _)| i)
                .collect();
            if !hits.is_empty() {
                return hits;
            }
        }
        Vec::new()
    };
    let header_at = table
        .rows
        .iter()
        .take(10)
        .position(|r| !pick(&r.cells, TEXT).is_empty() && !pick(&r.cells, CODE).is_empty());
    let Some(hi) = header_at else {
        let first = &table.rows[0];
        let has_text = table
            .rows
            .iter()
            .take(10)
            .any(|r| !pick(&r.cells, TEXT).is_empty());
        let missing = if has_text {
            "no code column (code, tag, theme or category)"
        } else {
            "no quote column (quote, text, excerpt or segment)"
        };
        return Err(format!(
            "line {}: the quote table has {missing} in its header (found: {})",
            first.line,
            first
                .cells
                .iter()
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let header = &table.rows[hi];
    let c_text = pick(&header.cells, TEXT)[0];
    let c_codes = pick(&header.cells, CODE);
    let c_source = pick(&header.cells, SOURCE).first().copied();
    let c_who = pick(&header.cells, WHO).first().copied();

    let mut out = Vec::new();
    for row in &table.rows[hi + 1..] {
        let cell = |i: usize| row.cells.get(i).map(String::as_str).unwrap_or("");
        let text = strip_outer_quotes(unguard_formula(cell(c_text)).trim()).to_string();
        if text.is_empty() {
            continue;
        }
        let source = c_source
            .map(|i| unguard_formula(cell(i)).trim().to_string())
            .unwrap_or_default();
        let participant = c_who
            .map(|i| unguard_formula(cell(i)).trim().to_string())
            .filter(|p| !p.is_empty());
        for &ci in &c_codes {
            for code in cell(ci).split([';', '|', '\n', '\r']) {
                let code = unguard_formula(code.trim()).trim();
                if !code.is_empty() {
                    out.push(Coded {
                        text: text.clone(),
                        code: code.to_string(),
                        source: source.clone(),
                        participant: participant.clone(),
                    });
                }
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------

fn hms(seconds: f64) -> String {
    let t = if seconds > 0.0 {
        seconds.floor() as u64
    } else {
        0
    };
    format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60)
}

fn method_str(m: Method) -> &'static str {
    match m {
        Method::Keyword => "keyword",
        Method::Embedding => "embedding",
        Method::Both => "both",
        Method::Examples => "examples",
    }
}

fn parse_method(s: &str) -> Option<Method> {
    Some(match s.to_lowercase().as_str() {
        "keyword" => Method::Keyword,
        "embedding" => Method::Embedding,
        "both" => Method::Both,
        "examples" => Method::Examples,
        _ => return None,
    })
}

/// Characters that make a spreadsheet read a cell as a formula when they come first.
fn is_formula_start(c: char) -> bool {
    matches!(
        c,
        '=' | '+' | '-' | '@' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}'
    )
}

/// The formula-injection guard of `mentions.csv` (see the module documentation).
fn guard(s: &str) -> String {
    let first_visible = s.trim_start_matches([' ', '\t', '\r', '\n']).chars().next();
    let risky = s.starts_with(['\'', '\t', '\r']) || first_visible.is_some_and(is_formula_start);
    if risky {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Undoes [`guard`]: drops one leading apostrophe.
fn unguard(s: &str) -> &str {
    s.strip_prefix('\'').unwrap_or(s)
}

/// For foreign tables: drops an apostrophe only where it guards a formula character.
fn unguard_formula(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest)
            if rest
                .trim_start()
                .chars()
                .next()
                .is_some_and(is_formula_start) =>
        {
            rest
        }
        _ => s,
    }
}

fn strip_outer_quotes(s: &str) -> &str {
    const PAIRS: [(char, char); 6] = [
        ('"', '"'),
        ('\u{201C}', '\u{201D}'),
        ('\u{201E}', '\u{201C}'),
        ('\u{201E}', '\u{201D}'),
        ('\u{AB}', '\u{BB}'),
        ('\u{2018}', '\u{2019}'),
    ];
    for (a, b) in PAIRS {
        if let Some(inner) = s.strip_prefix(a).and_then(|r| r.strip_suffix(b)) {
            if !inner.contains(a) && !inner.contains(b) {
                return inner.trim();
            }
        }
    }
    s
}

/// Lower case, letters and digits only, trailing digits dropped: "Code #2" → "code".
fn norm_header(h: &str) -> String {
    let s: String = h
        .trim_start_matches('\u{FEFF}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    s.trim_end_matches(|c: char| c.is_ascii_digit()).to_string()
}

struct Row {
    /// 1-based line of the file where the record starts.
    line: u64,
    cells: Vec<String>,
}

struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Decodes (UTF-8, BOM optional), honours a `sep=X` first line, sniffs the delimiter and
    /// splits into records, keeping each record's line number.
    fn parse(bytes: &[u8]) -> Result<Table, String> {
        let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
            return Err("line 1: the file is UTF-16; save it as \"CSV UTF-8\"".into());
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return Err(format!(
                "line {line}: the file is not UTF-8 (an older spreadsheet encoding?); save it as \"CSV UTF-8\""
            ));
        }
        let text = std::str::from_utf8(bytes).unwrap();
        let mut body = text;
        let mut skipped_lines = 0u64;
        let mut delimiter = None;
        let first = text.lines().next().unwrap_or("");
        if let Some(rest) = first.trim_end_matches('\r').strip_prefix("sep=") {
            if rest.len() == 1 {
                delimiter = Some(rest.as_bytes()[0]);
                body = &text[first.len()..];
                body = body.strip_prefix('\n').unwrap_or(body);
                skipped_lines = 1;
            }
        }
        let delimiter = delimiter.unwrap_or_else(|| sniff(body));
        let mut r = ::csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(body.as_bytes());
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line() + skipped_lines).unwrap_or(0);
                let what = match e.kind() {
                    ::csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_string(),
                    _ => e.to_string(),
                };
                format!("line {line}: {what}")
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0) + skipped_lines;
            rows.push(Row {
                line,
                cells: rec.iter().map(str::to_string).collect(),
            });
        }
        Ok(Table { rows })
    }
}

/// The delimiter (`,` `;` or tab) seen most often outside quotes in the first lines.
fn sniff(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut lines = 0;
    for c in text.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\n' if !in_quotes => {
                lines += 1;
                if lines >= 10 {
                    break;
                }
            }
            ',' if !in_quotes => counts[0] += 1,
            ';' if !in_quotes => counts[1] += 1,
            '\t' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap();
    [b',', b';', b'\t'][best]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;
    use std::collections::BTreeMap;

    fn m(text: &str, theme: &str, start: Option<f64>) -> Mention {
        Mention {
            participant: "P01".into(),
            source: "interviews/p01, \"final\".m4a".into(),
            text: text.into(),
            start,
            end: start.map(|s| s + 2.25),
            theme: theme.into(),
            kind: ThemeKind::Pain,
            score: 0.8347,
            method: Method::Both,
            pain: 3,
            cues: vec!["deliver*".into(), "late".into()],
        }
    }

    fn themes() -> Vec<ThemeStats> {
        vec![ThemeStats {
            id: "delivery".into(),
            name: "Delivery, \"waiting\"".into(),
            kind: ThemeKind::Pain,
            origin: Origin::Codebook,
            description: String::new(),
            participants: vec![],
            prevalence: 0.0,
            mentions: 0,
            severity: 0,
            priority: 0.0,
            verdict: Verdict::Keep,
            reason: String::new(),
            single_source: false,
            segments: BTreeMap::new(),
        }]
    }

    fn tricky() -> Vec<Mention> {
        let mut v = vec![
            m("Plain sentence.", "delivery", Some(61.54)),
            m(
                "She said \"never again\", and left.",
                "delivery",
                Some(3725.0),
            ),
            m("Line one\nline two\r\nline three", "delivery", None),
            m(
                "Pristatymas vėlavo dvi dienas, ačiū.",
                "delivery",
                Some(1.0),
            ),
            m(
                "Доставка опоздала; я ждал «весь день».",
                "delivery",
                Some(2.0),
            ),
            m("=SUM(A1)", "delivery", Some(3.0)),
            m("+1 for tracking", "delivery", Some(4.0)),
            m("-- no idea", "delivery", Some(5.0)),
            m("@support never answers", "delivery", Some(6.0)),
            m("  =HYPERLINK(\"http://x\")", "delivery", Some(7.0)),
            m("'quoted start", "delivery", Some(8.0)),
            m("\tTabbed", "delivery", Some(9.0)),
            m("", "unknown-theme", None),
        ];
        v[0].cues.clear();
        v[1].kind = ThemeKind::Request;
        v[1].method = Method::Examples;
        v[1].participant = "=cmd|' /C calc'!A0".into();
        v
    }

    #[test]
    fn written_for_excel() {
        let out = write_mentions(&tricky(), &themes());
        assert!(out.starts_with(BOM));
        let s = std::str::from_utf8(&out[3..]).unwrap();
        assert!(s.starts_with("participant,source,start,end,start_hms,theme,theme_name,kind,severity,method,score,cues,text\r\n"));
        // Every record ends in CRLF; the only bare LF is inside a quoted field.
        assert!(s.ends_with("\r\n"));
        let line2: &str = s.split("\r\n").nth(1).unwrap();
        assert_eq!(
            line2,
            "P01,\"interviews/p01, \"\"final\"\".m4a\",61.5,63.8,00:01:01,delivery,\"Delivery, \"\"waiting\"\"\",pain,3,both,0.835,,Plain sentence."
        );
        assert!(s.contains(",01:02:05,"));
        assert!(s.contains("\"Line one\nline two\r\nline three\""));
        assert!(s.contains(",'=SUM(A1)\r\n"));
        assert!(s.contains(",'+1 for tracking\r\n"));
        assert!(s.contains(",'-- no idea\r\n"));
        assert!(s.contains(",'@support never answers\r\n"));
        assert!(s.contains(",\"'  =HYPERLINK(\"\"http://x\"\")\"\r\n"));
        assert!(s.contains(",''quoted start\r\n"));
        assert!(s.contains("\r\n'=cmd|' /C calc'!A0,"));
        assert!(s.contains("deliver*; late"));
        // No cell starts with a formula character.
        let mut r = ::csv::ReaderBuilder::new().from_reader(&out[3..]);
        for rec in r.records() {
            for c in rec.unwrap().iter() {
                assert!(!c.starts_with(['=', '+', '@']), "{c}");
                assert!(!(c.starts_with('-') && c.parse::<f64>().is_err()), "{c}");
            }
        }
    }

    #[test]
    fn mentions_round_trip() {
        let orig = tricky();
        for delim in [b',', b';', b'\t'] {
            let back = read_mentions(&write_mentions_delimited(&orig, &themes(), delim)).unwrap();
            assert_eq!(back.len(), orig.len());
            for (a, b) in orig.iter().zip(&back) {
                assert_eq!(a.participant, b.participant);
                assert_eq!(a.source, b.source);
                assert_eq!(a.text, b.text);
                assert_eq!(a.theme, b.theme);
                assert_eq!(a.kind, b.kind);
                assert_eq!(a.method, b.method);
                assert_eq!(a.pain, b.pain);
                assert_eq!(a.cues, b.cues);
                let near = |x: Option<f64>, y: Option<f64>| match (x, y) {
                    (Some(x), Some(y)) => (x - y).abs() <= 0.05 + 1e-9,
                    (None, None) => true,
                    _ => false,
                };
                assert!(
                    near(a.start, b.start) && near(a.end, b.end),
                    "{:?} {:?}",
                    a.start,
                    b.start
                );
                assert!((a.score - b.score).abs() <= 0.0005);
            }
        }
    }

    #[test]
    fn mentions_survive_a_european_spreadsheet() {
        // Re-saved by Excel in a Lithuanian locale: semicolons, decimal commas, no BOM, column order changed.
        let csv = "text;participant;source;theme;kind;method;start;end;score;severity;cues\r\n\
                   \"Vėlavo; labai\";P02;p02.txt;delivery;Pain;keyword;61,5;;0,9;4;\r\n\
                   ;;;;;;;;;;\r\n";
        let back = read_mentions(csv.as_bytes()).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].text, "Vėlavo; labai");
        assert_eq!(back[0].start, Some(61.5));
        assert_eq!(back[0].end, None);
        assert_eq!(back[0].pain, 4);
        assert!(back[0].cues.is_empty());
    }

    #[test]
    fn mention_errors_name_the_line() {
        let csv = "participant,source,theme,kind,method,text\nP01,a,t,pain,keyword,ok\nP01,a,t,angry,keyword,bad\n";
        let e = read_mentions(csv.as_bytes()).unwrap_err();
        assert!(e.starts_with("line 3: kind \"angry\""), "{e}");
        let csv = "participant,source,theme,kind,method,text,start\nP01,a,t,pain,keyword,\"multi\nline\",x\n";
        let e = read_mentions(csv.as_bytes()).unwrap_err();
        assert!(e.starts_with("line 2: start \"x\""), "{e}");
        let csv = "participant,source,theme,kind,text\n";
        let e = read_mentions(csv.as_bytes()).unwrap_err();
        assert!(e.contains("line 1") && e.contains("\"method\""), "{e}");
        let e = read_mentions(b"participant,source\n\xff\xfe,x\n").unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn quote_table_comma_with_bom() {
        let csv = "\u{FEFF}Participant,Quote,Code\r\nP01,\"It was late, again.\",Delivery\r\nP02,“Nobody called me.”,Communication; Delivery\r\nP03,,Delivery\r\nP04,Uncoded quote,\r\n";
        let got = read_quote_table(csv.as_bytes()).unwrap();
        assert_eq!(
            got,
            vec![
                Coded {
                    text: "It was late, again.".into(),
                    code: "Delivery".into(),
                    source: String::new(),
                    participant: Some("P01".into()),
                },
                Coded {
                    text: "Nobody called me.".into(),
                    code: "Communication".into(),
                    source: String::new(),
                    participant: Some("P02".into()),
                },
                Coded {
                    text: "Nobody called me.".into(),
                    code: "Delivery".into(),
                    source: String::new(),
                    participant: Some("P02".into()),
                },
            ]
        );
    }

    #[test]
    fn quote_table_semicolon_no_bom_other_names() {
        let csv = "Study: delivery;;;\nSPEAKER;Excerpt;Theme 1;Theme 2\nP01;Pristatymas vėlavo, ačiū;Delivery;Price\nP02;\"Доставка; опоздала\";Delivery;\nP03;'=SUM(A1);'+tag;\n";
        let got = read_quote_table(csv.as_bytes()).unwrap();
        let flat: Vec<(String, String, String)> = got
            .into_iter()
            .map(|c| (c.text, c.code, c.participant.unwrap_or_default()))
            .collect();
        assert_eq!(
            flat,
            vec![
                (
                    "Pristatymas vėlavo, ačiū".into(),
                    "Delivery".into(),
                    "P01".into()
                ),
                (
                    "Pristatymas vėlavo, ačiū".into(),
                    "Price".into(),
                    "P01".into()
                ),
                ("Доставка; опоздала".into(), "Delivery".into(), "P02".into()),
                ("=SUM(A1)".into(), "+tag".into(), "P03".into()),
            ]
        );
    }

    #[test]
    fn quote_table_prefers_quote_over_segment_and_code_over_category() {
        let csv =
            "segment,quote,category,code,file\npro,The app crashed.,Quality,Crashes,p01.txt\n";
        let got = read_quote_table(csv.as_bytes()).unwrap();
        assert_eq!(
            got,
            vec![Coded {
                text: "The app crashed.".into(),
                code: "Crashes".into(),
                source: "p01.txt".into(),
                participant: None,
            }]
        );
        // Tab-separated, sep= line, participant optional.
        let tsv = "sep=\t\nText\tTag\nHello, world\tGreeting\n";
        let got = read_quote_table(tsv.as_bytes()).unwrap();
        assert_eq!(
            got,
            vec![Coded {
                text: "Hello, world".into(),
                code: "Greeting".into(),
                source: String::new(),
                participant: None,
            }]
        );
    }

    #[test]
    fn quote_table_errors_name_the_line() {
        let e = read_quote_table(b"participant,comment\nP01,x\n").unwrap_err();
        assert!(
            e.starts_with("line 1:")
                && e.contains("no quote column")
                && e.contains("participant, comment"),
            "{e}"
        );
        let e = read_quote_table(b"quote,speaker\nx,P01\n").unwrap_err();
        assert!(
            e.starts_with("line 1:") && e.contains("no code column"),
            "{e}"
        );
        let e = read_quote_table(
            "quote,code\nok,a\n\"fine\",b\nVėlavo,c\n"
                .as_bytes()
                .iter()
                .map(|&b| if b == 0xC4 { 0xE8 } else { b })
                .collect::<Vec<u8>>()
                .as_slice(),
        )
        .unwrap_err();
        assert!(e.starts_with("line 4:") && e.contains("UTF-8"), "{e}");
        assert!(read_quote_table(b"").unwrap_err().contains("empty"));
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff("a,b,c\n1,2,3"), b',');
        assert_eq!(sniff("a;b;c\n\"1,5\";2;3"), b';');
        assert_eq!(sniff("a\tb\n1,5\t2"), b'\t');
        assert_eq!(sniff("quote"), b',');
    }
}
