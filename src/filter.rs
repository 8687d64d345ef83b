//! The "so what?" filter: which themes deserve the product team's attention.
//!
//! Input: every [`Mention`], the study's participants and the themes' metadata. Output: one
//! [`ThemeStats`] per theme with at least one mention, with its numbers, a verdict and the
//! reason in plain words (DESIGN.md, "The 'so what?' filter"):
//!
//! - **prevalence** = distinct participants with evidence ÷ participants in the study. For a
//!   theme of kind `pain`, evidence is a mention with severity ≥ 1: a participant who says
//!   delivery was fine is not evidence that delivery hurts;
//! - **severity** 0–4 = the strongest evidence. Praise (kind `delight`) has none
//!   ([`ThemeKind::has_severity`]);
//! - **keep** when prevalence ≥ 30 %, or severity ≥ 3 from one participant (flagged "single
//!   source"), or severity ≥ 2 from at least two participants; drop the rest with the reason;
//! - **priority** = prevalence × severity; kept themes first, by priority, then prevalence,
//!   then problems before other kinds.

use crate::types::{Mention, Origin, Severity, ThemeKind, ThemeStats, Verdict};
use std::collections::{BTreeMap, BTreeSet};

/// Thresholds of the filter (command line and codebook `[filter]` can change them).
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Keep a theme mentioned by at least this share of participants (0–1).
    pub min_prevalence: f64,
    /// Keep a theme with this severity from even one participant ("single source").
    pub critical_severity: Severity,
    /// Keep a theme with this severity from at least `friction_participants` participants.
    pub friction_severity: Severity,
    pub friction_participants: usize,
    /// Stories in the body of the brief; the rest go to the appendix.
    pub top: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_prevalence: 0.3,
            critical_severity: 3,
            friction_severity: 2,
            friction_participants: 2,
            top: 7,
        }
    }
}

impl Rules {
    /// The rules in plain words, for the brief's method note.
    pub fn describe(&self) -> String {
        format!(
            "A theme is kept when at least {:.0} % of participants raise it, or one participant \
             reports severity {} or more ({}; flagged single source), or {} or more participants \
             report severity {} or more ({}). Priority = prevalence × severity.",
            self.min_prevalence * 100.0,
            self.critical_severity,
            severity_word(self.critical_severity),
            self.friction_participants,
            self.friction_severity,
            severity_word(self.friction_severity),
        )
    }
}

/// Nielsen's severity scale in one word.
pub fn severity_word(s: Severity) -> &'static str {
    match s {
        0 => "no pain",
        1 => "cosmetic",
        2 => "friction",
        3 => "serious",
        _ => "critical",
    }
}

/// What the filter needs to know about a theme besides its mentions.
#[derive(Debug, Clone)]
pub struct ThemeInfo {
    pub id: String,
    pub name: String,
    pub kind: ThemeKind,
    pub origin: Origin,
    pub description: String,
}

/// Whether a mention counts as evidence for its theme (see the module docs).
pub fn is_evidence(m: &Mention) -> bool {
    m.kind != ThemeKind::Pain || m.pain >= 1
}

/// Applies the filter. `participants` is every participant of the study (with or without
/// mentions); `attributes` maps participant → attribute columns, for per-segment counts.
/// The participants.csv columns that group people (some value shared by two or more): plan,
/// country, segment. Columns with a different value for everyone (names, e-mails, notes) say
/// nothing about segments and are left out of the breakdowns.
fn grouping_columns(attributes: &BTreeMap<String, BTreeMap<String, String>>) -> BTreeSet<String> {
    let mut values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for attrs in attributes.values() {
        for (c, v) in attrs {
            values.entry(c).or_default().push(v.trim());
        }
    }
    values
        .into_iter()
        .filter(|(_, vs)| {
            let distinct: BTreeSet<&&str> = vs.iter().filter(|v| !v.is_empty()).collect();
            !distinct.is_empty() && distinct.len() < vs.len()
        })
        .map(|(c, _)| c.to_string())
        .collect()
}

pub fn apply(
    mentions: &[Mention],
    themes: &[ThemeInfo],
    participants: &[String],
    attributes: &BTreeMap<String, BTreeMap<String, String>>,
    rules: &Rules,
) -> Vec<ThemeStats> {
    let n = participants.len();
    let grouping = grouping_columns(attributes);
    let mut out = Vec::new();
    for t in themes {
        let ms: Vec<&Mention> = mentions
            .iter()
            .filter(|m| m.theme == t.id && is_evidence(m))
            .collect();
        if ms.is_empty() {
            continue;
        }
        let people: BTreeSet<&str> = ms.iter().map(|m| m.participant.as_str()).collect();
        let prevalence = if n == 0 {
            0.0
        } else {
            people.len() as f64 / n as f64
        };
        // Each participant's strongest evidence.
        let mut per_person: BTreeMap<&str, Severity> = BTreeMap::new();
        for m in &ms {
            let e = per_person.entry(m.participant.as_str()).or_default();
            if t.kind.has_severity() {
                *e = (*e).max(m.pain);
            }
        }
        let severity = per_person.values().copied().max().unwrap_or(0);
        let at_least = |s: Severity| per_person.values().filter(|&&v| v >= s).count();
        let k = people.len();
        let of = format!("{k} of {n} participant{}", if n == 1 { "" } else { "s" });
        let sev = format!("severity {severity} ({})", severity_word(severity));
        let (verdict, single_source, reason) = if prevalence + 1e-9 >= rules.min_prevalence {
            (
                Verdict::Keep,
                false,
                format!("kept: {of} ({:.0} %), {sev}", prevalence * 100.0),
            )
        } else if at_least(rules.friction_severity) >= rules.friction_participants {
            (
                Verdict::Keep,
                false,
                format!(
                    "kept: {} of {n} participants report severity {} or more ({sev} at most), though only {:.0} % raise it",
                    at_least(rules.friction_severity),
                    rules.friction_severity,
                    prevalence * 100.0
                ),
            )
        } else if severity >= rules.critical_severity {
            (
                Verdict::Keep,
                at_least(rules.critical_severity) == 1,
                format!("kept, single source: {of}, but {sev}"),
            )
        } else {
            let why = if k == 1 {
                if severity <= 1 {
                    "a single remark, not serious"
                } else {
                    "a single participant, not serious enough alone"
                }
            } else {
                "too few participants for its severity"
            };
            (
                Verdict::Drop,
                false,
                format!("dropped: {of} ({:.0} %), {sev}: {why}", prevalence * 100.0),
            )
        };
        let mut segments: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for p in &people {
            if let Some(attrs) = attributes.get(*p) {
                for (col, val) in attrs.iter().filter(|(c, _)| grouping.contains(*c)) {
                    *segments
                        .entry(col.clone())
                        .or_default()
                        .entry(val.clone())
                        .or_default() += 1;
                }
            }
        }
        out.push(ThemeStats {
            id: t.id.clone(),
            name: t.name.clone(),
            kind: t.kind,
            origin: t.origin,
            description: t.description.clone(),
            participants: people.iter().map(|s| s.to_string()).collect(),
            prevalence,
            mentions: ms.len(),
            severity,
            priority: prevalence * severity as f64,
            verdict,
            reason,
            single_source,
            segments,
        });
    }
    out.sort_by(|a, b| {
        (a.verdict != Verdict::Keep)
            .cmp(&(b.verdict != Verdict::Keep))
            .then(b.priority.total_cmp(&a.priority))
            .then(b.prevalence.total_cmp(&a.prevalence))
            // At equal priority and reach, problems before the rest: they are what the team
            // has to act on.
            .then((a.kind != ThemeKind::Pain).cmp(&(b.kind != ThemeKind::Pain)))
            .then(b.mentions.cmp(&a.mentions))
            .then(a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, theme: &str, kind: ThemeKind, pain: Severity) -> Mention {
        Mention {
            participant: p.into(),
            source: format!("{p}.txt"),
            text: "x".into(),
            start: None,
            end: None,
            theme: theme.into(),
            kind,
            score: 1.0,
            method: crate::types::Method::Keyword,
            pain,
            cues: vec![],
        }
    }

    fn info(id: &str, kind: ThemeKind) -> ThemeInfo {
        ThemeInfo {
            id: id.into(),
            name: id.into(),
            kind,
            origin: Origin::Codebook,
            description: String::new(),
        }
    }

    fn people(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("P{i:02}")).collect()
    }

    fn run(ms: &[Mention], themes: &[ThemeInfo], n: usize) -> Vec<ThemeStats> {
        apply(ms, themes, &people(n), &BTreeMap::new(), &Rules::default())
    }

    #[test]
    fn prevalence_rule_keeps_at_thirty_percent_exactly() {
        use ThemeKind::*;
        let ms: Vec<Mention> = ["P01", "P02", "P03"]
            .iter()
            .map(|p| m(p, "a", Pain, 1))
            .collect();
        let s = run(&ms, &[info("a", Pain)], 10);
        assert_eq!(s[0].verdict, Verdict::Keep, "{}", s[0].reason);
        assert!((s[0].prevalence - 0.3).abs() < 1e-12);
        assert_eq!(
            s[0].reason,
            "kept: 3 of 10 participants (30 %), severity 1 (cosmetic)"
        );
        // 2 of 10 with severity 1 is dropped.
        let s = run(&ms[..2], &[info("a", Pain)], 10);
        assert_eq!(s[0].verdict, Verdict::Drop);
        assert!(
            s[0].reason.starts_with("dropped: 2 of 10"),
            "{}",
            s[0].reason
        );
    }

    #[test]
    fn single_source_critical_is_kept_and_flagged() {
        let ms = vec![m("P01", "a", ThemeKind::Pain, 4)];
        let s = run(&ms, &[info("a", ThemeKind::Pain)], 12);
        assert_eq!(s[0].verdict, Verdict::Keep);
        assert!(s[0].single_source);
        assert_eq!(
            s[0].reason,
            "kept, single source: 1 of 12 participants, but severity 4 (critical)"
        );
        let ms = vec![m("P01", "a", ThemeKind::Pain, 2)];
        let s = run(&ms, &[info("a", ThemeKind::Pain)], 12);
        assert_eq!(s[0].verdict, Verdict::Drop);
        assert!(
            s[0].reason.contains("not serious enough alone"),
            "{}",
            s[0].reason
        );
    }

    #[test]
    fn friction_from_two_participants_is_kept() {
        use ThemeKind::*;
        let ms = vec![m("P01", "a", Pain, 2), m("P02", "a", Pain, 2)];
        let s = run(&ms, &[info("a", Pain)], 12);
        assert_eq!(s[0].verdict, Verdict::Keep);
        assert!(!s[0].single_source);
        assert!(
            s[0].reason
                .contains("2 of 12 participants report severity 2"),
            "{}",
            s[0].reason
        );
        // The same participant twice is still one participant.
        let ms = vec![m("P01", "a", Pain, 2), m("P01", "a", Pain, 2)];
        assert_eq!(run(&ms, &[info("a", Pain)], 12)[0].verdict, Verdict::Drop);
    }

    #[test]
    fn painless_mentions_of_a_pain_theme_are_not_evidence() {
        use ThemeKind::*;
        let ms: Vec<Mention> = ["P01", "P02", "P03", "P04"]
            .iter()
            .map(|p| m(p, "a", Pain, 0))
            .collect();
        assert!(run(&ms, &[info("a", Pain)], 10).is_empty());
        // A delight theme needs no pain.
        let ms: Vec<Mention> = ms
            .into_iter()
            .map(|mut x| {
                x.theme = "d".into();
                x.kind = Delight;
                x
            })
            .collect();
        let s = run(&ms, &[info("d", Delight)], 10);
        assert_eq!(s[0].verdict, Verdict::Keep);
        assert_eq!(s[0].priority, 0.0);
    }

    #[test]
    fn praise_has_no_severity_even_with_pain_cues_in_its_sentences() {
        use ThemeKind::*;
        // "The charts are great, but the export crashed": praise, and a sentence that hurts.
        let ms: Vec<Mention> = ["P01", "P02", "P03"]
            .iter()
            .map(|p| m(p, "d", Delight, 3))
            .collect();
        let s = run(&ms, &[info("d", Delight)], 10);
        assert_eq!(s[0].severity, 0);
        assert_eq!(s[0].priority, 0.0);
        assert_eq!(
            s[0].reason,
            "kept: 3 of 10 participants (30 %), severity 0 (no pain)"
        );
        // One participant's praise is not a single-source emergency.
        let s = run(&ms[..1], &[info("d", Delight)], 10);
        assert_eq!(s[0].verdict, Verdict::Drop, "{}", s[0].reason);
        // A request keeps the hurt of what is missing.
        let ms = vec![m("P01", "r", Request, 4)];
        let s = run(&ms, &[info("r", Request)], 10);
        assert_eq!((s[0].severity, s[0].verdict), (4, Verdict::Keep));
    }

    #[test]
    fn order_is_kept_first_then_priority_then_prevalence_then_kind_then_id() {
        use ThemeKind::*;
        let mut ms = vec![];
        for p in ["P01", "P02", "P03", "P04"] {
            ms.push(m(p, "b", Pain, 2)); // 0.4 × 2 = 0.8
            ms.push(m(p, "c", Pain, 2)); // tie with b, broken by id
            ms.push(m(p, "d", Request, 2)); // tie too, more mentions, but not a problem
            ms.push(m(p, "d", Request, 2));
        }
        ms.push(m("P01", "a", Pain, 4)); // 0.1 × 4 = 0.4, single source
        ms.push(m("P05", "z", Pain, 1)); // dropped
        let s = run(
            &ms,
            &[
                info("a", Pain),
                info("b", Pain),
                info("c", Pain),
                info("d", Request),
                info("z", Pain),
            ],
            10,
        );
        let ids: Vec<&str> = s.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "d", "a", "z"]);
    }

    #[test]
    fn thresholds_are_configurable_and_segments_counted() {
        use ThemeKind::*;
        let ms = vec![m("P01", "a", Pain, 1), m("P02", "a", Pain, 1)];
        let rules = Rules {
            min_prevalence: 0.2,
            ..Rules::default()
        };
        let mut attrs = BTreeMap::new();
        for (p, plan, name) in [
            ("P01", "pro", "Ann"),
            ("P02", "free", "Bo"),
            ("P03", "pro", "Cy"),
        ] {
            attrs.insert(
                p.to_string(),
                BTreeMap::from([
                    ("plan".to_string(), plan.to_string()),
                    ("name".to_string(), name.to_string()),
                ]),
            );
        }
        let s = apply(&ms, &[info("a", Pain)], &people(10), &attrs, &rules);
        assert_eq!(s[0].verdict, Verdict::Keep);
        assert_eq!(s[0].segments["plan"]["pro"], 1);
        // A column with a different value for everyone is not a segment.
        assert!(!s[0].segments.contains_key("name"));
        assert!(Rules::default().describe().contains("30 %"));
    }
}
