//! A sample [`Insights`] for the report writers' tests: three themes (a kept pain theme, a
//! kept delight theme and a dropped one), two stories, ten participants with a `plan`
//! attribute, and saturation steps.

use crate::types::*;

pub(crate) fn theme(id: &str, kind: ThemeKind, n: usize, sev: u8, verdict: Verdict) -> ThemeStats {
    ThemeStats {
        id: id.into(),
        name: format!("Theme {}", id),
        kind,
        origin: Origin::Codebook,
        description: String::new(),
        participants: (1..=n).map(|i| format!("P{:02}", i)).collect(),
        prevalence: n as f64 / 10.0,
        mentions: n * 2,
        severity: sev,
        priority: n as f64 / 10.0 * sev as f64,
        verdict,
        reason: "because".into(),
        single_source: false,
        segments: Default::default(),
    }
}

pub(crate) fn quote(p: &str, text: &str, start: Option<f64>) -> Quote {
    Quote {
        participant: p.into(),
        source: format!("/home/r/rec/{}.m4a", p),
        text: text.into(),
        start,
        end: start.map(|s| s + 3.0),
        pain: 2,
        confidence: None,
    }
}

pub(crate) fn story(theme: &str, quotes: Vec<Quote>) -> Story {
    Story {
        theme: theme.into(),
        headline: format!("Headline {}", theme),
        observation: "Observed.".into(),
        implication: "It matters.".into(),
        confidence: Confidence::High,
        confidence_reason: "4 of 10 participants".into(),
        quotes,
    }
}

pub(crate) fn insights() -> Insights {
    Insights {
        schema: INSIGHTS_SCHEMA.into(),
        study: Study {
            title: "Study".into(),
            generated: "2026-04-02T10:00:00Z".into(),
            tool: "sowhat 0.1.0".into(),
            codebook: "Customer experience".into(),
            interviews: 10,
            languages: vec!["en".into()],
            rules: "keep at ≥ 30 %".into(),
            redaction: None,
            unnamed: None,
        },
        participants: (1..=10)
            .map(|i| Participant {
                id: format!("P{:02}", i),
                source: format!("/home/r/rec/P{:02}.m4a", i),
                language: Some("en".into()),
                attributes: [("plan".to_string(), "pro".to_string())]
                    .into_iter()
                    .collect(),
            })
            .collect(),
        themes: vec![
            theme("a", ThemeKind::Pain, 4, 3, Verdict::Keep),
            theme("b", ThemeKind::Delight, 5, 0, Verdict::Keep),
            theme("c", ThemeKind::Pain, 1, 1, Verdict::Drop),
        ],
        stories: vec![
            story(
                "a",
                vec![
                    quote("P01", "It broke.", Some(761.9)),
                    quote("P02", "Again.", None),
                ],
            ),
            story("b", vec![quote("P03", "Lovely.", Some(5.0))]),
        ],
        mentions: vec![],
        saturation: Saturation {
            steps: (1..=10)
                .map(|i| SaturationStep {
                    source: format!("/home/r/rec/P{:02}.m4a", i),
                    participants: vec![format!("P{:02}", i)],
                    new_themes: match i {
                        1 => vec!["a".into()],
                        2 => vec!["b".into(), "c".into()],
                        _ => vec![],
                    },
                    total: if i == 1 { 1 } else { 3 },
                })
                .collect(),
            statement: "The last 8 interviews added no new theme.".into(),
            saturated: true,
        },
        failures: vec![],
    }
}
