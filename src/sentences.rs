//! Sentences: participant speech cut into the units that get tagged.
//!
//! Input: a [`Transcript`] whose segments have roles (see `speakers::roles`). Output: one
//! [`Utterance`] per participant sentence, with its participant, source, times, the
//! interviewer's prompt before it (every interviewer segment since a participant last spoke:
//! the task read out and the question asked about it) and the participant's turn it belongs to
//! (context for the taggers).
//!
//! The splitter is rule-based and multilingual: a sentence ends at `.`, `!`, `?` (or runs of
//! them) followed by a space and a capital letter, digit, quote or bracket, unless the dot ends a
//! known abbreviation (English, Lithuanian, Polish, Russian), a single capital initial, or
//! belongs to a number (`3.5`, `1.000`). Ellipses (`...`, `…`) are hesitations in speech, not
//! sentence ends. A sentence's times are interpolated within its segment by character position.

use crate::types::{Segment, Speaker, Transcript, Utterance};

/// Abbreviations (lower case, without the final dot) after which a dot does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    // English
    "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "approx", "no", "fig", "jr",
    "sr", "inc", "ltd", "co", "dept", "min", "max", "est", "a.m", "p.m", // Lithuanian
    "pvz", "t.y", "kt", "val", "gerb", "tel", "g", "m", "mln", "tūkst", "pan", "žr", "sk", "nr",
    // Polish
    "np", "tzn", "itd", "itp", "ok", "godz", "ul", "tj", "tys", "zł", "wg", "pt", "dot", "r",
    // Russian
    "т.е", "т.д", "т.п", "напр", "г", "ул", "руб", "тыс", "млн", "см", "др", "им", "с", "стр",
];

/// Splits `text` into sentences; returns byte ranges into `text` (trimmed, never empty).
pub fn split(text: &str) -> Vec<std::ops::Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if matches!(c, '.' | '!' | '?' | '。' | '！' | '？') {
            // The run of terminators (and closing quotes/brackets) after it.
            let mut j = i;
            while j + 1 < chars.len()
                && matches!(
                    chars[j + 1].1,
                    '.' | '!' | '?' | '"' | '\'' | '”' | '’' | ')' | '»'
                )
            {
                j += 1;
            }
            let run: String = chars[i..=j].iter().map(|(_, c)| *c).collect();
            let is_ellipsis = run.starts_with("..") || (c == '.' && run.contains(".."));
            let end = chars.get(j + 1).map(|(p, _)| *p).unwrap_or(text.len());
            let next = chars[j + 1..].iter().find(|(_, c)| !c.is_whitespace());
            let spaced = chars
                .get(j + 1)
                .map(|(_, c)| c.is_whitespace())
                .unwrap_or(true);
            let boundary = match next {
                None => true,
                Some(&(_, n)) => {
                    spaced
                        && !is_ellipsis
                        && (n.is_uppercase()
                            || n.is_ascii_digit()
                            || matches!(
                                n,
                                '"' | '\''
                                    | '“'
                                    | '„'
                                    | '«'
                                    | '('
                                    | '['
                                    | '¿'
                                    | '¡'
                                    | '-'
                                    | '–'
                                    | '—'
                            ))
                        && !(c == '.' && j == i && ends_with_abbreviation(&text[start..pos]))
                }
            };
            if boundary {
                push_trimmed(text, start, end, &mut out);
                start = end;
            }
            i = j + 1;
        } else {
            // Includes '…': a hesitation, never a sentence end.
            i += 1;
        }
    }
    push_trimmed(text, start, text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<std::ops::Range<usize>>) {
    let piece = &text[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if piece.trim().chars().any(|c| c.is_alphanumeric()) {
        out.push(start + lead..end - trail);
    } else if let Some(last) = out.last_mut() {
        // Stray punctuation joins the sentence before it.
        if !piece.trim().is_empty() {
            last.end = end - trail;
        }
    }
}

/// Whether the text before a dot ends with an abbreviation or a single-letter initial.
fn ends_with_abbreviation(before: &str) -> bool {
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if word.is_empty() {
        return false;
    }
    let lower = word.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return true;
    }
    // A single capital initial ("J. Smith") or a dotted acronym ("U.S").
    let letters: Vec<char> = word.chars().filter(|c| *c != '.').collect();
    (letters.len() == 1 && letters[0].is_uppercase()) || (word.contains('.') && letters.len() <= 3)
}

/// The participant sentences of a transcript with roles. Interviewer speech and unlabelled
/// speech never become utterances.
pub fn utterances(t: &Transcript) -> Vec<Utterance> {
    let mut out = Vec::new();
    let mut question: Option<String> = None;
    // Whether the last segment with a role was the interviewer's: their consecutive segments
    // (one question cut into several, a task read out and then asked about) are one prompt.
    let mut asking = false;
    for seg in &t.segments {
        match &seg.speaker {
            Some(Speaker::Interviewer) => {
                let text = seg.text.trim();
                match &mut question {
                    Some(q) if asking => {
                        q.push(' ');
                        q.push_str(text);
                    }
                    _ => question = Some(text.to_string()),
                }
                asking = true;
            }
            Some(Speaker::Participant(id)) => {
                asking = false;
                for r in split(&seg.text) {
                    let (start, end) = interpolate(seg, r.start, r.end);
                    out.push(Utterance {
                        participant: id.clone(),
                        source: t.source.clone(),
                        text: seg.text[r].to_string(),
                        start,
                        end,
                        question: question.clone(),
                        turn: Some(seg.text.trim().to_string()),
                        confidence: seg.confidence,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// Times of the byte range `a..b` of a segment's text, by character share of its duration.
fn interpolate(seg: &Segment, a: usize, b: usize) -> (Option<f64>, Option<f64>) {
    match (seg.start, seg.end) {
        (Some(s), Some(e)) if e > s => {
            let total = seg.text.chars().count().max(1) as f64;
            let ca = seg.text[..a].chars().count() as f64;
            let cb = seg.text[..b].chars().count() as f64;
            let at = |c: f64| ((s + (e - s) * c / total) * 10.0).round() / 10.0;
            // Round the start down to the tenth so a player seeking there hears the first word.
            let start = ((s + (e - s) * ca / total) * 10.0).floor() / 10.0;
            (Some(start.max(s)), Some(at(cb).min(e)))
        }
        (s, e) => (s, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> Vec<&str> {
        split(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn splits_on_terminators_before_capitals() {
        assert_eq!(
            parts("It was late. Nobody called! Why? Because."),
            ["It was late.", "Nobody called!", "Why?", "Because."]
        );
        assert_eq!(parts("  "), Vec::<&str>::new());
        assert_eq!(parts("no terminator at all"), ["no terminator at all"]);
    }

    #[test]
    fn abbreviations_decimals_and_initials_do_not_split() {
        assert_eq!(
            parts("I paid 3.5 euros, e.g. for the box. Then Dr. Smith and J. Brown came."),
            [
                "I paid 3.5 euros, e.g. for the box.",
                "Then Dr. Smith and J. Brown came."
            ]
        );
        assert_eq!(
            parts("Kainavo 1.000 eur., pvz. Vilniuje. Kitą dieną nieko."),
            ["Kainavo 1.000 eur., pvz. Vilniuje.", "Kitą dieną nieko."]
        );
        assert_eq!(
            parts("Czekałem np. Tydzień. Potem itd. Nic."),
            ["Czekałem np. Tydzień.", "Potem itd. Nic."]
        );
        assert_eq!(
            parts("Ждал две недели, т.е. Очень долго. Больше не закажу."),
            ["Ждал две недели, т.е. Очень долго.", "Больше не закажу."]
        );
    }

    #[test]
    fn ellipses_and_lowercase_continuations_stay_together() {
        assert_eq!(
            parts("Not sure what the lag would mean ... I guess it is the start. Okay… Right."),
            [
                "Not sure what the lag would mean ... I guess it is the start.",
                "Okay… Right."
            ]
        );
        assert_eq!(parts("Really?! Yes."), ["Really?!", "Yes."]);
        assert_eq!(
            parts("He said \"stop.\" Then left."),
            ["He said \"stop.\"", "Then left."]
        );
    }

    #[test]
    fn utterances_are_participant_sentences_with_times_and_question() {
        let mut t = Transcript::new("p01.wav", "p01");
        t.segments.push(Segment {
            start: Some(0.0),
            end: Some(2.0),
            speaker: Some(Speaker::Interviewer),
            text: "What happened?".into(),
            confidence: None,
        });
        t.segments.push(Segment {
            start: Some(10.0),
            end: Some(20.0),
            speaker: Some(Speaker::Participant("P01".into())),
            text: "It was late. Nobody told me.".into(),
            confidence: Some(0.9),
        });
        // The interviewer goes on: the prompt is their segments since the participant spoke.
        t.segments.push(Segment {
            start: Some(21.0),
            end: Some(23.0),
            speaker: Some(Speaker::Interviewer),
            text: "Open the billing page.".into(),
            confidence: None,
        });
        t.segments.push(Segment {
            start: Some(23.0),
            end: Some(25.0),
            speaker: Some(Speaker::Interviewer),
            text: " Is it clear? ".into(),
            confidence: None,
        });
        for k in 0..2 {
            t.segments.push(Segment {
                start: Some(26.0 + k as f64),
                end: Some(27.0 + k as f64),
                speaker: Some(Speaker::Participant("P01".into())),
                text: "Not really.".into(),
                confidence: None,
            });
        }
        let u = utterances(&t);
        assert_eq!(u.len(), 4);
        for later in &u[2..] {
            assert_eq!(
                later.question.as_deref(),
                Some("Open the billing page. Is it clear?")
            );
        }
        assert_eq!(u[0].text, "It was late.");
        assert_eq!(u[0].start, Some(10.0));
        assert_eq!(u[1].text, "Nobody told me.");
        assert!(
            u[1].start.unwrap() > 14.0 && u[1].start.unwrap() < 15.0,
            "{:?}",
            u[1].start
        );
        assert_eq!(u[1].end, Some(20.0));
        assert_eq!(u[1].question.as_deref(), Some("What happened?"));
        assert_eq!(u[0].turn.as_deref(), Some("It was late. Nobody told me."));
        assert!(u.iter().all(|x| x.participant == "P01"));
    }
}
