//! Stage: who is speaking.
//!
//! - [`channels`]: stereo recordings with one person per channel (detected from leakage);
//! - [`fbank`], [`campplus`], [`cluster`], [`diarize`]: voices of a mono recording told apart
//!   with CAM++ speaker embeddings over the VAD's speech, clustered;
//! - [`roles`]: which speaker is the interviewer and which the participant(s), from labels,
//!   flags or evidence (who asks, who starts, who talks less).
//!
//! [`label_segments`] puts diarization turns onto transcript segments, splitting a segment
//! at sentence boundaries when the speaker changes inside it.

pub mod campplus;
pub mod channels;
pub mod cluster;
pub mod diarize;
pub mod fbank;
pub mod roles;

use crate::types::{Segment, Speaker};
use diarize::Turn;

/// The label of diarization speaker `k` ("Speaker 1", "Speaker 2", …).
pub fn speaker_label(k: usize) -> String {
    format!("Speaker {}", k + 1)
}

/// The label of speaker number `n` as users count (1-based): `--interviewer-speaker 2`.
pub fn speaker_label_1(n: usize) -> String {
    speaker_label(n.saturating_sub(1))
}

/// Which speaker talks most during `a..b` (seconds), by overlap with the turns.
fn dominant(turns: &[Turn], a: f64, b: f64) -> Option<usize> {
    let mut by: Vec<(usize, f64)> = Vec::new();
    for t in turns {
        let o = t.end.min(b) - t.start.max(a);
        if o > 0.0 {
            match by.iter_mut().find(|(s, _)| *s == t.speaker) {
                Some((_, d)) => *d += o,
                None => by.push((t.speaker, o)),
            }
        }
    }
    by.into_iter()
        .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)))
        .map(|(s, _)| s)
        .or_else(|| {
            // No overlap (a short segment in a gap): the nearest turn.
            let mid = (a + b) / 2.0;
            turns
                .iter()
                .min_by(|x, y| {
                    let dx = (x.start - mid).abs().min((x.end - mid).abs());
                    let dy = (y.start - mid).abs().min((y.end - mid).abs());
                    dx.total_cmp(&dy)
                })
                .map(|t| t.speaker)
        })
}

/// Gives every segment the speaker of its diarization turn. A segment whose sentences fall in
/// different speakers' turns is split at those sentence boundaries (Whisper segments often
/// run a question and its answer together: "What happened? The tracking page said…").
pub fn label_segments(segments: Vec<Segment>, turns: &[Turn]) -> Vec<Segment> {
    if turns.is_empty() {
        return segments;
    }
    let mut out: Vec<Segment> = Vec::new();
    for seg in segments {
        let (Some(s), Some(e)) = (seg.start, seg.end) else {
            out.push(seg);
            continue;
        };
        let ranges = crate::sentences::split(&seg.text);
        let total = seg.text.chars().count().max(1) as f64;
        let at = |byte: usize| s + (e - s) * seg.text[..byte].chars().count() as f64 / total;
        // Each sentence's speaker, then runs of the same speaker become segments.
        let mut pieces: Vec<(usize, usize, Option<usize>)> = ranges
            .iter()
            .map(|r| (r.start, r.end, dominant(turns, at(r.start), at(r.end))))
            .collect();
        if pieces.is_empty() {
            pieces.push((0, seg.text.len(), dominant(turns, s, e)));
        }
        let mut i = 0;
        while i < pieces.len() {
            let who = pieces[i].2;
            let mut j = i;
            while j + 1 < pieces.len() && pieces[j + 1].2 == who {
                j += 1;
            }
            let (a, b) = (pieces[i].0, pieces[j].1);
            let whole = i == 0 && j == pieces.len() - 1;
            out.push(Segment {
                start: Some(if i == 0 {
                    s
                } else {
                    (at(a) * 100.0).round() / 100.0
                }),
                end: Some(if j == pieces.len() - 1 {
                    e
                } else {
                    (at(b) * 100.0).round() / 100.0
                }),
                speaker: who.map(|k| Speaker::Label(speaker_label(k))),
                text: if whole {
                    seg.text.clone()
                } else {
                    seg.text[a..b].trim().to_string()
                },
                confidence: seg.confidence,
            });
            i = j + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(s: f64, e: f64, text: &str) -> Segment {
        Segment {
            start: Some(s),
            end: Some(e),
            speaker: None,
            text: text.into(),
            confidence: Some(0.9),
        }
    }

    #[test]
    fn a_segment_spanning_a_turn_change_is_split_at_the_sentence() {
        let turns = vec![
            Turn {
                start: 0.0,
                end: 1.8,
                speaker: 0,
            },
            Turn {
                start: 2.2,
                end: 8.0,
                speaker: 1,
            },
        ];
        let out = label_segments(
            vec![seg(
                0.0,
                8.0,
                "What happened? The tracking page said it was delivered, but nothing came.",
            )],
            &turns,
        );
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].text, "What happened?");
        assert_eq!(out[0].speaker, Some(Speaker::Label("Speaker 1".into())));
        assert_eq!(out[1].speaker, Some(Speaker::Label("Speaker 2".into())));
        assert!(out[1].text.starts_with("The tracking"));
        assert!(out[1].start.unwrap() > 1.0 && out[1].start.unwrap() < 2.0);
        assert_eq!(out[1].end, Some(8.0));
    }

    #[test]
    fn segments_within_one_turn_keep_their_text() {
        let turns = vec![Turn {
            start: 0.0,
            end: 10.0,
            speaker: 1,
        }];
        let out = label_segments(vec![seg(1.0, 3.0, "Yes. It was late.")], &turns);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "Yes. It was late.");
        assert_eq!(out[0].speaker, Some(Speaker::Label("Speaker 2".into())));
    }
}
