//! Redaction (`--redact`): personal details replaced by a bracketed label in every output, for
//! briefs shared beyond the research team.
//!
//! What is replaced:
//! - e-mail addresses, also as Whisper writes them when spoken ("anna at gmail dot com") → `[email]`;
//! - payment-card numbers (13–19 digits, spaces or dashes allowed, Luhn check) → `[card number]`;
//! - IBANs (mod-97 check) and other runs of 8 or more digits → `[account number]`;
//! - phone numbers: a number written with a leading `+` or an area code in brackets, or 7–12
//!   digits written in groups → `[phone]`;
//! - names from a list (`--redact-names FILE`, plus name columns of `participants.csv`) →
//!   `[name]`, in any case and with or without diacritics; a full name's words are also found
//!   on their own, and inflected forms (Lithuanian, Polish, Russian case endings: `Jonas` →
//!   `Jono`, `Anna` → `Anną`, `Анна` → `Анны`) when capitalised; `*` ends a stem (`Jurg*`).
//!
//! Left alone: dates (2024-03-15, 15.03.2024), times, years, and amounts written with
//! thousands separators (1 200 000). Numbers spoken as words ("five five five…") and names not
//! in the list are not found: read a brief before sharing it.
//!
//! Redaction runs on the finished analysis (so tagging sees the real words) and on every
//! transcript, before anything is written; the transcript cache keeps the unredacted text,
//! as it never leaves the researcher's machine.

use crate::error::{Error, Result};
use crate::tag::keyword::{fold, tokenize};
use crate::types::{Insights, Transcript};
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

/// What a redaction was, and the label that replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Email,
    Card,
    Account,
    Phone,
    Name,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Email => "[email]",
            Kind::Card => "[card number]",
            Kind::Account => "[account number]",
            Kind::Phone => "[phone]",
            Kind::Name => "[name]",
        }
    }

    fn noun(self, n: usize) -> String {
        let (one, many) = match self {
            Kind::Email => ("e-mail address", "e-mail addresses"),
            Kind::Card => ("card number", "card numbers"),
            Kind::Account => ("account number", "account numbers"),
            Kind::Phone => ("phone number", "phone numbers"),
            Kind::Name => ("name", "names"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }
}

/// How many of each kind were replaced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts(pub BTreeMap<Kind, usize>);

impl Counts {
    pub fn add(&mut self, k: Kind) {
        *self.0.entry(k).or_insert(0) += 1;
    }

    pub fn total(&self) -> usize {
        self.0.values().sum()
    }

    pub fn get(&self, k: Kind) -> usize {
        self.0.get(&k).copied().unwrap_or(0)
    }

    /// In plain words, for the brief's method notes.
    pub fn statement(&self) -> String {
        if self.total() == 0 {
            return "Redacted for sharing: e-mail addresses, phone, card and account numbers and listed names would be shown as [email], [phone], [card number], [account number] and [name]; none were found in the transcripts.".into();
        }
        let parts: Vec<String> = self.0.iter().map(|(k, n)| k.noun(*n)).collect();
        format!(
            "Redacted for sharing: {} in the transcripts were replaced by labels such as [email], [phone] and [name]. Numbers spoken as words and names not in the list are not found.",
            join_and(&parts)
        )
    }
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

/// One name of the list, as folded words; the last word may be a stem.
#[derive(Debug, Clone)]
struct Name {
    words: Vec<String>,
    stem: bool,
}

/// Case endings of Lithuanian, Polish and Russian names (folded: no diacritics), so that
/// `Jonas` also finds `Jono`, `Jonui`, `Joną` and `Анна` finds `Анны`, `Анне`.
const ENDINGS: &[&str] = &[
    "a", "o", "u", "e", "i", "y", "s", "as", "is", "ys", "us", "os", "es", "ai", "ui", "iui", "io",
    "ie", "am", "ams", "om", "oj", "ow", "owi", "em", "iem", "ą", "ę", "ų", "а", "я", "о", "е",
    "ы", "и", "у", "ю", "ой", "ей", "ом", "ем", "ою", "ею", "ым", "ым", "ых",
];

/// Letters a name's stem drops before the case ending is added (`Jonas` → `Jon`, `Anna` → `Ann`).
fn name_stem(w: &str) -> &str {
    let n = w.chars().count();
    for end in ["as", "is", "ys", "us"] {
        if n >= 5 && w.ends_with(end) {
            return &w[..w.len() - end.len()];
        }
    }
    match w.chars().last() {
        // Short names too: `Ewa` → `Ew` (`Ewo`, `Ewy`, `Ewie`).
        Some(c) if n >= 3 && "aeiouyаяоеыийь".contains(c) => &w[..w.len() - c.len_utf8()],
        _ => w,
    }
}

/// Finds and replaces personal details; see the module documentation for what it covers.
#[derive(Debug, Clone)]
pub struct Redactor {
    names: Vec<Name>,
    email: Regex,
    spoken_email: Regex,
    iban: Regex,
    number: Regex,
}

impl Redactor {
    /// A redactor for these names (one person's name per entry; `*` ends a stem).
    pub fn new(names: &[String]) -> Redactor {
        let names = names
            .iter()
            .filter_map(|n| {
                let n = n.trim();
                let stem = n.ends_with('*');
                let words: Vec<String> = tokenize(n.trim_end_matches('*'))
                    .into_iter()
                    .map(|t| t.word)
                    .collect();
                (!words.is_empty()).then_some(Name { words, stem })
            })
            .collect();
        Redactor {
            names,
            email: Regex::new(r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)+")
                .expect("e-mail pattern"),
            spoken_email: Regex::new(
                r"(?i)\b[\p{L}\p{N}._\-]+\s+at\s+[\p{L}\p{N}\-]+(?:\s+dot\s+[\p{L}\p{N}\-]+)*\s+dot\s+[a-z]{2,6}\b",
            )
            .expect("spoken e-mail pattern"),
            iban: Regex::new(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
                .expect("IBAN pattern"),
            // Digits with single separators between them, optionally led by `+` or `(`.
            number: Regex::new(r"(?:\+\s?)?(?:\(\d{1,5}\)\s?)?\d(?:[ .\-/]?\(?\d\)?)*")
                .expect("number pattern"),
        }
    }

    /// Reads a list of names: one per line, `#` starts a comment, blank lines ignored.
    pub fn read_names(path: &Path) -> Result<Vec<String>> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::input_fix(
                path,
                format!("cannot read the list of names: {e}"),
                "give --redact-names a text file with one name per line",
            )
        })?;
        let text = crate::transcript::read::decode_text(&bytes)
            .map_err(|e| Error::input_fix(path, e, "save the list of names as UTF-8 text"))?;
        let names: Vec<String> = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            // Asked for names and got none: redacting without them would look done and not be.
            return Err(Error::input_fix(
                path,
                "the list of names is empty",
                "write one name per line (UTF-8 text), or use --redact without a list",
            ));
        }
        Ok(names)
    }

    /// `text` with every personal detail replaced; each replacement is counted.
    pub fn text(&self, text: &str, counts: &mut Counts) -> String {
        self.replace(text, counts, false)
    }

    /// Like [`Redactor::text`] for file names and ids, where names are often written in lower
    /// case (`ruta-interview.m4a`): every listed name's words are found in any case.
    pub fn name_text(&self, text: &str, counts: &mut Counts) -> String {
        self.replace(text, counts, true)
    }

    fn replace(&self, text: &str, counts: &mut Counts, any_case: bool) -> String {
        let mut spans: Vec<(Range<usize>, Kind)> = Vec::new();
        let push = |r: Range<usize>, k: Kind, spans: &mut Vec<(Range<usize>, Kind)>| {
            if !spans
                .iter()
                .any(|(s, _)| s.start < r.end && r.start < s.end)
            {
                spans.push((r, k));
            }
        };
        for m in self.email.find_iter(text) {
            push(m.range(), Kind::Email, &mut spans);
        }
        for m in self.spoken_email.find_iter(text) {
            push(m.range(), Kind::Email, &mut spans);
        }
        for m in self.iban.find_iter(text) {
            if iban_valid(m.as_str()) {
                push(m.range(), Kind::Account, &mut spans);
            }
        }
        for m in self.number.find_iter(text) {
            // Whole numbers only: not digits inside a word, a hash or a code ("a3f9…", "mp3").
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            if before.is_some_and(char::is_alphanumeric) || after.is_some_and(char::is_alphanumeric)
            {
                continue;
            }
            let r = trim_number(text, m.range());
            if let Some(k) = classify_number(&text[r.clone()]) {
                push(r, k, &mut spans);
            }
        }
        for r in self.find_names(text, any_case) {
            push(r, Kind::Name, &mut spans);
        }
        if spans.is_empty() {
            return text.to_string();
        }
        spans.sort_by_key(|(r, _)| r.start);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (r, k) in spans {
            out.push_str(&text[at..r.start]);
            out.push_str(k.label());
            counts.add(k);
            at = r.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Byte ranges of listed names in `text`.
    fn find_names(&self, text: &str, any_case: bool) -> Vec<Range<usize>> {
        if self.names.is_empty() {
            return Vec::new();
        }
        let tokens = tokenize(text);
        let capital = |i: usize| {
            any_case
                || text[tokens[i].range.clone()]
                    .chars()
                    .next()
                    .map(char::is_uppercase)
                    .unwrap_or(false)
        };
        // Whether token `i` is the name word `w` (exactly, any case; or inflected, capitalised).
        let word_is = |i: usize, w: &str, stem: bool| {
            let t = tokens[i].word.as_str();
            if t == w || (stem && t.starts_with(w)) {
                return true;
            }
            let s = name_stem(w);
            s.chars().count() >= 2
                && capital(i)
                && t.strip_prefix(s)
                    .map(|rest| !rest.is_empty() && ENDINGS.contains(&rest))
                    .unwrap_or(false)
        };
        let mut out: Vec<Range<usize>> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let mut best = 0;
            for n in &self.names {
                let len = n.words.len();
                let whole = i + len <= tokens.len()
                    && (0..len).all(|k| word_is(i + k, &n.words[k], n.stem && k + 1 == len));
                if whole {
                    best = best.max(len);
                } else if len > 1
                    && capital(i)
                    && n.words.iter().enumerate().any(|(k, w)| {
                        w.chars().count() >= 3 && word_is(i, w, n.stem && k + 1 == len)
                    })
                {
                    // One word of a full name on its own ("Petraitis said…").
                    best = best.max(1);
                }
            }
            if best > 0 {
                out.push(tokens[i].range.start..tokens[i + best - 1].range.end);
                i += best;
            } else {
                i += 1;
            }
        }
        out
    }

    /// A transcript on its own (as the batch writes it) with its text, speaker labels, id and
    /// source redacted; what was said is counted.
    pub fn transcript(&self, t: &Transcript, counts: &mut Counts) -> Result<Transcript> {
        let ids = HashMap::from([(t.id.clone(), self.id(&t.id, &mut Counts::default()))]);
        self.transcript_with(t, &ids, counts)
    }

    /// The one way a transcript is redacted: every string through [`Redactor::walk`].
    fn transcript_with(
        &self,
        t: &Transcript,
        ids: &HashMap<String, String>,
        counts: &mut Counts,
    ) -> Result<Transcript> {
        let mut v = serde_json::to_value(t).map_err(json_error)?;
        self.walk(&mut v, ids, counts, false);
        serde_json::from_value(v).map_err(json_error)
    }

    /// A file-name-safe id with listed names replaced by `redacted` (`Interview-Anna` →
    /// `Interview-redacted`).
    pub fn id(&self, id: &str, counts: &mut Counts) -> String {
        let r = self.name_text(id, counts);
        if r == id {
            return r;
        }
        crate::fsutil::safe_participant_id(&r.replace("[name]", "redacted").replace(['[', ']'], ""))
    }

    /// Redacts a whole analysis and its transcripts consistently: participant ids keep apart
    /// (two ids that redact to the same string get `-2`, `-3`), and every text field, quote
    /// and label is redacted. Returns the counts over the transcripts.
    pub fn analysis(
        &self,
        insights: &Insights,
        transcripts: &[Transcript],
    ) -> Result<(Insights, Vec<Transcript>, Counts)> {
        // Participant and transcript ids first, so that they stay unique.
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut taken: HashMap<String, usize> = HashMap::new();
        let originals = insights
            .participants
            .iter()
            .map(|p| p.id.clone())
            .chain(transcripts.iter().map(|t| t.id.clone()))
            .chain(transcripts.iter().flat_map(|t| {
                t.segments.iter().filter_map(|s| match &s.speaker {
                    Some(crate::types::Speaker::Participant(p)) => Some(p.clone()),
                    _ => None,
                })
            }));
        for id in originals {
            if ids.contains_key(&id) {
                continue;
            }
            let r = self.id(&id, &mut Counts::default());
            let n = taken.entry(r.clone()).or_insert(0);
            *n += 1;
            let unique = if *n == 1 { r } else { format!("{r}-{n}") };
            ids.insert(id, unique);
        }
        let mut counts = Counts::default();
        let out = transcripts
            .iter()
            .map(|t| self.transcript_with(t, &ids, &mut counts))
            .collect::<Result<Vec<_>>>()?;
        let mut v = serde_json::to_value(insights).map_err(json_error)?;
        self.walk(&mut v, &ids, &mut Counts::default(), false);
        let mut insights: Insights = serde_json::from_value(v).map_err(json_error)?;
        insights.study.redaction = Some(counts.statement());
        Ok((insights, out, counts))
    }

    /// Every string in a JSON tree: an id → its unique redacted id, anything else → redacted
    /// text. Replacements in `text` fields (what was said) are counted.
    fn walk(
        &self,
        v: &mut serde_json::Value,
        ids: &HashMap<String, String>,
        counts: &mut Counts,
        counting: bool,
    ) {
        use serde_json::Value;
        match v {
            Value::String(s) => {
                *s = match ids.get(s.as_str()) {
                    Some(id) => id.clone(),
                    None if counting => self.text(s, counts),
                    None => self.text(s, &mut Counts::default()),
                }
            }
            Value::Array(a) => a
                .iter_mut()
                .for_each(|x| self.walk(x, ids, counts, counting)),
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    match k.as_str() {
                        // Machine fields: schema tags, times, tool and model names, enums.
                        "schema" | "generated" | "tool" | "model" | "role" | "kind" | "method"
                        | "verdict" | "origin" | "language" | "language_setting" => {}
                        // A theme's participants per attribute value: the values are keys
                        // here. (A transcript's `segments` is an array, walked below.)
                        "segments" if x.is_object() => {
                            if let Value::Object(cols) = x {
                                for col in cols.values_mut() {
                                    if let Value::Object(vals) = col {
                                        let mut merged = serde_json::Map::new();
                                        for (val, n) in std::mem::take(vals) {
                                            let key = self.text(&val, &mut Counts::default());
                                            let add = n.as_u64().unwrap_or(0)
                                                + merged
                                                    .get(&key)
                                                    .and_then(Value::as_u64)
                                                    .unwrap_or(0);
                                            merged.insert(key, Value::from(add));
                                        }
                                        *vals = merged;
                                    }
                                }
                            }
                        }
                        // File names: names in any case.
                        "source" | "file" => {
                            if let serde_json::Value::String(s) = x {
                                if !ids.contains_key(s.as_str()) {
                                    *s = self.name_text(s, &mut Counts::default());
                                }
                            }
                        }
                        k => self.walk(x, ids, counts, k == "text"),
                    }
                }
            }
            _ => {}
        }
    }
}

fn json_error(e: serde_json::Error) -> Error {
    Error::Internal(format!("redaction: {e}"))
}

/// Drops separators a number match may end or start with.
fn trim_number(text: &str, r: Range<usize>) -> Range<usize> {
    let s = &text[r.clone()];
    let end = r.start
        + s.trim_end_matches(|c: char| !c.is_ascii_digit() && c != ')')
            .len();
    let s2 = &text[r.start..end];
    let end = if s2.ends_with(')') && !s2.contains('(') {
        end - 1
    } else {
        end
    };
    r.start..end
}

/// What a run of digits is, or `None` when it is not personal (a date, a year, an amount).
fn classify_number(s: &str) -> Option<Kind> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    if n < 7 {
        return None;
    }
    let groups: Vec<&str> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let plus = s.starts_with('+');
    let bracket = s.contains('(');
    if !plus && is_date(s, &groups) {
        return None;
    }
    if !plus && !bracket && groups.iter().all(|g| is_year(g)) {
        return None;
    }
    // 1 200 000 or 1.200.000: an amount, when short enough not to be a phone number.
    let thousands = groups.len() >= 2
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3);
    if thousands && n <= 7 && !plus && !bracket {
        return None;
    }
    if (13..=19).contains(&n) && luhn(&digits) {
        return Some(Kind::Card);
    }
    if plus || bracket {
        return Some(if n <= 15 { Kind::Phone } else { Kind::Account });
    }
    if groups.len() >= 2 && n <= 12 {
        return Some(Kind::Phone);
    }
    if n >= 8 {
        return Some(Kind::Account);
    }
    // Seven digits in one run: a local phone number more often than anything else.
    Some(Kind::Phone)
}

fn is_year(g: &str) -> bool {
    g.len() == 4 && (g.starts_with("19") || g.starts_with("20"))
}

/// 2024-03-15, 2024.03.15, 15.03.2024, 15/03/2024 (3 groups: a year and two small numbers).
fn is_date(s: &str, groups: &[&str]) -> bool {
    if groups.len() != 3 || s.contains(' ') {
        return false;
    }
    let small = |g: &str| g.len() <= 2 && g.parse::<u32>().map(|v| v <= 31).unwrap_or(false);
    (is_year(groups[0]) && small(groups[1]) && small(groups[2]))
        || (small(groups[0]) && small(groups[1]) && (is_year(groups[2]) || groups[2].len() == 2))
}

/// The Luhn checksum of payment-card numbers.
fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = (c - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// The ISO 13616 mod-97 check of an IBAN.
fn iban_valid(s: &str) -> bool {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&s.len()) {
        return false;
    }
    let (head, tail) = s.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Names from the name columns of participants.csv (`name`, `full name`, `surname`, and their
/// Lithuanian, Polish and Russian equivalents).
pub fn names_from_attributes<'a>(
    rows: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
) -> Vec<String> {
    const COLUMNS: &[&str] = &[
        "name",
        "full name",
        "full_name",
        "first name",
        "first_name",
        "last name",
        "last_name",
        "surname",
        "vardas",
        "pavarde",
        "vardas pavarde",
        "imie",
        "nazwisko",
        "imie i nazwisko",
        "имя",
        "фамилия",
        "фио",
    ];
    let mut out = Vec::new();
    for row in rows {
        for (k, v) in row {
            if COLUMNS.contains(&fold(k.trim()).as_str()) && !v.trim().is_empty() {
                out.push(v.trim().to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red(names: &[&str], s: &str) -> String {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        Redactor::new(&names).text(s, &mut Counts::default())
    }

    #[test]
    fn emails_written_and_spoken() {
        assert_eq!(
            red(&[], "Write to anna.k+shop@example.co.uk, please."),
            "Write to [email], please."
        );
        assert_eq!(
            red(&[], "It's jonas at gmail dot com I think."),
            "It's [email] I think."
        );
        // "at" in ordinary speech is not an address.
        assert_eq!(
            red(&[], "I looked at it on the website."),
            "I looked at it on the website."
        );
    }

    #[test]
    fn phone_numbers_in_local_and_international_forms() {
        for s in [
            "+370 612 34567",
            "+48 612-345-678",
            "(555) 123-4567",
            "555-123-4567",
            "612 345 678",
            "8 612 34567",
            "+7 (916) 123-45-67",
        ] {
            assert_eq!(
                red(&[], &format!("Call me on {s}.")),
                "Call me on [phone].",
                "{s}"
            );
        }
    }

    #[test]
    fn cards_and_accounts() {
        assert_eq!(
            red(&[], "My card is 4111 1111 1111 1111 and"),
            "My card is [card number] and"
        );
        assert_eq!(
            red(&[], "IBAN LT12 1000 0111 0100 1000 ok"),
            "IBAN [account number] ok"
        );
        assert_eq!(
            red(&[], "account 00123456789 was charged"),
            "account [account number] was charged"
        );
        // A 16-digit number failing Luhn is still redacted, as an account number.
        assert_eq!(red(&[], "ref 4111 1111 1111 1112"), "ref [account number]");
    }

    #[test]
    fn dates_times_years_and_amounts_stay() {
        for s in [
            "On 2024-03-15 at 10:30 it failed.",
            "Since 15.03.2024 nothing works.",
            "We paid 1 200 000 litas in 1999 2000.",
            "It took 3.5 days and 45 minutes, order 12345.",
            "In 2019 2020 2021 we grew.",
        ] {
            assert_eq!(red(&[], s), s);
        }
    }

    #[test]
    fn listed_names_in_any_case_inflected_and_alone() {
        let names = ["Jonas Petraitis", "Anna", "Анна", "Ewa Nowak"];
        assert_eq!(
            red(&names, "Jonas Petraitis called; JONAS PETRAITIS again."),
            "[name] called; [name] again."
        );
        assert_eq!(red(&names, "Petraitis said so."), "[name] said so.");
        assert_eq!(
            red(&names, "I asked Jono and Anną, then Анны."),
            "I asked [name] and [name], then [name]."
        );
        assert_eq!(red(&names, "Rozmawiałam z Ewą."), "Rozmawiałam z [name].");
        assert_eq!(red(&names, "Dzień dobry, Ewo!"), "Dzień dobry, [name]!");
        // Lower-case inflections and longer words are not names.
        assert_eq!(red(&names, "annals and Annapolis"), "annals and Annapolis");
        assert_eq!(
            red(&["Mark"], "The Market was fine."),
            "The Market was fine."
        );
        assert_eq!(red(&["Jurg*"], "Jurgitai patiko."), "[name] patiko.");
    }

    #[test]
    fn counts_and_statement() {
        let r = Redactor::new(&["Anna".to_string()]);
        let mut c = Counts::default();
        let out = r.text("Anna: a@b.lt or +370 612 34567, Anna.", &mut c);
        assert_eq!(out, "[name]: [email] or [phone], [name].");
        assert_eq!(c.get(Kind::Name), 2);
        assert_eq!(c.get(Kind::Email), 1);
        assert_eq!(c.get(Kind::Phone), 1);
        assert!(c
            .statement()
            .contains("1 e-mail address, 1 phone number and 2 names"));
    }

    #[test]
    fn ids_stay_file_safe_and_apart() {
        use crate::types::*;
        let r = Redactor::new(&["Anna".to_string(), "Bob".to_string()]);
        let mut ins = Insights::default();
        let mut ts = Vec::new();
        for who in ["Anna", "Bob"] {
            ins.participants.push(Participant {
                id: format!("Interview-{who}"),
                source: format!("in/Interview {who}.m4a"),
                language: None,
                attributes: BTreeMap::new(),
            });
            let mut t = Transcript::new(
                format!("in/Interview {who}.m4a"),
                format!("Interview-{who}"),
            );
            t.segments.push(Segment {
                start: Some(0.0),
                end: Some(1.0),
                speaker: Some(Speaker::Participant(format!("Interview-{who}"))),
                text: format!("I am {who}, mail {}@x.com", who.to_lowercase()),
                confidence: None,
            });
            ts.push(t);
        }
        let (ins, ts, counts) = r.analysis(&ins, &ts).unwrap();
        let ids: Vec<&str> = ins.participants.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["Interview-redacted", "Interview-redacted-2"]);
        assert_eq!(ts[1].id, "Interview-redacted-2");
        assert_eq!(
            ts[1].segments[0].speaker,
            Some(Speaker::Participant("Interview-redacted-2".into()))
        );
        assert_eq!(ts[0].segments[0].text, "I am [name], mail [email]");
        assert_eq!(ins.participants[0].source, "in/Interview [name].m4a");
        assert_eq!(counts.get(Kind::Name), 2);
        assert!(ins.study.redaction.as_deref().unwrap().contains("2 names"));
    }

    #[test]
    fn an_empty_list_of_names_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("names.txt");
        std::fs::write(&p, "# nobody yet\n\n").unwrap();
        let e = Redactor::read_names(&p).unwrap_err().to_string();
        assert!(e.contains("names.txt") && e.contains("empty"), "{e}");
        std::fs::write(&p, "Anna # participant\nJonas Petraitis\n").unwrap();
        assert_eq!(
            Redactor::read_names(&p).unwrap(),
            ["Anna", "Jonas Petraitis"]
        );
    }

    #[test]
    fn names_from_participant_columns() {
        let mut row = BTreeMap::new();
        row.insert("Vardas".to_string(), "Rūta".to_string());
        row.insert("plan".to_string(), "pro".to_string());
        assert_eq!(names_from_attributes([&row]), ["Rūta"]);
    }
}
