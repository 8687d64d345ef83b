//! Self-training: the study teaches the codebook prototypes its own context.
//!
//! Prototype matching (`embed`) sees a sentence, its prompt mixed in, and how near the prompt is
//! to each theme's description. It cannot learn
//! that in *this* study the answers to "Are the query input options clear to you?" are about
//! the query process. Self-training can:
//! - the sentences the prototypes match most clearly, the top [`KEEP`] of the assigned ones by
//!   their lead over the runner-up theme, become training rows labelled with that theme;
//! - the ridge model of [`super::learn`] is fitted to them on the same context features
//!   ([sentence ‖ question ‖ turn]), so what the clear answers to a question were about spreads
//!   to the vaguer answers to the same question;
//! - its theme replaces the prototypes' theme for every sentence the prototypes assigned.
//!   Whether a sentence gets a theme at all stays the prototype classifier's decision.
//!
//! With fewer than [`MIN_ROWS`] training rows or fewer than two themes among them, nothing is
//! refined. On serdif-dev (codebook alone) it lifts theme accuracy from 0.31 to 0.37, and with the
//! interviewer's prompt in the prototype scores from 0.37 to 0.45; run on two to five sessions
//! at a time it helped in five groups of seven and cost at most 0.01 in the other two
//! (BENCHMARKS.md).

use super::learn::fit_ridge;

/// Share of the assigned sentences that teach the model (the clearest ones).
pub const KEEP: f32 = 0.2;
/// Fewest training rows worth a model.
pub const MIN_ROWS: usize = 20;
/// Ridge penalty (as for learned examples; the features are unit vectors).
const LAMBDA: f64 = 1.0;

/// The prototype classifier's pick for one sentence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    pub theme: usize,
    /// Its lead over the runner-up theme's score.
    pub lead: f32,
}

/// Per sentence: the refined theme and its score (the model's output, clamped to 0–1), where
/// the sentence had a pick.
pub type Refined = Vec<Option<(usize, f32)>>;

/// Refines `picks` (per sentence, with its [`super::learn::utterance_features`]); `None` when
/// there is too little to learn from.
pub fn self_train(
    features: &[Vec<f32>],
    picks: &[Option<Pick>],
    themes: usize,
) -> Result<Option<Refined>, String> {
    let mut leads: Vec<f32> = picks.iter().flatten().map(|p| p.lead).collect();
    leads.sort_by(|a, b| b.total_cmp(a));
    let keep = ((leads.len() as f32 * KEEP).ceil() as usize).min(leads.len());
    if keep < MIN_ROWS {
        return Ok(None);
    }
    let cut = leads[keep - 1];
    let rows: Vec<(usize, usize)> = picks
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.filter(|p| p.lead >= cut).map(|p| (i, p.theme)))
        .collect();
    let first = rows[0].1;
    if rows.iter().all(|&(_, t)| t == first) {
        return Ok(None);
    }
    let xs: Vec<&[f32]> = rows.iter().map(|&(i, _)| features[i].as_slice()).collect();
    let targets: Vec<Vec<f32>> = rows
        .iter()
        .map(|&(_, t)| {
            let mut y = vec![0.0; themes];
            y[t] = 1.0;
            y
        })
        .collect();
    let model = fit_ridge(&xs, &targets, LAMBDA)?;
    Ok(Some(
        picks
            .iter()
            .zip(features)
            .map(|(p, x)| {
                p.map(|_| {
                    let out = model.predict(x);
                    let (t, &s) = out
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
                        .expect("a codebook has themes");
                    (t, s.clamp(0.0, 1.0))
                })
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sentences in two dimensions: the sentence axis says little, the question axis says which
    /// theme. The clear picks teach that the question decides, and the vague sentence answering
    /// the first question moves to its theme.
    #[test]
    fn clear_picks_teach_the_vague_ones_their_question() {
        let mut features = Vec::new();
        let mut picks = Vec::new();
        for k in 0..200 {
            let theme = k % 2;
            // [sentence, question one-hot ×2]
            features.push(vec![
                0.1 * (k % 3) as f32,
                (theme == 0) as u8 as f32,
                theme as f32,
            ]);
            picks.push(Some(Pick { theme, lead: 0.5 }));
        }
        // A vague sentence under question 0, which the prototypes gave theme 1 by a hair.
        features.push(vec![0.1, 1.0, 0.0]);
        picks.push(Some(Pick {
            theme: 1,
            lead: 0.001,
        }));
        // Unassigned stays unassigned.
        features.push(vec![0.0, 1.0, 0.0]);
        picks.push(None);
        let out = self_train(&features, &picks, 3).unwrap().unwrap();
        assert_eq!(out[200].map(|(t, _)| t), Some(0));
        assert_eq!(out[201], None);
        assert_eq!(out[0].map(|(t, _)| t), Some(0));
        assert_eq!(out[1].map(|(t, _)| t), Some(1));
    }

    #[test]
    fn too_little_to_learn_from_refines_nothing() {
        let features = vec![vec![1.0, 0.0]; 50];
        let picks: Vec<Option<Pick>> = (0..50)
            .map(|k| {
                Some(Pick {
                    theme: k % 2,
                    lead: 0.1,
                })
            })
            .collect();
        // 20 % of 50 = 10 rows < MIN_ROWS.
        assert_eq!(self_train(&features, &picks, 2).unwrap(), None);
        // Enough rows, but all of one theme.
        let picks: Vec<Option<Pick>> = (0..200)
            .map(|_| {
                Some(Pick {
                    theme: 1,
                    lead: 0.1,
                })
            })
            .collect();
        let features = vec![vec![1.0, 0.0]; 200];
        assert_eq!(self_train(&features, &picks, 2).unwrap(), None);
    }
}
