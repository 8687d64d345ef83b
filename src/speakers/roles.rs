//! Roles: which speaker of a transcript is the interviewer, and which are participants.
//!
//! In order of authority:
//! 1. `--interviewer NAME` (a speaker label, case- and accent-insensitive);
//! 2. a label that names the role ("Interviewer", "Moderator", "Q", "Prowadzący", "Интервьюер", …);
//! 3. evidence, for unlabelled speakers ("SPEAKER_01", "left"): who asks the questions, who speaks
//!    first, who talks less. The evidence and a confidence are recorded so a researcher can check.
//!
//! Every other speaker is a participant: the recording's participant id (`P03`), or `P03a`,
//! `P03b`, … when a recording has several (a couple, a buying committee).

use crate::types::{Speaker, Transcript};
use serde::{Deserialize, Serialize};

/// Labels that name the interviewer, folded (lower case, no accents). English, Lithuanian,
/// Polish, Russian.
const INTERVIEWER_LABELS: &[&str] = &[
    "interviewer",
    "moderator",
    "facilitator",
    "researcher",
    "host",
    "q",
    "i",
    "int",
    "mod",
    "interviewer 1",
    "ux researcher",
    "user researcher",
    // Lithuanian
    "interviuotojas",
    "interviuotoja",
    "moderatorius",
    "moderatore",
    "tyrejas",
    "tyreja",
    "klausejas",
    // Polish
    "prowadzacy",
    "prowadzaca",
    "badacz",
    "badaczka",
    "ankieter",
    "ankieterka",
    "moderatorka",
    // Russian
    "интервьюер",
    "модератор",
    "ведущий",
    "ведущая",
    "исследователь",
    "исследовательница",
    "интервьюерша",
    "вопрос",
    "в",
];

/// Labels that name a participant role, folded.
const PARTICIPANT_LABELS: &[&str] = &[
    "participant",
    "respondent",
    "interviewee",
    "customer",
    "client",
    "user",
    "p",
    "a",
    "r",
    "dalyvis",
    "dalyve",
    "respondentas",
    "respondente",
    "klientas",
    "kliente",
    "uczestnik",
    "uczestniczka",
    "respondentka",
    "klient",
    "klientka",
    "rozmowca",
    "участник",
    "участница",
    "респондент",
    "респондентка",
    "клиент",
    "клиентка",
    "о",
    "ответ",
];

/// Whether a label names a role (interviewer or participant), in any case.
pub fn is_role_label(label: &str) -> bool {
    let f = fold(label);
    INTERVIEWER_LABELS.contains(&f.as_str()) || PARTICIPANT_LABELS.contains(&f.as_str())
}

/// How the interviewer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleMethod {
    /// `--interviewer NAME` (or the channel/speaker flags).
    Flag,
    /// The speaker label names the role.
    Label,
    /// Inferred from who asks, who starts, who talks less.
    Evidence,
    /// One speaker only (or none): everything is the participant's.
    SingleSpeaker,
}

/// What was measured about one speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerEvidence {
    pub label: String,
    pub turns: usize,
    /// Share of this speaker's turns that are questions.
    pub questions: f64,
    /// Share of all words that this speaker said.
    pub words: f64,
    pub speaks_first: bool,
    /// How interviewer-like (higher = more).
    pub score: f64,
}

/// The decision for one transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleDecision {
    pub interviewer: Option<String>,
    pub method: RoleMethod,
    /// 0–1.
    pub confidence: f64,
    pub evidence: Vec<SpeakerEvidence>,
    /// Label → participant id.
    pub participants: Vec<(String, String)>,
}

/// Folds a label for comparison: lower case, accents and punctuation removed, spaces squeezed.
pub fn fold(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().to_lowercase().chars() {
        let c = match c {
            'ą' => 'a',
            'ć' => 'c',
            'ę' => 'e',
            'ł' => 'l',
            'ń' => 'n',
            'ó' => 'o',
            'ś' => 's',
            'ź' | 'ż' => 'z',
            'č' => 'c',
            'ė' => 'e',
            'į' => 'i',
            'š' => 's',
            'ų' | 'ū' => 'u',
            'ž' => 'z',
            'ё' => 'е',
            c => c,
        };
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// Whether a label names the interviewer role.
pub fn is_interviewer_label(label: &str) -> bool {
    let f = fold(label);
    INTERVIEWER_LABELS.contains(&f.as_str())
}

/// Gives every segment of `t` a role. `participant_id` is the recording's participant id;
/// `interviewer` is the `--interviewer NAME` flag.
pub fn assign(t: &mut Transcript, participant_id: &str, interviewer: Option<&str>) -> RoleDecision {
    // Speakers in order of first appearance.
    let mut labels: Vec<String> = Vec::new();
    for s in &t.segments {
        if let Some(Speaker::Label(l)) = &s.speaker {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
    }
    let evidence = measure(t, &labels);
    let flagged = interviewer.and_then(|n| labels.iter().find(|l| fold(l) == fold(n)).cloned());
    let (chosen, method, confidence) = if let Some(l) = flagged {
        (Some(l), RoleMethod::Flag, 1.0)
    } else if let Some(l) = labels.iter().find(|l| is_interviewer_label(l)) {
        (Some(l.clone()), RoleMethod::Label, 1.0)
    } else if labels.len() >= 2 {
        let mut ranked: Vec<&SpeakerEvidence> = evidence.iter().collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
        let margin = ranked[0].score - ranked[1].score;
        (
            Some(ranked[0].label.clone()),
            RoleMethod::Evidence,
            (0.5 + margin).clamp(0.5, 0.99),
        )
    } else {
        (
            None,
            RoleMethod::SingleSpeaker,
            if labels.is_empty() { 0.5 } else { 0.8 },
        )
    };

    // Participant ids: one participant keeps the recording's id; several get a, b, c, …
    let others: Vec<&String> = labels
        .iter()
        .filter(|l| Some(*l) != chosen.as_ref())
        .collect();
    let participants: Vec<(String, String)> = if others.len() <= 1 {
        others
            .iter()
            .map(|l| ((*l).clone(), participant_id.to_string()))
            .collect()
    } else {
        others
            .iter()
            .enumerate()
            .map(|(i, l)| ((*l).clone(), format!("{participant_id}{}", suffix(i))))
            .collect()
    };
    for s in &mut t.segments {
        s.speaker = Some(match s.speaker.take() {
            Some(Speaker::Label(l)) if Some(&l) == chosen.as_ref() => Speaker::Interviewer,
            Some(Speaker::Label(l)) => {
                let id = participants
                    .iter()
                    .find(|(k, _)| *k == l)
                    .map(|(_, v)| v.clone());
                Speaker::Participant(id.unwrap_or_else(|| participant_id.to_string()))
            }
            Some(other) => other,
            None => Speaker::Participant(participant_id.to_string()),
        });
    }
    RoleDecision {
        interviewer: chosen,
        method,
        confidence,
        evidence,
        participants,
    }
}

/// a, b, …, z, aa, ab, …
fn suffix(i: usize) -> String {
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    if i < 26 {
        (letters[i] as char).to_string()
    } else {
        format!("{}{}", letters[i / 26 - 1] as char, letters[i % 26] as char)
    }
}

fn measure(t: &Transcript, labels: &[String]) -> Vec<SpeakerEvidence> {
    let total_words: usize = t
        .segments
        .iter()
        .map(|s| s.text.split_whitespace().count())
        .sum();
    let first = t.segments.iter().find_map(|s| match &s.speaker {
        Some(Speaker::Label(l)) => Some(l.clone()),
        _ => None,
    });
    labels
        .iter()
        .map(|l| {
            let mine: Vec<&str> = t
                .segments
                .iter()
                .filter(|s| matches!(&s.speaker, Some(Speaker::Label(x)) if x == l))
                .map(|s| s.text.as_str())
                .collect();
            let turns = mine.len();
            let questions =
                mine.iter().filter(|t| is_question(t)).count() as f64 / turns.max(1) as f64;
            let words = mine
                .iter()
                .map(|t| t.split_whitespace().count())
                .sum::<usize>() as f64
                / total_words.max(1) as f64;
            let speaks_first = first.as_deref() == Some(l.as_str());
            // Questions weigh most; speaking first and talking less add a little.
            let score =
                2.0 * questions + 0.3 * f64::from(u8::from(speaks_first)) + 0.5 * (1.0 - words);
            SpeakerEvidence {
                label: l.clone(),
                turns,
                questions: (questions * 1000.0).round() / 1000.0,
                words: (words * 1000.0).round() / 1000.0,
                speaks_first,
                score: (score * 1000.0).round() / 1000.0,
            }
        })
        .collect()
}

/// A turn that asks: ends with a question mark (any script), or starts with a question word.
pub fn is_question(text: &str) -> bool {
    let t = text.trim();
    if t.ends_with('?') || t.ends_with('？') || t.contains("? ") {
        return true;
    }
    let first = fold(t.split_whitespace().next().unwrap_or(""));
    const WORDS: &[&str] = &[
        "how",
        "what",
        "why",
        "when",
        "where",
        "which",
        "who",
        "could",
        "can",
        "would",
        "do",
        "did",
        "tell",
        "describe",
        "kaip",
        "kodel",
        "kas",
        "kada",
        "kur",
        "ar",
        "papasakokite",
        "jak",
        "dlaczego",
        "co",
        "kiedy",
        "gdzie",
        "czy",
        "prosze",
        "opowiedz",
        "как",
        "почему",
        "что",
        "когда",
        "где",
        "расскажите",
        "можете",
    ];
    WORDS.contains(&first.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Segment;

    fn t(lines: &[(&str, &str)]) -> Transcript {
        let mut t = Transcript::new("x.txt", "x");
        t.segments = lines
            .iter()
            .map(|(s, x)| Segment {
                start: None,
                end: None,
                speaker: Some(Speaker::Label(s.to_string())),
                text: x.to_string(),
                confidence: None,
            })
            .collect();
        t
    }

    #[test]
    fn labels_in_four_languages() {
        for l in [
            "Interviewer",
            "MODERATOR",
            "Q",
            "Prowadząca",
            "Interviuotojas",
            "Интервьюер",
            "Ведущий",
        ] {
            assert!(is_interviewer_label(l), "{l}");
        }
        for l in ["Participant", "Anna", "Uczestnik", "Dalyvis", "Участник"] {
            assert!(!is_interviewer_label(l), "{l}");
        }
    }

    #[test]
    fn labelled_transcript_maps_roles() {
        let mut x = t(&[
            ("Moderator", "How was it?"),
            ("Participant", "Slow."),
            ("Moderator", "Why?"),
        ]);
        let d = assign(&mut x, "P07", None);
        assert_eq!(d.method, RoleMethod::Label);
        assert_eq!(x.segments[0].speaker, Some(Speaker::Interviewer));
        assert_eq!(
            x.segments[1].speaker,
            Some(Speaker::Participant("P07".into()))
        );
    }

    #[test]
    fn evidence_finds_the_asker_and_couples_get_letters() {
        let mut x = t(&[
            ("SPEAKER_00", "Thanks for coming. How do you order today?"),
            (
                "SPEAKER_01",
                "Mostly on the app, it works fine for the weekly shop and I like it.",
            ),
            (
                "SPEAKER_02",
                "I use the website, the app confuses me when I pay.",
            ),
            ("SPEAKER_00", "What happens when you pay?"),
            (
                "SPEAKER_02",
                "It freezes and I have to start again, which is annoying every single time.",
            ),
        ]);
        let d = assign(&mut x, "P03", None);
        assert_eq!(d.method, RoleMethod::Evidence);
        assert_eq!(d.interviewer.as_deref(), Some("SPEAKER_00"));
        assert!(d.confidence > 0.5);
        assert_eq!(
            x.segments[1].speaker,
            Some(Speaker::Participant("P03a".into()))
        );
        assert_eq!(
            x.segments[2].speaker,
            Some(Speaker::Participant("P03b".into()))
        );
    }

    #[test]
    fn flag_overrides_labels() {
        let mut x = t(&[("Anna", "Jak było?"), ("Moderator", "Dobrze.")]);
        let d = assign(&mut x, "P01", Some("anna"));
        assert_eq!(d.method, RoleMethod::Flag);
        assert_eq!(x.segments[0].speaker, Some(Speaker::Interviewer));
        assert_eq!(
            x.segments[1].speaker,
            Some(Speaker::Participant("P01".into()))
        );
    }
}
