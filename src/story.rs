//! Insight stories: what a product team reads about each kept theme.
//!
//! Input: the filter's [`ThemeStats`], the [`Mention`]s and the study's participants. Output:
//! one [`Story`] per kept theme — headline (the finding, not just the theme's name) →
//! observation (what, n of N, segments) → 2–3 quotes from different participants →
//! implication (by kind and severity) → confidence (prevalence, severity, saturation,
//! transcription confidence) — and the [`Saturation`] of the study.

use crate::filter::{is_evidence, severity_word};
use crate::tag::keyword::tokenize;
use crate::types::{
    Confidence, Mention, Participant, Quote, Saturation, SaturationStep, Story, ThemeKind,
    ThemeStats, Verdict,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Quotes per story.
const MAX_QUOTES: usize = 3;

/// Stories for every kept theme, in the filter's order.
pub fn stories(
    themes: &[ThemeStats],
    mentions: &[Mention],
    participants: &[Participant],
    saturation: &Saturation,
) -> Vec<Story> {
    // A sentence quoted in a higher-priority story is not quoted again while others exist.
    let mut quoted: HashSet<(String, String)> = HashSet::new();
    themes
        .iter()
        .filter(|t| t.verdict == Verdict::Keep)
        .map(|t| {
            let s = story(t, mentions, participants, saturation, &quoted);
            for q in &s.quotes {
                quoted.insert((q.source.clone(), q.text.clone()));
            }
            s
        })
        .collect()
}

fn story(
    t: &ThemeStats,
    mentions: &[Mention],
    participants: &[Participant],
    saturation: &Saturation,
    quoted: &HashSet<(String, String)>,
) -> Story {
    let n = participants.len();
    let k = t.participants.len();
    let ms: Vec<&Mention> = mentions
        .iter()
        .filter(|m| m.theme == t.id && is_evidence(m))
        .collect();
    let fresh: Vec<&Mention> = ms
        .iter()
        .copied()
        .filter(|m| !quoted.contains(&(m.source.clone(), m.text.clone())))
        .collect();
    let mut quotes = pick_quotes(&fresh, t.kind);
    if quotes.len() < 2 {
        quotes = pick_quotes(&ms, t.kind);
    }
    let cue_counts = cue_families(&ms);
    let headline = match t.kind {
        ThemeKind::Pain => {
            let leave = cue_counts
                .iter()
                .find(|(c, _)| c.as_str() == "leave")
                .map(|(_, n)| *n)
                .unwrap_or(0);
            // The codebook's name as a label: researchers name codes as findings ("Navigation
            // complex", "Wording not clear") as often as topics ("Delivery"), and only a label
            // reads right for both.
            let mut h = format!("{}: {k} of {n} participants hit problems", t.name);
            if leave >= k {
                // Everyone who hit problems would leave: say it once.
                h = format!(
                    "{}: {k} of {n} participants would leave or switch over it",
                    t.name
                );
            } else if leave > 0 {
                h.push_str(&format!("; {leave} would leave or switch over it"));
            } else if let Some((cue, c)) = cue_counts.first().filter(|(_, c)| *c >= 2) {
                // Only a pattern shared by several people belongs in a headline.
                h.push_str(&format!(" — {c} {}", cue_phrase(cue)));
            }
            h
        }
        ThemeKind::Delight | ThemeKind::Request => format!("{}: {k} of {n} participants", t.name),
        ThemeKind::Neutral => format!("{}: {k} of {n} participants bring it up", t.name),
    };
    let mut observation = format!(
        "{k} of {n} participants ({:.0} %) raised “{}” in {} sentence{}",
        t.prevalence * 100.0,
        t.name,
        ms.len(),
        if ms.len() == 1 { "" } else { "s" }
    );
    if t.severity > 0 {
        observation.push_str(&format!(
            "; the strongest evidence is severity {} ({})",
            t.severity,
            severity_word(t.severity)
        ));
    }
    observation.push('.');
    // The cues are of pain; under praise they would describe the mixed remarks, not the praise.
    if !cue_counts.is_empty() && t.kind.has_severity() {
        let list: Vec<String> = cue_counts
            .iter()
            .take(3)
            .map(|(c, n)| format!("{} ({n})", cue_phrase(c)))
            .collect();
        observation.push_str(&format!(
            " What participants described: {}.",
            list.join(", ")
        ));
    }
    let mut implication = match (t.kind, t.severity) {
        (ThemeKind::Pain, 4..) => "Critical: people would leave, cancel or complain publicly over this. Treat it as a retention risk and fix it first.".to_string(),
        (ThemeKind::Pain, 3) => "Serious: it blocks tasks or costs customers time or money. Prioritise a fix and measure whether it works.".to_string(),
        (ThemeKind::Pain, 2) => "Friction: it slows people down without stopping them. Fix it where it is cheap, or bundle it with related work.".to_string(),
        (ThemeKind::Pain, _) => "Cosmetic: noticed, but it hurts little. Polish it when convenient.".to_string(),
        (ThemeKind::Delight, _) => "A strength to protect: keep it intact when this area changes, and use it in messaging.".to_string(),
        (ThemeKind::Request, _) => format!("A request from {k} participants: find the need behind it before building it."),
        (ThemeKind::Neutral, _) => "A recurring topic the codebook does not name: read the quotes and decide whether it is a problem worth a theme.".to_string(),
    };
    if t.single_source {
        implication.push_str(
            " Single source: one participant, but serious enough to check with more customers.",
        );
    }
    let (confidence, confidence_reason) = confidence(t, &ms, n, saturation);
    Story {
        theme: t.id.clone(),
        headline,
        observation,
        implication,
        confidence,
        confidence_reason,
        quotes,
    }
}

/// Cue families (`leave`, `lost-time`, …) by the number of participants whose sentences fired them.
fn cue_families(ms: &[&Mention]) -> Vec<(String, usize)> {
    let mut by: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for m in ms {
        for c in &m.cues {
            if let Some((family, _)) = c.split_once(':') {
                // How a mention was found ("kw", "meaning", "learned") is not what was said.
                if matches!(family, "kw" | "minor" | "meaning" | "learned" | "cosmetic") {
                    continue;
                }
                by.entry(family.to_string())
                    .or_default()
                    .insert(m.participant.as_str());
            }
        }
    }
    let mut v: Vec<(String, usize)> = by.into_iter().map(|(c, p)| (c, p.len())).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// A cue family as words in a sentence, from the built-in lexicon's label.
fn cue_phrase(id: &str) -> String {
    static LEX: std::sync::OnceLock<crate::tag::pain::Lexicon> = std::sync::OnceLock::new();
    let lex = LEX.get_or_init(crate::tag::pain::Lexicon::builtin);
    lex.cues
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.label.clone())
        .unwrap_or_else(|| id.replace('-', " "))
}

/// Picks up to three quotes from different participants: strong (severity, classifier score),
/// representative (not the longest rant nor a two-word fragment, not a sentence that trails off
/// in pauses), clearly recognised, and not near-duplicates of each other.
fn pick_quotes(ms: &[&Mention], kind: ThemeKind) -> Vec<Quote> {
    let mut ranked: Vec<(&Mention, f64)> = ms
        .iter()
        .map(|m| {
            let words = m.text.split_whitespace().count() as f64;
            let length = if words < 5.0 {
                -0.6
            } else if words > 45.0 {
                -0.3
            } else if (8.0..=30.0).contains(&words) {
                0.2
            } else {
                0.0
            };
            // "So download all ... I cannot not see that": a thought broken off reads as a
            // fragment out of its context; a product team needs the whole complaint. Each pause
            // weighs more than a severity level (0.35), so a whole sentence one level milder leads.
            let pauses = (m.text.matches("...").count() + m.text.matches('…').count()).min(2);
            let broken = -0.4 * pauses as f64;
            let strength = if kind == ThemeKind::Pain {
                m.pain as f64 * 0.35
            } else {
                0.0
            };
            // Keywords and meaning agreeing on the theme mark the sentences plainly about it
            // ("it would be nice if…" for a wish) over ones only near it in meaning.
            let agreed = if m.method == crate::types::Method::Both {
                0.15
            } else {
                0.0
            };
            (*m, m.score as f64 + strength + length + broken + agreed)
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(a.0.participant.cmp(&b.0.participant))
            .then(
                a.0.start
                    .unwrap_or(0.0)
                    .total_cmp(&b.0.start.unwrap_or(0.0)),
            )
    });
    let mut out: Vec<Quote> = Vec::new();
    let mut used: HashSet<&str> = HashSet::new();
    let mut seen_words: Vec<HashSet<String>> = Vec::new();
    for (m, _) in ranked {
        if out.len() >= MAX_QUOTES {
            break;
        }
        if used.contains(m.participant.as_str()) {
            continue;
        }
        let words: HashSet<String> = tokenize(&m.text).into_iter().map(|t| t.word).collect();
        if seen_words.iter().any(|w| jaccard(w, &words) > 0.6) {
            continue;
        }
        used.insert(m.participant.as_str());
        seen_words.push(words);
        out.push(Quote {
            participant: m.participant.clone(),
            source: m.source.clone(),
            text: m.text.clone(),
            start: m.start,
            end: m.end,
            pain: m.pain,
            confidence: None,
        });
    }
    out
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let inter = a.intersection(b).count() as f64;
    let union = a.union(b).count() as f64;
    if union == 0.0 {
        0.0
    } else {
        inter / union
    }
}

fn confidence(
    t: &ThemeStats,
    ms: &[&Mention],
    n: usize,
    saturation: &Saturation,
) -> (Confidence, String) {
    let k = t.participants.len();
    let mut reasons = vec![format!("{k} of {n} participants")];
    let mut points = 0i32;
    if t.prevalence >= 0.5 || k >= 5 {
        points += 2;
    } else if t.prevalence >= 0.3 || k >= 3 {
        points += 1;
    }
    // Serious evidence makes a finding surer only when more than one person gave it: one
    // "so not working" among routine sentences is a lead to check (the filter keeps it as
    // single-source critical), not a confirmed problem.
    let serious: HashSet<&str> = ms
        .iter()
        .filter(|m| m.pain >= 3)
        .map(|m| m.participant.as_str())
        .collect();
    if t.severity >= 3 {
        let who = if serious.len() >= 2 {
            points += 1;
            format!("from {} participants", serious.len())
        } else {
            "from one participant".to_string()
        };
        reasons.push(format!(
            "severity {} ({}) {who}",
            t.severity,
            severity_word(t.severity)
        ));
    }
    if saturation.saturated {
        points += 1;
        reasons.push("no new themes in the last interviews".into());
    } else if saturation.steps.len() >= 4 {
        reasons.push("interviews were still adding themes".into());
    }
    let both = ms
        .iter()
        .filter(|m| m.method == crate::types::Method::Both)
        .count();
    if both * 2 >= ms.len() && !ms.is_empty() {
        points += 1;
        reasons.push("keywords and meaning agree".into());
    }
    if t.single_source {
        points -= 2;
        reasons.push("single source".into());
    }
    let c = if points >= 3 {
        Confidence::High
    } else if points >= 1 {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    (c, reasons.join(", "))
}

/// New themes per interview in the given order, and whether the last interviews still added
/// any. `order` is the interviews' sources in the order they were given; only kept themes count.
pub fn saturation(
    order: &[(String, Vec<String>)],
    themes: &[ThemeStats],
    mentions: &[Mention],
) -> Saturation {
    let kept: HashSet<&str> = themes
        .iter()
        .filter(|t| t.verdict == Verdict::Keep)
        .map(|t| t.id.as_str())
        .collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut steps = Vec::new();
    for (source, people) in order {
        let mut new: Vec<String> = Vec::new();
        for m in mentions
            .iter()
            .filter(|m| &m.source == source && kept.contains(m.theme.as_str()) && is_evidence(m))
        {
            if seen.insert(m.theme.clone()) {
                new.push(m.theme.clone());
            }
        }
        steps.push(SaturationStep {
            source: source.clone(),
            participants: people.clone(),
            new_themes: new,
            total: seen.len(),
        });
    }
    let n = steps.len();
    let tail = (n.div_ceil(3)).max(2);
    let (saturated, statement) = if n < 4 {
        (
            false,
            format!("Only {n} interview{}: too few to judge saturation; expect more themes from more interviews.", if n == 1 { "" } else { "s" }),
        )
    } else {
        let late: Vec<&SaturationStep> = steps[n - tail..]
            .iter()
            .filter(|s| !s.new_themes.is_empty())
            .collect();
        if late.is_empty() {
            (
                true,
                format!(
                    "The last {tail} of {n} interviews added no new theme: the main themes are likely covered."
                ),
            )
        } else {
            // Names, not ids: "emergent-2" means nothing to a reader.
            let name = |id: &String| {
                let name = themes.iter().find(|t| &t.id == id).map_or(id, |t| &t.name);
                format!("“{name}”")
            };
            let added: Vec<String> = late
                .iter()
                .map(|s| {
                    let names: Vec<String> = s.new_themes.iter().map(name).collect();
                    format!(
                        "{} added {}",
                        crate::report::file_name(&s.source),
                        names.join(", ")
                    )
                })
                .collect();
            (
                false,
                format!(
                    "The last {tail} of {n} interviews still added themes ({}): more interviews may find more.",
                    added.join("; ")
                ),
            )
        }
    };
    Saturation {
        steps,
        statement,
        saturated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Method, Origin};

    fn mention(p: &str, theme: &str, text: &str, pain: u8, cues: &[&str]) -> Mention {
        Mention {
            participant: p.into(),
            source: format!("{p}.txt"),
            text: text.into(),
            start: Some(61.0),
            end: Some(64.0),
            theme: theme.into(),
            kind: ThemeKind::Pain,
            score: 0.8,
            method: Method::Both,
            pain,
            cues: cues.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn stats(id: &str, people: &[&str], severity: u8) -> ThemeStats {
        ThemeStats {
            id: id.into(),
            name: "Delivery and waiting".into(),
            kind: ThemeKind::Pain,
            origin: Origin::Codebook,
            description: String::new(),
            participants: people.iter().map(|s| s.to_string()).collect(),
            prevalence: people.len() as f64 / 4.0,
            mentions: 4,
            severity,
            priority: 0.0,
            verdict: Verdict::Keep,
            reason: String::new(),
            single_source: false,
            segments: BTreeMap::new(),
        }
    }

    fn participants(n: usize) -> Vec<Participant> {
        (1..=n)
            .map(|i| Participant {
                id: format!("P{i}"),
                source: format!("P{i}.txt"),
                language: Some("en".into()),
                attributes: BTreeMap::new(),
            })
            .collect()
    }

    /// One participant's serious sentence among others' mild ones does not make the finding
    /// surer; the same severity from two participants does.
    #[test]
    fn serious_evidence_from_one_person_does_not_raise_confidence() {
        let people = ["P1", "P2", "P3", "P4"];
        let story_with = |serious: &[&str]| {
            let ms: Vec<Mention> = people
                .iter()
                .map(|p| {
                    let pain = if serious.contains(p) { 3 } else { 1 };
                    let mut m = mention(p, "d", "The parcel came late again this week.", pain, &[]);
                    m.method = Method::Examples;
                    m
                })
                .collect();
            stories(
                &[stats("d", &people, 3)],
                &ms,
                &participants(6),
                &Saturation::default(),
            )
            .remove(0)
        };
        let one = story_with(&["P1"]);
        assert_eq!(
            one.confidence,
            Confidence::Medium,
            "{}",
            one.confidence_reason
        );
        assert!(
            one.confidence_reason.contains("from one participant"),
            "{}",
            one.confidence_reason
        );
        let two = story_with(&["P1", "P3"]);
        assert_eq!(
            two.confidence,
            Confidence::High,
            "{}",
            two.confidence_reason
        );
        assert!(
            two.confidence_reason.contains("from 2 participants"),
            "{}",
            two.confidence_reason
        );
    }

    /// Of two equally strong quotes, the whole thought leads, not the one broken off in pauses.
    #[test]
    fn a_quote_that_trails_off_yields_to_a_whole_one() {
        let ms = vec![
            mention(
                "P1",
                "d",
                "So the parcel ... I could not see that, oh yes ...",
                3,
                &[],
            ),
            mention(
                "P2",
                "d",
                "The parcel came two weeks late and nobody told me why.",
                3,
                &[],
            ),
        ];
        let s = stories(
            &[stats("d", &["P1", "P2"], 3)],
            &ms,
            &participants(2),
            &Saturation::default(),
        );
        let q = &s[0].quotes;
        assert_eq!(q[0].participant, "P2", "{q:?}");
        assert_eq!(q.len(), 2, "a fragment still quotes its participant: {q:?}");
    }

    /// Keywords and meaning agreeing rank a wish said in words above one only near in meaning.
    #[test]
    fn a_quote_named_in_keywords_and_meaning_ranks_first() {
        let mut near = mention(
            "P1",
            "w",
            "Oh we can select others, as many as we want.",
            0,
            &[],
        );
        near.method = Method::Embedding;
        near.score = 0.9;
        let said = mention(
            "P2",
            "w",
            "I would like to see a histogram and a time series plot.",
            0,
            &["kw: would like"],
        );
        let q = pick_quotes(&[&near, &said], ThemeKind::Request);
        assert_eq!(q[0].participant, "P2", "{q:?}");
    }

    #[test]
    fn quotes_come_from_different_participants_without_near_duplicates() {
        let ms = vec![
            mention(
                "P1",
                "d",
                "The parcel came two weeks late and nobody told me why.",
                3,
                &["lost-time: weeks"],
            ),
            mention(
                "P1",
                "d",
                "Again the parcel was late, two weeks late.",
                3,
                &[],
            ),
            mention(
                "P2",
                "d",
                "The parcel came two weeks late and nobody told me why.",
                3,
                &[],
            ),
            mention(
                "P3",
                "d",
                "I would switch to another shop because of the delivery.",
                4,
                &["leave: switch* to"],
            ),
        ];
        let s = stories(
            &[stats("d", &["P1", "P2", "P3"], 4)],
            &ms,
            &participants(4),
            &Saturation::default(),
        );
        let q = &s[0].quotes;
        assert_eq!(q.len(), 2, "{q:?}");
        let who: HashSet<&str> = q.iter().map(|q| q.participant.as_str()).collect();
        assert_eq!(who.len(), 2);
        assert_eq!(q[0].participant, "P3", "the critical quote leads");
        assert!(
            s[0].headline
                .starts_with("Delivery and waiting: 3 of 4 participants hit problems"),
            "{}",
            s[0].headline
        );
        assert!(s[0].headline.contains("1 would leave"), "{}", s[0].headline);
        assert!(s[0].implication.starts_with("Critical"));
    }

    /// When all who hit problems would leave, the headline says so once, not "hit problems;
    /// 2 would leave".
    #[test]
    fn everyone_who_would_leave_is_said_once() {
        let ms = vec![
            mention(
                "P1",
                "d",
                "I'll switch to another provider.",
                4,
                &["leave: x"],
            ),
            mention("P2", "d", "We cancelled the contract.", 4, &["leave: y"]),
        ];
        let s = stories(
            &[stats("d", &["P1", "P2"], 4)],
            &ms,
            &participants(5),
            &Saturation::default(),
        );
        assert_eq!(
            s[0].headline,
            "Delivery and waiting: 2 of 5 participants would leave or switch over it"
        );
    }

    #[test]
    fn how_a_mention_was_found_is_not_what_participants_described() {
        let learned = "learned: like the pain quotes in your coded examples";
        let ms = vec![
            mention("P1", "d", "The parcel came late again.", 1, &[learned]),
            mention(
                "P2",
                "d",
                "It took ages to arrive.",
                2,
                &[learned, "lost-time: ages"],
            ),
            mention(
                "P3",
                "d",
                "Late, as usual.",
                1,
                &[learned, "meaning: close to it"],
            ),
        ];
        let s = stories(
            &[stats("d", &["P1", "P2", "P3"], 2)],
            &ms,
            &participants(4),
            &Saturation::default(),
        );
        assert!(!s[0].headline.contains("learned"), "{}", s[0].headline);
        assert!(
            !s[0].observation.contains("learned"),
            "{}",
            s[0].observation
        );
        assert!(s[0].observation.contains("(1)"), "{}", s[0].observation);
    }

    #[test]
    fn saturation_reports_late_themes() {
        let themes = vec![stats("a", &["P1"], 3), stats("b", &["P5"], 3)];
        let ms = vec![
            mention("P1", "a", "x", 3, &[]),
            mention("P5", "b", "y", 3, &[]),
        ];
        let order: Vec<(String, Vec<String>)> = (1..=6)
            .map(|i| (format!("P{i}.txt"), vec![format!("P{i}")]))
            .collect();
        let s = saturation(&order, &themes, &ms);
        assert!(!s.saturated);
        assert!(
            s.statement.contains("P5.txt added “Delivery and waiting”"),
            "{}",
            s.statement
        );
        assert_eq!(s.steps[4].total, 2);
        let ms = vec![
            mention("P1", "a", "x", 3, &[]),
            mention("P2", "b", "y", 3, &[]),
        ];
        let s = saturation(&order, &themes, &ms);
        assert!(s.saturated, "{}", s.statement);
        let s = saturation(&order[..3], &themes, &ms);
        assert!(s.statement.starts_with("Only 3 interviews"));
    }
}
