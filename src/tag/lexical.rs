//! Word features for the learned models: which of the study's words a sentence, the
//! interviewer's prompt before it and its turn use, as TF-IDF vectors.
//!
//! The e5 embeddings say what a sentence is about in general; the words say which screen, task
//! or control of *this* study it is about ("download", "filter", "map"), and researchers code by
//! those. Measured on serdif-dev (BENCHMARKS.md): with these columns beside the embeddings,
//! theme accuracy learned from coded quotes goes from 0.588 to 0.611 (leave one session out),
//! from 0.434 to 0.459 taught by two sessions and from 0.501 to 0.521 by three.
//!
//! The vocabulary is the study's own: the folded words ([`super::keyword::tokenize`], so case
//! and accents do not split a word) of its sentences and prompts that occur in at least
//! [`MIN_TEXTS`] of them (a word said once links nothing), at most [`MAX_WORDS`] of the most
//! common. A prompt counts once, not once per sentence of the answer; the same scripted task
//! read out in two sessions counts twice. A word weighs its inverse text frequency (smoothed,
//! as scikit-learn's `TfidfVectorizer`), once however often it occurs in the text; each vector
//! is normalised.

use super::keyword::tokenize;
use crate::types::Utterance;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A word must occur in this many texts of the study to be a feature.
pub const MIN_TEXTS: usize = 2;
/// At most this many words (the most common): a bound on the features' width, so on the memory
/// and time of a fit, for big studies (serdif-dev's nine sessions have about 1000).
pub const MAX_WORDS: usize = 2048;
/// Length of each word vector beside the unit-length e5 vectors. Measured on serdif-dev
/// (theme accuracy, leave one session out / taught by P1–P2 / by P1–P3, with a vocabulary that
/// counted each distinct text once): 0.35 — 0.605 / 0.446 / 0.517, 0.5 — 0.615 / 0.457 / 0.521,
/// 0.7 — 0.600 / 0.469 / 0.527.
pub const SCALE: f32 = 0.5;

/// The study's words and their weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vocabulary {
    index: HashMap<String, usize>,
    idf: Vec<f32>,
}

impl Vocabulary {
    /// The vocabulary of a study's sentences (in transcript order) and the prompts they answer.
    pub fn of_study(study: &[Utterance]) -> Vocabulary {
        let mut texts: Vec<&str> = Vec::with_capacity(study.len() * 2);
        let mut last_prompt: Option<(&str, &str)> = None;
        for u in study {
            texts.push(&u.text);
            if let Some(q) = u.question.as_deref() {
                // The sentences of one answer share its prompt.
                if last_prompt != Some((&u.source, q)) {
                    texts.push(q);
                    last_prompt = Some((&u.source, q));
                }
            }
        }
        Vocabulary::new(texts)
    }

    /// The vocabulary of `texts`.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vocabulary {
        let mut frequency: BTreeMap<String, usize> = BTreeMap::new();
        let mut n = 0usize;
        for text in texts {
            n += 1;
            let words: HashSet<String> = tokenize(text).into_iter().map(|t| t.word).collect();
            for w in words {
                *frequency.entry(w).or_default() += 1;
            }
        }
        let mut common: Vec<(String, usize)> = frequency
            .into_iter()
            .filter(|&(_, f)| f >= MIN_TEXTS)
            .collect();
        // Most common first, ties in word order (the map's): the same study, the same columns.
        common.sort_by_key(|w| std::cmp::Reverse(w.1));
        common.truncate(MAX_WORDS);
        let idf = common
            .iter()
            .map(|&(_, f)| ((1 + n) as f32 / (1 + f) as f32).ln() + 1.0)
            .collect();
        let index = common
            .into_iter()
            .enumerate()
            .map(|(i, (w, _))| (w, i))
            .collect();
        Vocabulary { index, idf }
    }

    /// Number of words.
    fn len(&self) -> usize {
        self.idf.len()
    }

    /// The TF-IDF vector of `text`, of length [`SCALE`] (zeros when it has none of the words).
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.len()];
        for t in tokenize(text) {
            if let Some(&i) = self.index.get(&t.word) {
                v[i] = self.idf[i];
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|a| *a *= SCALE / norm);
        }
        v
    }

    /// Appends the vectors of a sentence, of the prompt before it (zeros when there was none)
    /// and of its turn (the sentence again when it has none).
    pub fn extend(&self, x: &mut Vec<f32>, text: &str, question: Option<&str>, turn: Option<&str>) {
        x.extend(self.vector(text));
        match question {
            Some(q) => x.extend(self.vector(q)),
            None => x.resize(x.len() + self.len(), 0.0),
        }
        x.extend(self.vector(turn.unwrap_or(text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_two_texts_weighed_by_rarity() {
        let v = Vocabulary::new([
            "I could not download the file.",
            "The download button is hidden.",
            "The map is nice.",
            "Ąžuolas ąžuolas",
            "AZUOLAS",
        ]);
        // "the" (3 texts), "download", "is" and the folded "azuolas" (2 each); "map" and
        // "nice" are in one.
        assert_eq!(v.len(), 4);
        assert!(!v.index.contains_key("nice"));
        let x = v.vector("Where is the DOWNLOAD?");
        let norm = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - SCALE).abs() < 1e-5, "{norm}");
        let (the, download) = (x[v.index["the"]], x[v.index["download"]]);
        assert!(download > the && the > 0.0, "{download} {the}");
        assert!(v.vector("nothing known here").iter().all(|&a| a == 0.0));
        assert!(v.vector("azuolas")[v.index["azuolas"]] > 0.0);
        let mut row = Vec::new();
        v.extend(&mut row, "the download", None, None);
        assert_eq!(row.len(), 3 * v.len());
        assert!(row[v.len()..2 * v.len()].iter().all(|&a| a == 0.0));
        assert_eq!(row[..v.len()], row[2 * v.len()..]);
    }

    /// A prompt counts once per answer, not once per sentence of it; read again in another
    /// session, it counts again.
    #[test]
    fn a_prompt_counts_once_per_answer() {
        let u = |source: &str, text: &str, q: &str| Utterance {
            question: Some(q.into()),
            ..Utterance::said(source, source, text)
        };
        let one = [
            u("p1", "Yes.", "Open the filter."),
            u("p1", "Right.", "Open the filter."),
        ];
        assert!(!Vocabulary::of_study(&one).index.contains_key("filter"));
        let two = [one[0].clone(), u("p2", "Right.", "Open the filter.")];
        assert!(Vocabulary::of_study(&two).index.contains_key("filter"));
    }
}
