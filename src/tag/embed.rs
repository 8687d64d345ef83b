//! The embedding classifier: themes by meaning, in any language e5 knows.
//!
//! Each theme gets prototypes: its name with its description, its name with each sentence of a
//! description of several (a description often lists the theme's facets: "Add time series
//! plots. Add an aggregation method."), and each example sentence. A sentence's score for a
//! theme is its best cosine similarity to the theme's prototypes, plus what the interviewer's
//! prompt says (see [`PROMPT_WEIGHT`]). e5
//! similarities are high between any two sentences (≈ 0.8 for unrelated ones), so a sentence is
//! assigned by *relative* evidence, never by one absolute threshold:
//! - the best theme must beat a set of "no theme" prototypes (filler, thinking aloud, task
//!   reading) by `null_margin`, and
//! - it must stand out from the other themes: ahead of the runner-up by `margin`, or at least
//!   `z_min` standard deviations above the mean over all themes.
//!
//! Sentences are embedded with the words around them — the interviewer's question and the
//! previous sentence — because a short answer ("Yes, it took ages.") means little alone.
//!
//! Without coded examples, each prototype's similarity is first corrected for hubness against
//! the study's own sentences ([`Classifier::for_study`]): a prototype that is near every
//! sentence of a language (a generic Russian example) no longer wins by default.

use super::e5::{cosine, Embedder};
use crate::codebook::Codebook;
use crate::types::ThemeKind;

/// Prototypes of "no theme": what participants say while thinking aloud.
const NULL_PROTOTYPES: &[&str] = &[
    "Okay.",
    "Yes, yeah.",
    "Let me see.",
    "Hmm, let me think about it.",
    "Let me read the task again.",
    "I am going to click here now.",
    "Right, okay, so.",
    "Sorry, can you repeat the question?",
    "Gerai, taip.",
    "Dobrze, tak.",
    "Хорошо, да.",
];

/// Weight of the interviewer's prompt in a sentence's theme scores: each theme gains
/// `PROMPT_WEIGHT · (cos(prompt, theme) − mean over themes of the same)`, with the theme as its
/// name and description. The prompt names the topic ("Open the billing page. Is it clear?")
/// that a short answer ("Not really, no.") leaves out; centred, it only moves themes against
/// each other. Measured on serdif-dev with the description sentences (BENCHMARKS.md): theme
/// accuracy 0.37 → 0.45 with self-training, better in every group of two to five sessions; 0.5
/// helps the prototypes alone more but self-training less.
pub const PROMPT_WEIGHT: f32 = 0.25;

/// How many of the study's nearest sentences measure a prototype's hubness
/// ([`Classifier::for_study`]; CSLS's usual 10).
pub const HUB_NEIGHBOURS: usize = 10;
/// How much of that hubness a prototype's similarity loses (CSLS: half; 0.25 and 0.75 were
/// measured too, BENCHMARKS.md).
pub const HUB_WEIGHT: f32 = 0.5;
/// The fewest sentences a study needs for the correction: in fewer, a prototype's nearest ten
/// are a fifth of the study, and nearness to them is the study's topic, not hubness (the
/// 35-sentence bundled example lost right themes so).
pub const HUB_MIN_STUDY: usize = 50;

/// Decision thresholds (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub null_margin: f32,
    pub margin: f32,
    pub z_min: f32,
    /// Weight of the context (question, previous sentence) in a sentence's vector.
    pub context: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            null_margin: 0.0,
            margin: 0.01,
            z_min: 1.5,
            // Measured on serdif-dev (0, 0.35, 0.7, 1.0): 0.7 is best with learned examples.
            context: 0.7,
        }
    }
}

/// Theme prototypes, embedded once.
#[derive(Clone)]
pub struct Classifier {
    /// Per theme: its prototype vectors.
    prototypes: Vec<Vec<Vec<f32>>>,
    /// Per theme: its name with its description (the first prototype), for the prompt.
    heads: Vec<Vec<f32>>,
    null: Vec<Vec<f32>>,
    /// The mean of the problem themes' prototypes minus the mean of the other themes' (`None`
    /// when the codebook lacks one of the two kinds); see [`Classifier::pain_lean`].
    pain_direction: Option<Vec<f32>>,
    pub thresholds: Thresholds,
    /// Per theme, per prototype (and per "no theme" prototype): how near it is to the study's
    /// sentences (hubness), set by [`Classifier::for_study`].
    radii: Option<(Vec<Vec<f32>>, Vec<f32>)>,
}

/// The classifier's verdict on one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Score per theme (codebook order).
    pub themes: Vec<f32>,
    /// Best "no theme" similarity.
    pub null: f32,
    /// The assigned theme, if the evidence is clear.
    pub best: Option<usize>,
    /// The theme that wins under stricter thresholds (twice the margin, z + 0.5): what a
    /// sentence needs when the theme has keywords and none of them fired.
    pub clear: Option<usize>,
}

impl Classifier {
    pub fn new(codebook: &Codebook, embedder: &Embedder) -> Result<Classifier, String> {
        let mut texts: Vec<String> = Vec::new();
        let mut owner: Vec<usize> = Vec::new();
        for (i, t) in codebook.themes.iter().enumerate() {
            let head = if t.description.is_empty() {
                t.name.clone()
            } else {
                format!("{}: {}", t.name, t.description)
            };
            texts.push(head);
            owner.push(i);
            let facets = crate::sentences::split(&t.description);
            if facets.len() > 1 {
                for r in facets {
                    texts.push(format!("{}: {}", t.name, &t.description[r]));
                    owner.push(i);
                }
            }
            for e in &t.examples {
                texts.push(e.clone());
                owner.push(i);
            }
        }
        let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let vecs = super::cached_embed(embedder, &refs)?;
        let mut prototypes = vec![Vec::new(); codebook.themes.len()];
        for (v, o) in vecs.into_iter().zip(owner) {
            prototypes[o].push(v);
        }
        let heads = prototypes.iter().map(|ps| ps[0].clone()).collect();
        let null = super::cached_embed(embedder, NULL_PROTOTYPES)?;
        let pain: Vec<bool> = codebook
            .themes
            .iter()
            .map(|t| t.kind == ThemeKind::Pain)
            .collect();
        let pain_direction = match (
            mean_of(&prototypes, &pain, true),
            mean_of(&prototypes, &pain, false),
        ) {
            (Some(p), Some(o)) => Some(p.iter().zip(&o).map(|(p, o)| p - o).collect()),
            _ => None,
        };
        Ok(Classifier {
            prototypes,
            heads,
            null,
            pain_direction,
            thresholds: Thresholds::default(),
            radii: None,
        })
    }

    /// The classifier for one study: each prototype's similarity is lowered by
    /// [`HUB_WEIGHT`] × its mean similarity to its [`HUB_NEIGHBOURS`] nearest sentences of the
    /// study (CSLS, Conneau et al. 2018, the standard correction for hubs in cross-lingual
    /// retrieval). Some prototypes sit near every sentence of a language: with the default
    /// codebook, 19 of 80 Russian complaints went to "Staff attitude" through one Russian
    /// example (English: 5). Measured (BENCHMARKS.md): Russian "staff"
    /// 19 → 8; serdif-dev theme accuracy, codebook alone, 0.446 → 0.450, better in 8 of 10
    /// groups of two or three sessions (mean +0.019). With learned examples the learned model
    /// decides and the prototypes are left as they are (the learned fallback was worse so).
    pub fn for_study(&self, study: &[Vec<f32>]) -> Classifier {
        let mut out = self.clone();
        if study.len() < HUB_MIN_STUDY {
            return out;
        }
        let radius = |p: &[f32]| -> f32 {
            let mut c: Vec<f32> = study.iter().map(|q| cosine(p, q)).collect();
            let k = HUB_NEIGHBOURS.min(c.len());
            c.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
            HUB_WEIGHT * c[..k].iter().sum::<f32>() / k as f32
        };
        let themes: Vec<Vec<f32>> = (self.prototypes.iter())
            .map(|ps| ps.iter().map(|p| radius(p)).collect())
            .collect();
        let null = self.null.iter().map(|p| radius(p)).collect();
        out.radii = Some((themes, null));
        out
    }

    /// How much closer a (normalised) sentence vector is, on average, to the prototypes of the
    /// codebook's problem themes than to those of its other themes; above 0 it leans to the
    /// problems. `None` when the codebook has no themes of one of the two sides.
    ///
    /// A pain flag by itself, beside the theme decision: the sentence need not be closest to one
    /// problem theme, only nearer the problems as a whole ("the lag, not sure what it means" is
    /// near several). The mean over all of a side's prototypes is steadier than the best one:
    /// on serdif-dev pain F1 0.64 with the turn as context, against 0.55 for "the assigned theme
    /// is a problem theme" (BENCHMARKS.md).
    pub fn pain_lean(&self, v: &[f32]) -> Option<f32> {
        self.pain_direction
            .as_ref()
            .map(|d| d.iter().zip(v).map(|(a, b)| a * b).sum())
    }

    /// Scores one (contextualised, normalised) sentence vector, with the vector of the
    /// interviewer's prompt before it when there was one.
    pub fn score(&self, v: &[f32], prompt: Option<&[f32]>) -> Scores {
        let r = |t: usize, j: usize| -> f32 {
            self.radii.as_ref().map(|(th, _)| th[t][j]).unwrap_or(0.0)
        };
        let mut themes: Vec<f32> = self
            .prototypes
            .iter()
            .enumerate()
            .map(|(t, ps)| {
                ps.iter()
                    .enumerate()
                    .map(|(j, p)| cosine(v, p) - r(t, j))
                    .fold(f32::MIN, f32::max)
            })
            .collect();
        if let Some(q) = prompt {
            let about: Vec<f32> = self.heads.iter().map(|h| cosine(q, h)).collect();
            let mean = about.iter().sum::<f32>() / about.len().max(1) as f32;
            for (t, a) in themes.iter_mut().zip(&about) {
                *t += PROMPT_WEIGHT * (a - mean);
            }
        }
        let null = self
            .null
            .iter()
            .enumerate()
            .map(|(j, p)| cosine(v, p) - self.radii.as_ref().map(|(_, n)| n[j]).unwrap_or(0.0))
            .fold(f32::MIN, f32::max);
        let best = decide(&themes, null, &self.thresholds);
        let strict = Thresholds {
            margin: self.thresholds.margin * 2.0,
            z_min: self.thresholds.z_min + 0.5,
            ..self.thresholds
        };
        let clear = best.and(decide(&themes, null, &strict));
        Scores {
            themes,
            null,
            best,
            clear,
        }
    }
}

/// The mean of the prototypes of the themes whose `pain` flag equals `side`.
fn mean_of(prototypes: &[Vec<Vec<f32>>], pain: &[bool], side: bool) -> Option<Vec<f32>> {
    let vs: Vec<&Vec<f32>> = prototypes
        .iter()
        .zip(pain)
        .filter(|(_, &p)| p == side)
        .flat_map(|(ps, _)| ps)
        .collect();
    let first = vs.first()?;
    let mut m = vec![0f32; first.len()];
    for v in &vs {
        for (a, b) in m.iter_mut().zip(v.iter()) {
            *a += b / vs.len() as f32;
        }
    }
    Some(m)
}

/// The relative decision rule.
pub fn decide(scores: &[f32], null: f32, th: &Thresholds) -> Option<usize> {
    if scores.is_empty() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let top = order[0];
    let s1 = scores[top];
    let s2 = order.get(1).map(|&i| scores[i]).unwrap_or(f32::MIN);
    let n = scores.len() as f32;
    let mean = scores.iter().sum::<f32>() / n;
    let sd = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / n).sqrt();
    let z = if sd > 0.0 { (s1 - mean) / sd } else { 0.0 };
    if s1 < null + th.null_margin {
        return None;
    }
    if s1 - s2 >= th.margin || z >= th.z_min {
        Some(top)
    } else {
        None
    }
}

/// A sentence vector with its context folded in: normalise(v + w·(question + previous)/2).
pub fn with_context(v: &[f32], context: &[&[f32]], w: f32) -> Vec<f32> {
    let mut out = v.to_vec();
    if !context.is_empty() && w > 0.0 {
        let k = w / context.len() as f32;
        for c in context {
            for (o, x) in out.iter_mut().zip(c.iter()) {
                *o += k * x;
            }
        }
    }
    let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    out.iter_mut().for_each(|x| *x /= norm);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_is_relative_not_absolute() {
        let th = Thresholds::default();
        // A clear winner, well above the null prototypes.
        assert_eq!(decide(&[0.80, 0.86, 0.79, 0.80], 0.82, &th), Some(1));
        // All themes alike: nothing stands out.
        assert_eq!(decide(&[0.850, 0.852, 0.851, 0.849], 0.80, &th), None);
        // Best theme no better than filler.
        assert_eq!(decide(&[0.80, 0.86, 0.79], 0.90, &th), None);
    }

    /// A prototype near every sentence of the study (a hub) loses its pull: the sentence goes to
    /// the theme it is specifically near.
    #[test]
    fn hubs_are_corrected_against_the_study() {
        let unit = |v: [f32; 3]| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let c = Classifier {
            prototypes: vec![vec![unit([1.0, 0.3, 0.0])], vec![unit([0.6, 0.0, 0.8])]],
            heads: vec![unit([1.0, 0.3, 0.0]), unit([0.6, 0.0, 0.8])],
            null: vec![unit([0.0, 1.0, 0.0])],
            pain_direction: None,
            thresholds: Thresholds::default(),
            radii: None,
        };
        let study = vec![unit([1.0, 0.0, 0.0]); HUB_MIN_STUDY];
        let x = unit([0.95, 0.2, 0.3]);
        assert_eq!(c.score(&x, None).best, Some(0), "the hub wins uncorrected");
        assert_eq!(c.for_study(&study).score(&x, None).best, Some(1));
        // Too small a study, no correction.
        assert_eq!(c.for_study(&study[1..]).score(&x, None).best, Some(0));
    }

    #[test]
    fn context_is_mixed_in_and_normalised() {
        let v = with_context(&[1.0, 0.0], &[&[0.0, 1.0]], 1.0);
        assert!((v[0] - v[1]).abs() < 1e-6);
        assert!((v[0] * v[0] + v[1] * v[1] - 1.0).abs() < 1e-5);
        assert_eq!(with_context(&[3.0, 4.0], &[], 1.0), vec![0.6, 0.8]);
    }
}
