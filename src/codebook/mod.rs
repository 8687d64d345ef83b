//! The codebook: the themes sowhat looks for (DESIGN.md, "Codebook (TOML)").
//!
//! A codebook is a TOML file with a `[codebook]` table and one `[[theme]]` per theme (id, name,
//! kind, description, keywords, examples). A default multilingual customer-experience codebook
//! ships in the binary (`default.toml` beside this file); `sowhat codebook show` prints it and
//! `sowhat codebook init FILE` writes it out for editing. An optional `[filter]` table overrides
//! the "so what?" thresholds for the study.
//!
//! [`parse`] checks everything a researcher can get wrong and reports each problem with its
//! line number, so `sowhat codebook check FILE` can list them all at once.

use crate::filter::Rules;
use crate::types::ThemeKind;
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Range;

/// The default customer-experience codebook (English, Lithuanian, Polish, Russian).
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// A checked codebook.
#[derive(Debug, Clone)]
pub struct Codebook {
    pub name: String,
    pub language: Option<String>,
    pub themes: Vec<Theme>,
    /// Filter thresholds from the codebook's `[filter]` table (defaults where absent).
    pub rules: Rules,
}

/// One theme of a codebook.
#[derive(Debug, Clone)]
pub struct Theme {
    pub id: String,
    pub name: String,
    pub kind: ThemeKind,
    pub description: String,
    /// Keyword patterns: words or phrases, `*` = prefix wildcard at the end of a word.
    pub keywords: Vec<String>,
    /// Sentences that express the theme.
    pub examples: Vec<String>,
}

/// A problem in a codebook file, at a line (1-based) when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    codebook: Option<toml::Spanned<RawHeader>>,
    #[serde(default)]
    theme: Vec<toml::Spanned<RawTheme>>,
    filter: Option<toml::Spanned<RawFilter>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    id: String,
    name: String,
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    min_prevalence: Option<f64>,
    critical_severity: Option<u8>,
    friction_severity: Option<u8>,
    friction_participants: Option<usize>,
    top: Option<usize>,
}

fn line_of(text: &str, span: Range<usize>) -> usize {
    text[..span.start.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Parses and checks a codebook. Returns every problem found, each with its line.
pub fn parse(text: &str) -> Result<Codebook, Vec<Problem>> {
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s));
            return Err(vec![Problem {
                line,
                message: match e.message().trim() {
                    "" => "not valid TOML here".to_string(),
                    m => m.to_string(),
                },
            }]);
        }
    };
    let mut problems = Vec::new();
    let (name, language) = match raw.codebook {
        Some(h) => {
            let h = h.into_inner();
            (h.name, h.language)
        }
        None => {
            problems.push(Problem {
                line: None,
                message: "missing the [codebook] table with a name".into(),
            });
            (String::new(), None)
        }
    };
    if raw.theme.is_empty() {
        problems.push(Problem {
            line: None,
            message: "no [[theme]] tables: a codebook needs at least one theme".into(),
        });
    }
    let mut seen = HashSet::new();
    let mut themes = Vec::new();
    for t in raw.theme {
        let line = Some(line_of(text, t.span()));
        let t = t.into_inner();
        let mut bad = |message: String| problems.push(Problem { line, message });
        let valid_id = !t.id.is_empty()
            && t.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid_id {
            bad(format!(
                "theme id {:?} must be a slug: lowercase letters, digits, - and _ (e.g. \"late-delivery\")",
                t.id
            ));
        }
        if !seen.insert(t.id.clone()) {
            bad(format!(
                "theme id {:?} is used twice; ids must be unique",
                t.id
            ));
        }
        if t.name.trim().is_empty() {
            bad(format!("theme {:?} has an empty name", t.id));
        }
        let kind = match ThemeKind::parse(&t.kind) {
            Some(k) => k,
            None => {
                bad(format!(
                    "theme {:?} has kind {:?}; use pain, delight, request or neutral",
                    t.id, t.kind
                ));
                ThemeKind::Neutral
            }
        };
        for k in &t.keywords {
            if let Err(m) = check_pattern(k) {
                bad(format!("theme {:?}: keyword {k:?} {m}", t.id));
            }
        }
        if t.examples.iter().any(|e| e.trim().is_empty()) {
            bad(format!("theme {:?} has an empty example", t.id));
        }
        if t.description.trim().is_empty() && t.keywords.is_empty() && t.examples.is_empty() {
            bad(format!(
                "theme {:?} has no description, keywords or examples: nothing to recognise it by",
                t.id
            ));
        }
        themes.push(Theme {
            id: t.id,
            name: t.name.trim().to_string(),
            kind,
            description: t.description.trim().to_string(),
            keywords: t.keywords,
            examples: t.examples,
        });
    }
    let mut rules = Rules::default();
    if let Some(f) = raw.filter {
        let line = Some(line_of(text, f.span()));
        let f = f.into_inner();
        if let Some(p) = f.min_prevalence {
            if !(0.0..=1.0).contains(&p) {
                problems.push(Problem {
                    line,
                    message: format!(
                        "[filter] min_prevalence {p} must be between 0 and 1 (0.3 = 30 %)"
                    ),
                });
            }
            rules.min_prevalence = p;
        }
        for (name, v) in [
            ("critical_severity", f.critical_severity),
            ("friction_severity", f.friction_severity),
        ] {
            if let Some(v) = v {
                if v > 4 {
                    problems.push(Problem {
                        line,
                        message: format!("[filter] {name} {v} must be 0–4"),
                    });
                }
            }
        }
        if let Some(v) = f.critical_severity {
            rules.critical_severity = v;
        }
        if let Some(v) = f.friction_severity {
            rules.friction_severity = v;
        }
        if let Some(v) = f.friction_participants {
            rules.friction_participants = v;
        }
        if let Some(v) = f.top {
            rules.top = v;
        }
    }
    if problems.is_empty() {
        Ok(Codebook {
            name,
            language,
            themes,
            rules,
        })
    } else {
        Err(problems)
    }
}

/// Checks one keyword pattern: words separated by spaces, `*` only at the end of a word.
pub fn check_pattern(p: &str) -> Result<(), &'static str> {
    if p.trim().is_empty() {
        return Err("is empty");
    }
    // `...` (or `…`) stands between two words: "charged ... twice".
    let parts: Vec<&str> = crate::tag::keyword::gap_parts(p).collect();
    if parts.iter().any(|part| part.trim().is_empty()) {
        return Err(
            "has ... at its start or end (... stands between two words: \"charged ... twice\")",
        );
    }
    for w in parts.iter().flat_map(|part| part.split_whitespace()) {
        let stem = w.strip_suffix('*').unwrap_or(w);
        if stem.contains('*') {
            return Err("has a * that is not at the end of a word (* means \"any ending\")");
        }
        if w.ends_with('*') && stem.chars().count() < 3 {
            return Err("is a stem shorter than 3 letters; it would match far too much");
        }
    }
    if crate::tag::keyword::Pattern::new(p).is_empty() {
        return Err("has no words, only punctuation");
    }
    Ok(())
}

/// The built-in customer-experience codebook.
pub fn default_codebook() -> Codebook {
    parse(DEFAULT_TOML).expect("the default codebook is valid (checked by a test)")
}

impl Codebook {
    pub fn theme(&self, id: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_codebook_is_valid_and_rich() {
        let c = default_codebook();
        assert!(c.themes.len() >= 14, "{} themes", c.themes.len());
        for t in &c.themes {
            assert!(
                t.examples.len() >= 3,
                "{} has {} examples",
                t.id,
                t.examples.len()
            );
            assert!(!t.description.is_empty(), "{}", t.id);
        }
    }

    /// A gap stands between words, with or without spaces, as `...` or `…`.
    #[test]
    fn gaps_stand_between_words() {
        assert!(check_pattern("charged ... twice").is_ok());
        assert!(check_pattern("charg*...twice").is_ok());
        assert!(check_pattern("charged … twice").is_ok());
        assert!(check_pattern("charged ...").is_err());
        assert!(check_pattern("… twice").is_err());
        assert!(check_pattern("charged ... ... twice").is_err());
        assert!(check_pattern("!!").is_err());
    }

    #[test]
    fn problems_come_with_line_numbers() {
        let text = "[codebook]\nname = \"x\"\n\n[[theme]]\nid = \"a\"\nname = \"A\"\nkind = \"pain\"\nkeywords = [\"de*liver\"]\n\n[[theme]]\nid = \"a\"\nname = \"B\"\nkind = \"worry\"\ndescription = \"d\"\n";
        let p = parse(text).unwrap_err();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].message.contains("de*liver") && p[0].line == Some(4),
            "{p:?}"
        );
        assert!(p[1].message.contains("used twice") && p[1].line == Some(10));
        assert!(p[2].message.contains("worry") && p[2].line == Some(10));
    }

    #[test]
    fn syntax_errors_and_unknown_fields_name_the_line() {
        let p = parse("[codebook]\nname = \"x\"\n[[theme]]\nid = \"a\"\nname = \"A\"\nkind = \"pain\"\nkeyword = [\"x\"]\n").unwrap_err();
        assert_eq!(p[0].line, Some(7), "{p:?}");
        assert!(p[0].message.contains("keyword"), "{p:?}");
        let p = parse("[codebook]\nname = \"x\n").unwrap_err();
        assert_eq!(p[0].line, Some(2), "{p:?}");
    }

    #[test]
    fn filter_table_overrides_rules() {
        let c = parse("[codebook]\nname = \"x\"\n[filter]\nmin_prevalence = 0.5\ntop = 4\n[[theme]]\nid = \"a\"\nname = \"A\"\nkind = \"pain\"\ndescription = \"d\"\n").unwrap();
        assert_eq!(c.rules.min_prevalence, 0.5);
        assert_eq!(c.rules.top, 4);
        assert_eq!(c.rules.critical_severity, 3);
    }

    #[test]
    fn serdif_codebook_parses() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/eval/serdif-dev/codebook.toml");
        if let Ok(text) = std::fs::read_to_string(p) {
            let c = parse(&text).unwrap();
            assert_eq!(c.themes.len(), 20);
        }
    }
}
