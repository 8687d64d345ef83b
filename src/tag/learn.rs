//! Learning from the researcher's own coding (`--examples FILE`).
//!
//! Researchers code two or three interviews by hand; sowhat codes the rest the way they would.
//! Coded quotes come as JSONL (`{"quote": …, "tag": …}` like `serdif-dev/gold.jsonl`), a CSV
//! quote table, or the codings inside a REFI-QDA `.qdpx` (NVivo, ATLAS.ti, MAXQDA, QualCoder).
//! Codes are matched to codebook themes by id or by name (case and accents ignored).
//!
//! The models are linear over *context features*: a sentence is described by the e5
//! embeddings of itself, of the interviewer's prompt before it (zeros when there was none)
//! and of the participant's whole turn it comes from, side by side ([`WIDTH`] numbers), then the
//! codebook prototypes' score of each theme ([`with_prior`]), then which of the study's words
//! the three use ([`Vocabulary`], TF-IDF; [`model_features`]). In moderated sessions the task
//! under discussion says as much about the code as the sentence's own words ("Yes, that was
//! easy." means little alone); the codebook's descriptions and examples say what each code
//! means where the coded quotes are few.
//! - **Themes**: multinomial logistic regression ([`Softmax`]) over the codebook's themes,
//!   fitted to the coded sentences (a sentence in quotes of two themes is half of each); a
//!   sentence gets its most probable theme when that probability reaches a floor, and no
//!   learned theme otherwise (the tagger then takes the codebook prototypes' theme only when it
//!   wins clearly, so sentences unlike anything coded or described stay free for discovery).
//! - **Pain**: one ridge output fitted to ±1 (pain quote or not), flagged with the pain cues
//!   ("model or cue"). Its features have one more column than the theme model's: the codebook's
//!   own pain lean of the sentence with the talk around it ([`row_leans`]; what flags pain
//!   without examples), in standard deviations. Two or three coded sessions are too few for
//!   the ridge to find that direction among a thousand columns; given it, they correct it.
//!   Measured on serdif-dev (pain F1): taught by P1–P2 0.613 → 0.634, by P1–P3 0.647 → 0.663,
//!   by five other pairs +0.009 to +0.042, P1–P3 teaching P4–P9 from beside the examples file
//!   0.663 → 0.686; leave one session out 0.683 → 0.679; theme figures unchanged, because the
//!   theme model does not see the column (with it, theme accuracy fell by 0.007–0.015).
//! - **Whole transcripts**: the sentences of a coded session that the researcher left uncoded
//!   are training rows too (no theme, not pain; weight [`UNCODED_WEIGHT`]). The pain threshold
//!   is chosen so the held-out flags (leave one session out over the coded sessions; five folds
//!   when a single session is coded) mark as many of the coded sentences as the researcher
//!   coded pain: tuned for F1 on coded quotes alone it flagged 58 % of all sentences of
//!   serdif-dev; matched to the researcher's rate over all sentences, 29 % (their own), but
//!   fewer of the sentences worth a code than they did (precision 0.71, recall 0.60, leave one
//!   session out); matched over the coded sentences, 35 % (0.67 / 0.69). The floor is the
//!   highest one within 0.005 of the best held-out F1 of "the right theme" over those sentences
//!   (a theme on an uncoded sentence is a false positive).
//!   When no coded session is among the transcripts, the threshold maximises F1 on held-out
//!   coded quotes instead.
//!
//! Coded quotes are found in the transcripts being analysed (the word-overlap matching of
//! `sowhat eval`, [`QuoteFinder`]) to get their question and turn; a quote found nowhere is used
//! alone (no question, its own text as the turn). Ridge is solved in closed form in the dual
//! (Cholesky of the Gram matrix of the training sentences), so the folds of the inner searches
//! share one Gram matrix; the theme models of the folds start from the model of all rows, and
//! the folds run in parallel. On serdif-dev (leave one session out) theme accuracy went from
//! 0.44 (a k-nearest-neighbour vote) to 0.53 (ridge on one-hot themes) to 0.55 (softmax, macro-F1
//! 0.42 → 0.48) to 0.57 with the prototype scores among the features (macro-F1 0.54, 0.76 of
//! all sentences themed against the researcher's 0.78), with pain F1 0.65 at the researcher's
//! own pain rate, to 0.59 with the codebook's theme where the model abstains ([`super::Tagger`])
//! and 0.61 with the word columns (macro-F1 0.57; BENCHMARKS.md); pain F1 0.68 with the rate
//! matched over the coded sentences.

use super::e5::{Embedder, DIM};
use super::embed::Classifier;
use super::keyword::{fold, tokenize};
use super::lexical::Vocabulary;
use super::pain::Lexicon;
use super::softmax::Softmax;
use crate::codebook::Codebook;
use crate::types::{ThemeKind, Utterance};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Width of a sentence's embedding features: [sentence ‖ question ‖ turn] ([`with_prior`] adds
/// one number per theme).
pub const WIDTH: usize = 3 * DIM;
/// Ridge penalty (measured on serdif-dev; the embeddings are unit vectors).
const LAMBDA: f64 = 1.0;
/// Weight of a sentence of a coded session that the researcher left uncoded (a training row
/// with no theme and no pain; coded sentences weigh 1). Measured on serdif-dev: 0.1–1 within
/// 0.01 of each other.
const UNCODED_WEIGHT: f64 = 0.3;
/// The floor on theme probabilities is the highest one whose held-out F1 is within this of the
/// best: where F1 is flat (a theme more or less on the sentences the researcher left uncoded),
/// abstaining costs nothing and leaves those sentences to theme discovery.
const FLOOR_TOLERANCE: f64 = 0.005;
/// Scale of the codebook's own theme scores among the features ([`with_prior`]). The e5
/// columns are unit vectors of 384 numbers; the twenty or so score columns need a larger scale
/// to weigh against them under the same L2 penalty. Measured on serdif-dev (theme accuracy,
/// leave one session out / taught by P1–P2 / by P1–P3): none 0.590 / 0.454 / 0.507, scale 3
/// 0.596 / 0.464 / 0.517, scale 10 0.605 / 0.470 / 0.535.
pub const PRIOR_SCALE: f32 = 10.0;
/// Scale of the codebook's pain lean among the features (in standard deviations over the
/// training rows; [`model_features`]).
pub const LEAN_SCALE: f32 = 1.0;
/// Folds of the inner searches when the examples come from a single session.
const FOLDS: usize = 5;
/// Pain thresholds tried, on the ±1 scale of the pain output: −0.5 to 1 in steps of 0.05.
fn pain_thresholds() -> impl Iterator<Item = f32> {
    (0..=30).map(|k| (k as f32 - 10.0) / 20.0)
}

/// One coded quote.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    /// The code as the researcher named it.
    pub code: String,
    pub participant: Option<String>,
}

/// A coded quote with its codes as codebook themes (a quote coded twice is one `Coded`).
#[derive(Debug, Clone, PartialEq)]
pub struct Coded {
    pub text: String,
    pub participant: Option<String>,
    pub themes: BTreeSet<usize>,
    /// One of its themes is a pain theme.
    pub pain: bool,
}

/// Matches example codes to codebook themes and merges the codes of one quote. Codes that match
/// no theme are skipped; an error when none matches.
pub fn resolve(codebook: &Codebook, examples: &[Example]) -> Result<Vec<Coded>, String> {
    let mut unknown: Vec<&str> = Vec::new();
    let mut codes = Vec::new();
    for ex in examples {
        match theme_of(codebook, &ex.code) {
            Some(t) => codes.push(Code {
                participant: ex.participant.as_deref(),
                text: &ex.text,
                theme: t,
                pain: codebook.themes[t].kind == ThemeKind::Pain,
            }),
            None if !unknown.contains(&ex.code.as_str()) => unknown.push(&ex.code),
            None => {}
        }
    }
    let out = merge(codes);
    if out.is_empty() {
        return Err(format!(
            "none of the example codes match a codebook theme (codes: {}); pass the codebook they were coded with (--codebook FILE)",
            unknown.join(", ")
        ));
    }
    Ok(out)
}

/// One code given to one quote.
pub struct Code<'a> {
    pub participant: Option<&'a str>,
    pub text: &'a str,
    pub theme: usize,
    pub pain: bool,
}

/// Merges the codes of each quote (same participant, same text) into one [`Coded`], in order of
/// first appearance: its themes, and pain when any code is pain.
pub fn merge<'a>(codes: impl IntoIterator<Item = Code<'a>>) -> Vec<Coded> {
    let mut out: Vec<Coded> = Vec::new();
    let mut at: HashMap<(Option<&'a str>, &'a str), usize> = HashMap::new();
    for c in codes {
        match at.get(&(c.participant, c.text)) {
            Some(&k) => {
                out[k].themes.insert(c.theme);
                out[k].pain |= c.pain;
            }
            None => {
                at.insert((c.participant, c.text), out.len());
                out.push(Coded {
                    text: c.text.to_string(),
                    participant: c.participant.map(String::from),
                    themes: BTreeSet::from([c.theme]),
                    pain: c.pain,
                });
            }
        }
    }
    out
}

/// Finds quotes among participant sentences: each sentence of a quote is matched to the
/// participant's sentence with the largest word overlap (Jaccard ≥ 0.5; the first on ties),
/// within one interview: the one where the quote's sentences match best ("Okay." is in every
/// interview; two studies may both have a "P1").
pub struct QuoteFinder<'a> {
    /// Word → number, over the sentences searched.
    vocabulary: HashMap<String, u32>,
    /// Per sentence: its distinct words, as sorted numbers.
    words: Vec<Vec<u32>>,
    /// Per sentence: its interview (`Utterance::source`), as a number.
    source: Vec<u32>,
    by_participant: HashMap<&'a str, Vec<usize>>,
}

impl<'a> QuoteFinder<'a> {
    pub fn new(us: &'a [Utterance]) -> QuoteFinder<'a> {
        let mut vocabulary: HashMap<String, u32> = HashMap::new();
        let mut sources: HashMap<&str, u32> = HashMap::new();
        let mut by_participant: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut words = Vec::with_capacity(us.len());
        let mut source = Vec::with_capacity(us.len());
        for (i, u) in us.iter().enumerate() {
            by_participant
                .entry(u.participant.as_str())
                .or_default()
                .push(i);
            let next = sources.len() as u32;
            source.push(*sources.entry(u.source.as_str()).or_insert(next));
            let mut ids: Vec<u32> = word_set(&u.text)
                .into_iter()
                .map(|w| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(w).or_insert(next)
                })
                .collect();
            ids.sort_unstable();
            words.push(ids);
        }
        QuoteFinder {
            vocabulary,
            words,
            source,
            by_participant,
        }
    }

    /// The utterances (indices, in quote order) the quote is made of; a quote without a
    /// participant is looked for in everyone's sentences.
    pub fn find(&self, participant: Option<&str>, quote: &str) -> Vec<usize> {
        self.find_by_interview(participant, quote)
            .into_iter()
            .next()
            .map(|f| f.hits)
            .unwrap_or_default()
    }

    /// The quote found in each interview where some of its sentences match, best first (on
    /// ties, in the order the interviews were given).
    pub fn find_by_interview(&self, participant: Option<&str>, quote: &str) -> Vec<Found> {
        let everyone: Vec<usize>;
        let cands: &[usize] = match participant {
            Some(p) => self.by_participant.get(p).map_or(&[], |v| v.as_slice()),
            None => {
                everyone = (0..self.words.len()).collect();
                &everyone
            }
        };
        // The quote's sentences as word numbers, with how many words each has.
        let sentences: Vec<(Vec<u32>, usize)> = crate::sentences::split(quote)
            .into_iter()
            .filter_map(|r| {
                let qs = word_set(&quote[r]);
                if qs.is_empty() {
                    return None;
                }
                // Words no sentence has count in the union only.
                let mut known: Vec<u32> = qs
                    .iter()
                    .filter_map(|w| self.vocabulary.get(w).copied())
                    .collect();
                known.sort_unstable();
                Some((known, qs.len()))
            })
            .collect();
        let mut interviews: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for &i in cands {
            interviews.entry(self.source[i]).or_default().push(i);
        }
        let mut out: Vec<Found> = Vec::new();
        for (s, among) in interviews {
            // Each sentence's best match in this interview.
            let mut found = Found {
                interview: s,
                hits: Vec::new(),
                overlap: 0.0,
            };
            for (known, n) in &sentences {
                let best = among
                    .iter()
                    .map(|&i| {
                        let inter = common(known, &self.words[i]);
                        let union = n + self.words[i].len() - inter;
                        (i, inter as f64 / union.max(1) as f64)
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
                if let Some((i, j)) = best {
                    if j >= 0.5 && !found.hits.contains(&i) {
                        found.hits.push(i);
                        found.overlap += j;
                    }
                }
            }
            if !found.hits.is_empty() {
                out.push(found);
            }
        }
        out.sort_by(|a, b| b.overlap.total_cmp(&a.overlap));
        out
    }
}

/// A quote found in one interview ([`QuoteFinder::find_by_interview`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The interview, numbered in the order the sentences were given.
    pub interview: u32,
    /// The sentences the quote is made of, in quote order.
    pub hits: Vec<usize>,
    /// The summed word overlap (Jaccard) of those sentences with the quote's.
    pub overlap: f64,
}

impl QuoteFinder<'_> {
    /// [`QuoteFinder::find`] for each of a researcher's coded quotes, where a tie between
    /// interviews ("Okay." is said in every one) goes to the tied interview holding the most
    /// quotes that match best in one interview only: the researcher coded whole interviews.
    pub fn find_coded(&self, coded: &[Coded]) -> Vec<Vec<usize>> {
        let found: Vec<Vec<Found>> = coded
            .iter()
            .map(|q| self.find_by_interview(q.participant.as_deref(), &q.text))
            .collect();
        in_coded_interviews(&found)
    }
}

/// The interviews the researcher coded, given where each coded quote was found
/// ([`QuoteFinder::find_coded`]): a session is a transcript (another study's "P1" is another
/// session) holding a good part of the coded quotes, at least a tenth as many as the most coded
/// one, and two. One quote found in an interview nobody coded ("No, the table is fine" for "No,
/// in the table no.") or a few picked from one do not make the rest of it "not pain, no theme".
fn coded_interviews<'s>(hits_of: &[Vec<usize>], study: &'s [Utterance]) -> BTreeSet<&'s str> {
    let mut quotes_in: HashMap<&str, usize> = HashMap::new();
    for hits in hits_of {
        let mut sources: Vec<&str> = hits.iter().map(|&i| study[i].source.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        for s in sources {
            *quotes_in.entry(s).or_default() += 1;
        }
    }
    let most = quotes_in.values().copied().max().unwrap_or(0);
    let enough = most.div_ceil(10).max(2);
    quotes_in
        .into_iter()
        .filter(|&(_, n)| n >= enough)
        .map(|(s, _)| s)
        .collect()
}

fn in_coded_interviews(found: &[Vec<Found>]) -> Vec<Vec<usize>> {
    let mut votes: HashMap<u32, usize> = HashMap::new();
    for f in found {
        if let [first, rest @ ..] = f.as_slice() {
            if rest.first().is_none_or(|r| r.overlap < first.overlap) {
                *votes.entry(first.interview).or_default() += 1;
            }
        }
    }
    found
        .iter()
        .map(|f| {
            let Some(top) = f.first() else {
                return Vec::new();
            };
            f.iter()
                .take_while(|x| x.overlap == top.overlap)
                .enumerate()
                .max_by_key(|(k, x)| {
                    (
                        votes.get(&x.interview).copied().unwrap_or(0),
                        usize::MAX - k,
                    )
                })
                .map(|(_, x)| x.hits.clone())
                .unwrap_or_default()
        })
        .collect()
}

fn word_set(s: &str) -> BTreeSet<String> {
    tokenize(s).into_iter().map(|t| t.word).collect()
}

/// How many numbers two sorted lists share.
fn common(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Where a sentence was said: the question before it and the turn it comes from.
struct Context<'a> {
    text: &'a str,
    question: Option<&'a str>,
    turn: Option<&'a str>,
}

impl<'a> From<&'a Utterance> for Context<'a> {
    fn from(u: &'a Utterance) -> Self {
        Context {
            text: &u.text,
            question: u.question.as_deref(),
            turn: u.turn.as_deref(),
        }
    }
}

/// Features [sentence ‖ question ‖ turn] of each context: no question → zeros, no turn → the
/// sentence again. Every distinct text is embedded once, through the embedding cache.
fn features<'a>(e: &Embedder, cs: &[Context<'a>]) -> Result<Vec<Vec<f32>>, String> {
    let mut texts: Vec<&'a str> = Vec::new();
    let mut at: HashMap<&'a str, usize> = HashMap::new();
    let mut slot = |t: &'a str| -> usize {
        *at.entry(t).or_insert_with(|| {
            texts.push(t);
            texts.len() - 1
        })
    };
    let ids: Vec<(usize, Option<usize>, usize)> = cs
        .iter()
        .map(|c| {
            let s = slot(c.text);
            (s, c.question.map(&mut slot), c.turn.map_or(s, &mut slot))
        })
        .collect();
    let vecs = super::cached_embed(e, &texts)?;
    Ok(ids
        .into_iter()
        .map(|(s, q, t)| {
            let mut x = Vec::with_capacity(WIDTH);
            x.extend_from_slice(&vecs[s]);
            match q {
                Some(q) => x.extend_from_slice(&vecs[q]),
                None => x.resize(2 * DIM, 0.0),
            }
            x.extend_from_slice(&vecs[t]);
            x
        })
        .collect())
}

/// Features of the sentences to tag.
pub fn utterance_features(e: &Embedder, us: &[Utterance]) -> Result<Vec<Vec<f32>>, String> {
    let cs: Vec<Context> = us.iter().map(Context::from).collect();
    features(e, &cs)
}

/// The interviewer's prompt in [`utterance_features`]; None when there was none.
pub fn prompt_of(x: &[f32]) -> Option<&[f32]> {
    let q = &x[DIM..2 * DIM];
    q.iter().any(|&v| v != 0.0).then_some(q)
}

/// The sentence and its turn from [`utterance_features`], added and normalised: the sentence
/// in the words around it (the sentence alone when it has no turn).
pub fn sentence_with_turn(x: &[f32]) -> Vec<f32> {
    let mut v: Vec<f32> = x[..DIM]
        .iter()
        .zip(&x[2 * DIM..3 * DIM])
        .map(|(s, t)| s + t)
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|a| *a /= norm);
    v
}

/// The features of a sentence for the learned models: [`utterance_features`] followed by what
/// the codebook alone says of it, the prototype score of each theme (the sentence with its
/// turn, moved by the prompt; [`Classifier::score`]) minus their mean, times [`PRIOR_SCALE`].
/// The researcher's codes then correct the codebook instead of replacing it: its descriptions
/// and examples still count where the coded quotes are few. Without a classifier (keyword mode)
/// the features are returned unchanged. [`Learned::fit`] and [`Learned::classify`] apply it.
pub fn with_prior(x: &[f32], prior: Option<&Classifier>) -> Vec<f32> {
    let mut out = x.to_vec();
    if let Some(c) = prior {
        let s = c.score(&sentence_with_turn(x), prompt_of(x)).themes;
        let mean = s.iter().sum::<f32>() / s.len().max(1) as f32;
        out.extend(s.iter().map(|v| PRIOR_SCALE * (v - mean)));
    }
    out
}

/// The features the learned models see: [`with_prior`], then the word columns of the sentence,
/// its prompt and its turn ([`Vocabulary::extend`]), and last, for the pain model only, the
/// codebook's pain lean of the sentence with the talk around it in standard deviations (`lean`,
/// when the codebook has problem themes and others; see [`LEAN_SCALE`]).
fn model_features(
    x: &[f32],
    c: &Context,
    prior: Option<&Classifier>,
    lean: Option<f32>,
    vocabulary: &Vocabulary,
) -> Vec<f32> {
    let mut out = with_prior(x, prior);
    vocabulary.extend(&mut out, c.text, c.question, c.turn);
    out.extend(lean.map(|z| LEAN_SCALE * z));
    out
}

/// Each row's codebook pain lean as the tagger reads it ([`super::pain_leans`]): the rows that
/// are study sentences (`at[r]`: the row's index in `study`) in transcript order, with the talk
/// around them; a quote found nowhere alone. `None` when the classifier has no lean (a codebook
/// without problem themes or without others).
fn row_leans(
    c: &Classifier,
    xs: &[Vec<f32>],
    at: &[Option<usize>],
    study: &[Utterance],
) -> Option<Vec<f32>> {
    let (mut found, lone): (Vec<usize>, Vec<usize>) = (0..xs.len()).partition(|&r| at[r].is_some());
    found.sort_by_key(|&r| at[r]);
    let x: Vec<&[f32]> = found.iter().map(|&r| xs[r].as_slice()).collect();
    let us: Vec<&Utterance> = found
        .iter()
        .filter_map(|&r| at[r])
        .map(|i| &study[i])
        .collect();
    let mut out = vec![0f32; xs.len()];
    for (&r, v) in found.iter().zip(super::pain_leans(c, &x, &us)?) {
        out[r] = v;
    }
    for &r in &lone {
        out[r] = c.pain_lean(&sentence_with_turn(&xs[r]))?;
    }
    Some(out)
}

/// One training sentence.
#[derive(Debug, Clone)]
pub struct Row {
    pub x: Vec<f32>,
    /// Target per theme: the share of the sentence's codes that are this theme (all zeros for a
    /// sentence nobody coded).
    pub themes: Vec<f32>,
    pub pain: bool,
    /// Whether a pain cue fires on the sentence (the pain flag is "model or cue").
    pub cue: bool,
    /// The session (participant) it comes from: the unit held out in the inner search.
    pub group: String,
    /// Part of a coded quote (false: a sentence of a coded session the researcher left uncoded).
    pub coded: bool,
    /// Found in the transcripts (false: a coded quote used alone).
    pub found: bool,
}

/// The fitted model: its outputs for a sentence are the probability of each theme
/// (`0..themes`, [`Softmax`]) and then the pain score (ridge, ±1 scale).
pub struct Learned {
    theme_model: Softmax,
    pain_model: Linear,
    themes: usize,
    /// Pain when the pain score reaches it.
    pub pain_threshold: f32,
    /// A theme only when the top theme probability reaches it (`f32::MIN`: always a theme).
    pub floor: f32,
    /// The length of the features it was fitted on.
    width: usize,
    /// The study's words, for the word columns of the features ([`model_features`]).
    vocabulary: Vocabulary,
    /// The standard deviation of the codebook's pain lean over the training rows, which puts a
    /// sentence's lean among its features in standard deviations; `None`: no lean column.
    lean_sd: Option<f32>,
}

/// The model's verdict on one sentence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// None: nothing in the coded examples is like it (abstained).
    pub theme: Option<usize>,
    /// The theme's probability.
    pub score: f32,
    pub pain: bool,
}

impl Learned {
    /// Fits the model to coded quotes, looked up in `study` (the sentences being analysed) for
    /// their context.
    pub fn fit(
        coded: &[Coded],
        themes: usize,
        study: &[Utterance],
        e: &Embedder,
        lexicon: &Lexicon,
        prior: Option<&Classifier>,
    ) -> Result<Learned, String> {
        // Training sentences: each study sentence a coded quote is made of (once, with the codes
        // of every quote it is part of), then each quote found nowhere, alone.
        let hits_of = QuoteFinder::new(study).find_coded(coded);
        let mut row_of: HashMap<usize, usize> = HashMap::new();
        let mut contexts: Vec<Context> = Vec::new();
        // Per row: its index in `study` (None: a quote found nowhere).
        let mut at: Vec<Option<usize>> = Vec::new();
        // Codes, pain, group, coded, found.
        let mut codes: Vec<(Vec<usize>, bool, String, bool, bool)> = Vec::new();
        for (q, hits) in coded.iter().zip(&hits_of) {
            let own: Vec<usize> = if hits.is_empty() {
                contexts.push(Context {
                    text: &q.text,
                    question: None,
                    turn: None,
                });
                at.push(None);
                let group = q.participant.clone().unwrap_or_default();
                codes.push((Vec::new(), false, group, true, false));
                vec![codes.len() - 1]
            } else {
                hits.iter()
                    .map(|&i| {
                        *row_of.entry(i).or_insert_with(|| {
                            contexts.push(Context::from(&study[i]));
                            at.push(Some(i));
                            codes.push((
                                Vec::new(),
                                false,
                                study[i].participant.clone(),
                                true,
                                true,
                            ));
                            codes.len() - 1
                        })
                    })
                    .collect()
            };
            for r in own {
                codes[r].0.extend(q.themes.iter().copied());
                codes[r].1 |= q.pain;
            }
        }
        // The other sentences of the coded sessions: what the researcher left uncoded.
        let sessions = coded_interviews(&hits_of, study);
        for (i, u) in study.iter().enumerate() {
            if sessions.contains(u.source.as_str()) && !row_of.contains_key(&i) {
                contexts.push(Context::from(u));
                at.push(Some(i));
                codes.push((Vec::new(), false, u.participant.clone(), false, true));
            }
        }
        let vocabulary = Vocabulary::of_study(study);
        let xs = features(e, &contexts)?;
        let leans = prior.and_then(|c| row_leans(c, &xs, &at, study));
        let lean_sd = leans.as_ref().map(|l| {
            let n = l.len().max(1) as f32;
            let mean = l.iter().sum::<f32>() / n;
            let sd = (l.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
            if sd.is_finite() && sd > 0.0 {
                sd
            } else {
                1.0
            }
        });
        let rows: Vec<Row> = xs
            .iter()
            .zip(&contexts)
            .enumerate()
            .map(|(r, (x, c))| {
                let lean = leans.as_ref().zip(lean_sd).map(|(l, sd)| l[r] / sd);
                model_features(x, c, prior, lean, &vocabulary)
            })
            .zip(codes)
            .zip(&contexts)
            .map(|((x, (cs, pain, group, coded, found)), c)| {
                let mut target = vec![0f32; themes];
                for &t in &cs {
                    target[t] += 1.0 / cs.len() as f32;
                }
                Row {
                    x,
                    themes: target,
                    pain,
                    cue: lexicon.assess(c.text).severity >= 1,
                    group,
                    coded,
                    found,
                }
            })
            .collect();
        Learned::from_rows(&rows, themes, vocabulary, lean_sd)
    }

    /// Fits the model to training sentences with their features.
    /// `vocabulary` is the one the rows' word columns come from ([`model_features`]); with
    /// `lean_sd`, their last column is the pain lean in standard deviations of that size, which
    /// only the pain model sees.
    pub fn from_rows(
        rows: &[Row],
        themes: usize,
        vocabulary: Vocabulary,
        lean_sd: Option<f32>,
    ) -> Result<Learned, String> {
        if !rows.iter().any(|r| r.coded) {
            return Err("no coded sentences to learn from".into());
        }
        let weight: Vec<f64> = rows
            .iter()
            .map(|r| if r.coded { 1.0 } else { UNCODED_WEIGHT })
            .collect();
        let all: Vec<usize> = (0..rows.len()).collect();
        let xs: Vec<&[f32]> = rows.iter().map(|r| r.x.as_slice()).collect();
        let gram = Gram::new(&xs)?;
        let targets: Vec<Vec<f32>> = rows
            .iter()
            .map(|r| vec![if r.pain { 1.0 } else { -1.0 }])
            .collect();
        let width = rows[0].x.len();
        let theme_width = theme_width(width, lean_sd);
        let pain_model = ridge(&xs, &gram, &all, &targets, &weight, LAMBDA)?;
        let theme_model = fit_themes(rows, &xs, theme_width, &all, None)?;
        let mut learned = Learned {
            theme_model,
            pain_model,
            themes,
            pain_threshold: 0.0,
            floor: f32::MIN,
            width,
            vocabulary,
            lean_sd,
        };
        let training = Training {
            xs: &xs,
            theme_width,
            gram: &gram,
            targets: &targets,
            weight: &weight,
        };
        if let Some(held_out) = held_out(rows, &training, &learned.theme_model)? {
            learned.pain_threshold = learned.pain_threshold(rows, &held_out);
            learned.floor = learned.floor(rows, &held_out);
        }
        Ok(learned)
    }

    /// The theme and the pain flag the model gives sentence `u`, whose [`utterance_features`]
    /// are `x`. `prior` must be the classifier the model was fitted with ([`Learned::fit`]),
    /// which adds its theme scores ([`with_prior`]), and `lean` its pain lean of the sentence
    /// with the talk around it ([`super::in_context`]); the model adds the word columns.
    pub fn classify(
        &self,
        x: &[f32],
        u: &Utterance,
        prior: Option<&Classifier>,
        lean: Option<f32>,
    ) -> Verdict {
        let lean = self.lean_sd.zip(lean).map(|(sd, l)| l / sd);
        let x = model_features(x, &Context::from(u), prior, lean, &self.vocabulary);
        debug_assert_eq!(
            x.len(),
            self.width,
            "classified with another prior than fitted"
        );
        self.classify_features(&x)
    }

    /// The verdict on features as the model was fitted on them (a [`Row`]'s `x`).
    fn classify_features(&self, x: &[f32]) -> Verdict {
        self.verdict(
            &outputs(
                &self.theme_model,
                &self.pain_model,
                theme_width(self.width, self.lean_sd),
                x,
            ),
            self.pain_threshold,
            self.floor,
        )
    }

    fn verdict(&self, out: &[f32], pain_threshold: f32, floor: f32) -> Verdict {
        let (theme, &score) = out[..self.themes]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .expect("a codebook has themes");
        Verdict {
            theme: (score >= floor).then_some(theme),
            score: score.clamp(0.0, 1.0),
            pain: out[self.themes] >= pain_threshold,
        }
    }

    /// The pain threshold. When the coded sessions are among the transcripts (the model learned
    /// their uncoded sentences too), the one whose held-out "model or cue" flags as many of
    /// their coded sentences as the researcher coded pain (ties to the lowest); otherwise the
    /// one with the best F1 on the held-out coded sentences.
    fn pain_threshold(&self, rows: &[Row], held_out: &[Vec<f32>]) -> f32 {
        // Over the sentences of the coded sessions, or the coded sentences alone.
        let whole = rows.iter().any(|r| !r.coded);
        let counted = |r: &Row| r.coded && (r.found || !whole);
        let counts = |thr: f32| {
            let (mut tp, mut fp, mut fn_, mut n) = (0usize, 0usize, 0usize, 0usize);
            for (r, out) in rows.iter().zip(held_out) {
                if !counted(r) {
                    continue;
                }
                n += 1;
                match (out[self.themes] >= thr || r.cue, r.pain) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    (false, true) => fn_ += 1,
                    _ => {}
                }
            }
            (tp, fp, fn_, n)
        };
        let coded_rate = {
            let n = rows.iter().filter(|r| counted(r)).count().max(1);
            rows.iter().filter(|r| counted(r) && r.pain).count() as f64 / n as f64
        };
        let mut best = (f64::MIN, 0.0);
        for thr in pain_thresholds() {
            let (tp, fp, fn_, n) = counts(thr);
            let goodness = if whole {
                -((tp + fp) as f64 / n.max(1) as f64 - coded_rate).abs()
            } else {
                2.0 * tp as f64 / (2 * tp + fp + fn_).max(1) as f64
            };
            if goodness > best.0 + 1e-12 {
                best = (goodness, thr);
            }
        }
        best.1
    }

    /// The floor on the top theme probability (none, or 0 to 0.7) with the best F1 of "the right
    /// theme" over held-out sentences of the coded sessions: a wrong theme or a theme on an
    /// uncoded sentence is a false positive, a coded sentence without its theme a false
    /// negative. Of the floors within [`FLOOR_TOLERANCE`] of the best F1, the highest.
    fn floor(&self, rows: &[Row], held_out: &[Vec<f32>]) -> f32 {
        let mut scored: Vec<(f32, f64)> = Vec::new();
        for floor in std::iter::once(f32::MIN).chain((0..=14).map(|k| k as f32 / 20.0)) {
            let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
            for (r, out) in rows.iter().zip(held_out) {
                let v = self.verdict(out, 0.0, floor);
                let right = v.theme.is_some_and(|t| r.themes[t] > 0.0);
                match (v.theme.is_some(), right, r.coded) {
                    (_, true, _) => tp += 1,
                    (true, false, true) => {
                        fp += 1;
                        fn_ += 1
                    }
                    (true, false, false) => fp += 1,
                    (false, _, true) => fn_ += 1,
                    _ => {}
                }
            }
            scored.push((floor, 2.0 * tp as f64 / (2 * tp + fp + fn_).max(1) as f64));
        }
        pick_floor(&scored)
    }
}

/// Of (floor, F1) pairs in increasing floor order, the highest floor within [`FLOOR_TOLERANCE`]
/// of the best F1 (`f32::MIN`, no floor, when there are none).
fn pick_floor(scored: &[(f32, f64)]) -> f32 {
    let best = scored.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    scored
        .iter()
        .rev()
        .find(|s| s.1 >= best - FLOOR_TOLERANCE)
        .map_or(f32::MIN, |s| s.0)
}

/// Penalty of the theme model: `alpha/2·|W|²` against a loss summed over coded sentences
/// (scikit-learn's C = 1/alpha = 10). Measured on serdif-dev, leave one session out: C = 3, 10,
/// 30 give theme accuracy 0.58, 0.59, 0.59.
const THEME_ALPHA: f64 = 0.1;

/// The theme model fitted to the coded sentences among `train` (each row's themes as a soft
/// target), warm-started from `warm` when given.
fn fit_themes(
    rows: &[Row],
    xs: &[&[f32]],
    width: usize,
    train: &[usize],
    warm: Option<&Softmax>,
) -> Result<Softmax, String> {
    let coded: Vec<usize> = train
        .iter()
        .copied()
        .filter(|&i| rows[i].themes.iter().sum::<f32>() > 0.0)
        .collect();
    if coded.is_empty() {
        return Err("no coded sentences to learn from".into());
    }
    let x: Vec<&[f32]> = coded.iter().map(|&i| &xs[i][..width]).collect();
    let y: Vec<Vec<f32>> = coded.iter().map(|&i| rows[i].themes.clone()).collect();
    Softmax::fit(&x, &y, &vec![1.0; coded.len()], THEME_ALPHA, warm)
}

/// A sentence's outputs: theme probabilities (from its first `theme_width` features), then the
/// pain score.
fn outputs(themes: &Softmax, pain: &Linear, theme_width: usize, x: &[f32]) -> Vec<f32> {
    let mut out = themes.predict(&x[..theme_width]);
    out.extend(pain.predict(x));
    out
}

/// How many of the features of width `width` the theme model sees: all but the pain lean, the
/// last column when there is one ([`model_features`]).
fn theme_width(width: usize, lean_sd: Option<f32>) -> usize {
    width - usize::from(lean_sd.is_some())
}

/// The training rows' features and targets, shared by the folds of [`held_out`].
struct Training<'a> {
    /// Each row's features (the pain model's: all of them).
    xs: &'a [&'a [f32]],
    /// How many of them the theme model sees.
    theme_width: usize,
    gram: &'a Gram,
    /// Pain targets (±1).
    targets: &'a [Vec<f32>],
    weight: &'a [f64],
}

/// Every row's outputs from models fitted without its session (leave one session out; with
/// one session, five interleaved folds); None when there is too little to hold out. The theme
/// models of the folds start from the theme model of all rows (`full`).
fn held_out(rows: &[Row], t: &Training, full: &Softmax) -> Result<Option<Vec<Vec<f32>>>, String> {
    let Training {
        xs,
        theme_width,
        gram,
        targets,
        weight,
    } = *t;
    let groups: BTreeSet<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    let folds: Vec<Vec<usize>> = if groups.len() >= 2 {
        groups
            .iter()
            .map(|g| (0..rows.len()).filter(|&i| rows[i].group == *g).collect())
            .collect()
    } else if rows.len() >= 2 * FOLDS {
        (0..FOLDS)
            .map(|f| (f..rows.len()).step_by(FOLDS).collect())
            .collect()
    } else {
        return Ok(None);
    };
    // The folds are independent fits: run them side by side (each fit's matrix products are
    // too small to keep two cores busy on their own).
    use rayon::prelude::*;
    // Per fold: (row, outputs) of its held rows; None when the fold leaves nothing to learn.
    type Fold = Option<Vec<(usize, Vec<f32>)>>;
    let fold_outputs: Vec<Fold> = folds
        .par_iter()
        .map(|held| {
            let mut is_held = vec![false; rows.len()];
            held.iter().for_each(|&i| is_held[i] = true);
            let train: Vec<usize> = (0..rows.len())
                .filter(|&i| !is_held[i] && weight[i] > 0.0)
                .collect();
            if !train
                .iter()
                .any(|&i| rows[i].coded && rows[i].themes.iter().sum::<f32>() > 0.0)
            {
                return Ok(None);
            }
            let pain = ridge(xs, gram, &train, targets, weight, LAMBDA)?;
            let themes = fit_themes(rows, xs, theme_width, &train, Some(full))?;
            Ok(Some(
                held.iter()
                    .map(|&i| (i, outputs(&themes, &pain, theme_width, xs[i])))
                    .collect(),
            ))
        })
        .collect::<Result<_, String>>()?;
    let mut out = vec![Vec::new(); rows.len()];
    for fold in fold_outputs {
        let Some(fold) = fold else {
            return Ok(None);
        };
        for (i, o) in fold {
            out[i] = o;
        }
    }
    Ok(Some(out))
}

/// A linear model: `output[k] = b[k] + Σ_j x[j]·w[j][k]`.
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    /// Row-major, one row of `b.len()` weights per input.
    w: Vec<f32>,
    b: Vec<f32>,
}

impl Linear {
    pub(crate) fn predict(&self, x: &[f32]) -> Vec<f32> {
        let mut out = self.b.clone();
        for (&xj, wj) in x.iter().zip(self.w.chunks_exact(self.b.len())) {
            if xj != 0.0 {
                for (o, &w) in out.iter_mut().zip(wj) {
                    *o += xj * w;
                }
            }
        }
        out
    }
}

/// Plain ridge regression of `targets` on `xs` (every row weighing 1), penalty `lambda`.
pub(crate) fn fit_ridge(
    xs: &[&[f32]],
    targets: &[Vec<f32>],
    lambda: f64,
) -> Result<Linear, String> {
    let gram = Gram::new(xs)?;
    let all: Vec<usize> = (0..xs.len()).collect();
    ridge(xs, &gram, &all, targets, &vec![1.0; xs.len()], lambda)
}

/// Gram matrix of feature rows (`k[i][j] = (x_i − m)·(x_j − m)`, shifted by the mean `m` of
/// all rows so the products stay small and precise; any shift gives the same ridge fit).
struct Gram {
    n: usize,
    k: Vec<f64>,
}

impl Gram {
    fn new(xs: &[&[f32]]) -> Result<Gram, String> {
        let n = xs.len();
        let d = xs.first().map_or(0, |x| x.len());
        let mut mean = vec![0f32; d];
        for x in xs {
            for (m, &v) in mean.iter_mut().zip(*x) {
                *m += v / n as f32;
            }
        }
        let mut flat = Vec::with_capacity(n * d);
        for x in xs {
            flat.extend(x.iter().zip(&mean).map(|(v, m)| v - m));
        }
        // candle's CPU matmul: the one O(n²·d) step.
        let err = |e: candle_core::Error| format!("ridge: Gram matrix: {e}");
        let t =
            candle_core::Tensor::from_vec(flat, (n, d), &candle_core::Device::Cpu).map_err(err)?;
        let k: Vec<f32> = t
            .matmul(&t.t().and_then(|t| t.contiguous()).map_err(err)?)
            .and_then(|k| k.flatten_all())
            .and_then(|k| k.to_vec1())
            .map_err(err)?;
        Ok(Gram {
            n,
            k: k.into_iter().map(f64::from).collect(),
        })
    }
}

/// Weighted ridge regression of `y` on `xs` (minimising Σ cᵢ·(yᵢ − xᵢ·W − b)² + λ·|W|²), over
/// the rows `rows` only, with an unpenalised intercept; closed form in the dual: with the rows
/// centred on their weighted mean μ, α = (Xc·Xcᵀ + λ·C⁻¹)⁻¹·(y − ȳ), W = Xcᵀ·α, b = ȳ − μ·W.
fn ridge(
    xs: &[&[f32]],
    gram: &Gram,
    rows: &[usize],
    y: &[Vec<f32>],
    weight: &[f64],
    lambda: f64,
) -> Result<Linear, String> {
    let n = rows.len();
    let m = y[rows[0]].len();
    let d = xs[rows[0]].len();
    // The Gram matrix of these rows, centred on their own mean.
    let mut k = vec![0f64; n * n];
    for (a, &i) in rows.iter().enumerate() {
        for (b, &j) in rows.iter().enumerate() {
            k[a * n + b] = gram.k[i * gram.n + j];
        }
    }
    let c: Vec<f64> = rows.iter().map(|&i| weight[i]).collect();
    let total: f64 = c.iter().sum();
    let row_mean: Vec<f64> = k
        .chunks_exact(n)
        .map(|r| r.iter().zip(&c).map(|(v, w)| v * w).sum::<f64>() / total)
        .collect();
    let all_mean = row_mean.iter().zip(&c).map(|(v, w)| v * w).sum::<f64>() / total;
    for a in 0..n {
        for b in 0..n {
            k[a * n + b] += all_mean - row_mean[a] - row_mean[b];
        }
        k[a * n + a] += lambda / c[a];
    }
    let mut y_mean = vec![0f64; m];
    for (&i, w) in rows.iter().zip(&c) {
        for (s, &v) in y_mean.iter_mut().zip(&y[i]) {
            *s += v as f64 * w / total;
        }
    }
    let mut alpha: Vec<f64> = rows
        .iter()
        .flat_map(|&i| y[i].iter().zip(&y_mean).map(|(&v, s)| v as f64 - s))
        .collect();
    solve_spd(&mut k, n, &mut alpha, m)?;
    // W = Σ_i (x_i − μ)·α_i, b = ȳ − μ·W (μ, ȳ weighted means).
    let mut mu = vec![0f64; d];
    for (&i, w) in rows.iter().zip(&c) {
        for (s, &v) in mu.iter_mut().zip(xs[i]) {
            *s += v as f64 * w / total;
        }
    }
    let mut w = vec![0f64; d * m];
    for (a, &i) in rows.iter().enumerate() {
        let al = &alpha[a * m..(a + 1) * m];
        for (j, (&v, &mj)) in xs[i].iter().zip(&mu).enumerate() {
            let c = v as f64 - mj;
            for (o, &ak) in w[j * m..(j + 1) * m].iter_mut().zip(al) {
                *o += c * ak;
            }
        }
    }
    let b: Vec<f32> = (0..m)
        .map(|k| (y_mean[k] - (0..d).map(|j| mu[j] * w[j * m + k]).sum::<f64>()) as f32)
        .collect();
    Ok(Linear {
        w: w.into_iter().map(|v| v as f32).collect(),
        b,
    })
}

/// Solves `A·X = B` for a symmetric positive-definite `A` (n × n, row-major; overwritten by its
/// Cholesky factor L, A = L·Lᵀ) and `B` with `m` columns (n × m, row-major; overwritten by X).
fn solve_spd(a: &mut [f64], n: usize, b: &mut [f64], m: usize) -> Result<(), String> {
    cholesky(a, n)?;
    // L·Z = B, then Lᵀ·X = Z.
    for i in 0..n {
        let (done, rest) = b.split_at_mut(i * m);
        let bi = &mut rest[..m];
        for k in 0..i {
            let l = a[i * n + k];
            for (o, &z) in bi.iter_mut().zip(&done[k * m..(k + 1) * m]) {
                *o -= l * z;
            }
        }
        bi.iter_mut().for_each(|o| *o /= a[i * n + i]);
    }
    for i in (0..n).rev() {
        let (head, tail) = b.split_at_mut((i + 1) * m);
        let bi = &mut head[i * m..];
        for k in i + 1..n {
            let l = a[k * n + i];
            for (o, &x) in bi.iter_mut().zip(&tail[(k - i - 1) * m..(k - i) * m]) {
                *o -= l * x;
            }
        }
        bi.iter_mut().for_each(|o| *o /= a[i * n + i]);
    }
    Ok(())
}

/// Cholesky factor of a symmetric positive-definite `a` (n × n, row-major), in its lower
/// triangle. By blocks of columns: a block is first brought up to date with one matrix product
/// of everything factored before it (candle's CPU matmul, where the n³/6 work is), then
/// factored row by row (L[i][j] = (A[i][j] − L[i][..j]·L[j][..j]) / L[j][j], within the block).
fn cholesky(a: &mut [f64], n: usize) -> Result<(), String> {
    const BLOCK: usize = 64;
    let err = |e: candle_core::Error| format!("ridge: Cholesky: {e}");
    let cpu = &candle_core::Device::Cpu;
    for j0 in (0..n).step_by(BLOCK) {
        let j1 = (j0 + BLOCK).min(n);
        if j0 > 0 {
            // A[j0.., j0..j1] −= L[j0.., ..j0] · L[j0..j1, ..j0]ᵀ
            let left: Vec<f64> = (j0..n)
                .flat_map(|i| a[i * n..i * n + j0].iter().copied())
                .collect();
            let left = candle_core::Tensor::from_vec(left, (n - j0, j0), cpu).map_err(err)?;
            let top = left.narrow(0, 0, j1 - j0).map_err(err)?;
            let update: Vec<f64> = left
                .matmul(&top.t().and_then(|t| t.contiguous()).map_err(err)?)
                .and_then(|u| u.flatten_all())
                .and_then(|u| u.to_vec1())
                .map_err(err)?;
            for (i, u) in (j0..n).zip(update.chunks_exact(j1 - j0)) {
                for (x, d) in a[i * n + j0..i * n + j1].iter_mut().zip(u) {
                    *x -= d;
                }
            }
        }
        for i in j0..n {
            for j in j0..j1.min(i + 1) {
                let s = a[i * n + j] - dot(&a[i * n + j0..i * n + j], &a[j * n + j0..j * n + j]);
                if i == j {
                    if s <= 0.0 {
                        return Err("ridge: matrix is not positive definite".into());
                    }
                    a[i * n + i] = s.sqrt();
                } else {
                    a[i * n + j] = s / a[j * n + j];
                }
            }
        }
    }
    Ok(())
}

/// Dot product with four independent sums (so it vectorises).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut acc = [0f64; 4];
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// A code name or id → the codebook theme, ignoring case, accents and punctuation.
pub fn theme_of(codebook: &Codebook, code: &str) -> Option<usize> {
    let key = |s: &str| -> String { fold(s).chars().filter(|c| c.is_alphanumeric()).collect() };
    let k = key(code);
    codebook
        .themes
        .iter()
        .position(|t| key(&t.id) == k || key(&t.name) == k)
}

/// A file of coded quotes ([`read_examples`]).
#[derive(Debug, Clone, Default)]
pub struct ExamplesFile {
    pub quotes: Vec<Example>,
    /// The text of the interviews the quotes were coded in, when the file holds them (a
    /// `.qdpx` does): context for the quotes ([`crate::examples`]).
    pub sources: Vec<crate::report::qdpx::SourceText>,
}

/// Reads coded quotes from JSONL, CSV, a spreadsheet (the quote table's first sheet) or a
/// REFI-QDA `.qdpx`, by extension.
pub fn read_examples(path: &Path) -> Result<ExamplesFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "qdpx" => {
            let read = crate::report::qdpx::read_codings_with_warnings(&bytes)?;
            Ok(ExamplesFile {
                quotes: read
                    .codings
                    .into_iter()
                    .map(|c| Example {
                        text: c.text,
                        code: c.code,
                        participant: c.participant,
                    })
                    .collect(),
                sources: read.sources,
            })
        }
        _ if crate::spreadsheet::is_spreadsheet(path) || ext == "csv" || ext == "tsv" => {
            let table = if crate::spreadsheet::is_spreadsheet(path) {
                crate::spreadsheet::to_csv(&bytes, crate::report::csv::QUOTE_HEADERS)?
            } else {
                bytes
            };
            Ok(ExamplesFile {
                quotes: crate::report::csv::read_quote_table(&table)?
                    .into_iter()
                    .map(|c| Example {
                        text: c.text,
                        code: c.code,
                        participant: c.participant,
                    })
                    .collect(),
                sources: Vec::new(),
            })
        }
        _ => Ok(ExamplesFile {
            quotes: read_jsonl(&bytes)?,
            sources: Vec::new(),
        }),
    }
}

fn read_jsonl(bytes: &[u8]) -> Result<Vec<Example>, String> {
    let text = crate::transcript::read::decode_text(bytes)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        let get = |keys: &[&str]| -> Option<String> {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(String::from))
        };
        let text = get(&["quote", "text", "excerpt"])
            .ok_or_else(|| format!("line {}: no \"quote\" or \"text\" field", i + 1))?;
        let code = get(&["tag", "code", "theme"])
            .ok_or_else(|| format!("line {}: no \"tag\", \"code\" or \"theme\" field", i + 1))?;
        out.push(Example {
            text,
            code,
            participant: get(&["participant"]),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_examples_are_read_with_line_errors() {
        let ok = read_jsonl(b"{\"participant\": \"P1\", \"quote\": \"It was slow.\", \"tag\": \"System issue\"}\n\n").unwrap();
        assert_eq!(ok[0].code, "System issue");
        assert_eq!(ok[0].participant.as_deref(), Some("P1"));
        let err =
            read_jsonl(b"{\"quote\": \"x\", \"tag\": \"y\"}\n{\"quote\": \"x\"}\n").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
    }

    fn codebook() -> Codebook {
        crate::codebook::parse("[codebook]\nname = \"x\"\n[[theme]]\nid = \"system-issue\"\nname = \"System issue\"\nkind = \"pain\"\ndescription = \"d\"\n[[theme]]\nid = \"praise\"\nname = \"Praise\"\nkind = \"delight\"\ndescription = \"d\"\n").unwrap()
    }

    #[test]
    fn codes_match_themes_by_name_or_id() {
        let c = codebook();
        assert_eq!(theme_of(&c, "System Issue"), Some(0));
        assert_eq!(theme_of(&c, "system-issue"), Some(0));
        assert_eq!(theme_of(&c, "other"), None);
    }

    #[test]
    fn codes_of_one_quote_are_merged_and_pain_comes_from_the_theme_kind() {
        let ex = |text: &str, code: &str| Example {
            text: text.into(),
            code: code.into(),
            participant: Some("P1".into()),
        };
        let coded = resolve(
            &codebook(),
            &[
                ex("Nice.", "Praise"),
                ex("It broke.", "System issue"),
                ex("Nice.", "System issue"),
                ex("Meh.", "unknown"),
            ],
        )
        .unwrap();
        assert_eq!(coded.len(), 2);
        assert_eq!(coded[0].themes, BTreeSet::from([0, 1]));
        assert!(coded[0].pain && coded[1].pain);
        let err = resolve(&codebook(), &[ex("Meh.", "unknown")]).unwrap_err();
        assert!(err.contains("unknown"), "{err}");
    }

    #[test]
    fn quotes_are_found_sentence_by_sentence_in_the_participants_speech() {
        let u = |p: &str, text: &str| Utterance::said(p, &format!("{p}.txt"), text);
        let us = [
            u("P1", "The map did not load at all."),
            u("P1", "I had to reload the page twice."),
            u("P2", "The map did not load at all."),
        ];
        let f = QuoteFinder::new(&us);
        assert_eq!(
            f.find(
                Some("P1"),
                "I had to reload the page twice. The map did not load."
            ),
            [1, 0]
        );
        assert_eq!(f.find(Some("P2"), "The map did not load at all."), [2]);
        assert_eq!(f.find(None, "The map did not load at all."), [0]);
        assert!(f
            .find(Some("P3"), "The map did not load at all.")
            .is_empty());
        assert!(f.find(Some("P1"), "Something else entirely.").is_empty());
    }

    #[test]
    fn a_quote_is_found_in_one_interview_and_ties_go_to_the_coded_one() {
        // Two studies' "P1": this one (new.txt, first) and the coded one (coded.txt).
        let u = |source: &str, text: &str| Utterance::said("P1", source, text);
        let us = [
            u("new.txt", "Okay."),
            u("new.txt", "The table is fine."),
            u("coded.txt", "Okay."),
            u("coded.txt", "The export was hidden."),
            u("coded.txt", "I gave up in the end."),
        ];
        let f = QuoteFinder::new(&us);
        // Sentences of one quote come from one interview, the best matching one.
        assert_eq!(f.find(Some("P1"), "Okay. The export was hidden."), [2, 3]);
        // "Okay." alone matches both equally: plain order picks the first, the researcher's
        // coding picks the interview the other quotes are in.
        assert_eq!(f.find(Some("P1"), "Okay."), [0]);
        let code = |text: &str| Coded {
            text: text.into(),
            participant: Some("P1".into()),
            themes: BTreeSet::from([0]),
            pain: false,
        };
        let quotes = [
            code("Okay."),
            code("The export was hidden."),
            code("I gave up in the end."),
            code("No, the table is fine."),
        ];
        let hits = f.find_coded(&quotes);
        assert_eq!(hits, [vec![2], vec![3], vec![4], vec![1]]);
        // One stray match does not make new.txt a coded interview, whose other sentences
        // would be learned as "no theme, not pain".
        assert_eq!(coded_interviews(&hits, &us), BTreeSet::from(["coded.txt"]));
    }

    #[test]
    fn the_floor_abstains_where_it_costs_nothing() {
        // F1 flat up to 0.25 (the P1–P2 run of BENCHMARKS.md), then falling.
        let flat = [
            (f32::MIN, 0.389),
            (0.0, 0.389),
            (0.2, 0.388),
            (0.25, 0.387),
            (0.3, 0.367),
        ];
        assert_eq!(pick_floor(&flat), 0.25);
        // A clear best stays the choice, and a higher floor that is clearly worse is not taken.
        let peaked = [(f32::MIN, 0.30), (0.1, 0.40), (0.2, 0.35)];
        assert_eq!(pick_floor(&peaked), 0.1);
        assert_eq!(pick_floor(&[]), f32::MIN);
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        // [[4, 2], [2, 3]]·x = [[2, 8], [1, 7]] → x = [[0.5, 1.25], [0, 1.5]].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 8.0, 1.0, 7.0];
        solve_spd(&mut a, 2, &mut b, 2).unwrap();
        for (x, want) in b.iter().zip([0.5, 1.25, 0.0, 1.5]) {
            assert!((x - want).abs() < 1e-12, "{b:?}");
        }
        assert!(solve_spd(&mut [0.0], 1, &mut [1.0], 1).is_err());
    }

    #[test]
    fn blocked_cholesky_solves_a_larger_system() {
        // A = MᵀM + I (positive definite), 150 × 150: more than two blocks.
        let n = 150;
        let mut state = 3u64;
        let mm: Vec<f64> = (0..n * n).map(|_| noise(&mut state) as f64).collect();
        let mut a = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| mm[k * n + i] * mm[k * n + j]).sum::<f64>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        let want: Vec<f64> = (0..n).map(|i| i as f64 / n as f64 - 0.5).collect();
        let mut b: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| a[i * n + j] * want[j]).sum())
            .collect();
        solve_spd(&mut a.clone(), n, &mut b, 1).unwrap();
        for (x, w) in b.iter().zip(&want) {
            assert!((x - w).abs() < 1e-8, "{x} vs {w}");
        }
    }

    #[test]
    fn ridge_matches_the_closed_form_on_a_line() {
        // x = 1, 2, 3 and y = 2, 4, 6: centred, Σxy = 4 and Σx² = 2, so with λ = 1
        // w = 4 / (2 + 1) = 4/3 and b = ȳ − w·x̄ = 4 − 8/3 = 4/3.
        let data = [[1f32], [2.0], [3.0]];
        let xs: Vec<&[f32]> = data.iter().map(|x| x.as_slice()).collect();
        let y = vec![vec![2f32], vec![4.0], vec![6.0]];
        let gram = Gram::new(&xs).unwrap();
        let m = ridge(&xs, &gram, &[0, 1, 2], &y, &[1.0; 3], 1.0).unwrap();
        assert!((m.w[0] - 4.0 / 3.0).abs() < 1e-5, "{:?}", m.w);
        assert!((m.b[0] - 4.0 / 3.0).abs() < 1e-5, "{:?}", m.b);
        // Fitted on the first two rows only: x̄ = 1.5, ȳ = 3, Σxy = 1, Σx² = 0.5 → w = 2/3.
        let m = ridge(&xs, &gram, &[0, 1], &y, &[1.0; 3], 1.0).unwrap();
        assert!((m.w[0] - 2.0 / 3.0).abs() < 1e-5, "{:?}", m.w);
        assert!((m.b[0] - 2.0).abs() < 1e-5, "{:?}", m.b);
    }

    #[test]
    fn a_row_of_weight_two_counts_as_two_rows() {
        let data = [[1f32, 0.5], [2.0, -1.0], [3.0, 2.0], [2.0, -1.0]];
        let xs: Vec<&[f32]> = data.iter().map(|x| x.as_slice()).collect();
        let y = vec![vec![1f32], vec![3.0], vec![2.0], vec![3.0]];
        let gram = Gram::new(&xs).unwrap();
        let twice = ridge(&xs, &gram, &[0, 1, 2, 3], &y, &[1.0; 4], 0.5).unwrap();
        let weighted = ridge(&xs, &gram, &[0, 1, 2], &y, &[1.0, 2.0, 1.0, 1.0], 0.5).unwrap();
        for (a, b) in twice
            .w
            .iter()
            .chain(&twice.b)
            .zip(weighted.w.iter().chain(&weighted.b))
        {
            assert!((a - b).abs() < 1e-5, "{twice:?} vs {weighted:?}");
        }
    }

    /// A deterministic pseudo-random number in [-1, 1).
    fn noise(state: &mut u64) -> f32 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    #[test]
    fn learner_beats_chance_on_separable_themes() {
        // Three themes in WIDTH dimensions: each sentence is its theme's direction plus noise;
        // theme 0 is the pain theme. Six sessions of 15 sentences; train on four, test on two.
        let mut state = 7u64;
        let centres: Vec<Vec<f32>> = (0..3)
            .map(|_| (0..WIDTH).map(|_| noise(&mut state)).collect())
            .collect();
        let mut make = |session: usize, i: usize| {
            let t = (session + i) % 3;
            let x: Vec<f32> = centres[t]
                .iter()
                .map(|c| c + 1.5 * noise(&mut state))
                .collect();
            let mut themes = vec![0f32; 3];
            themes[t] = 1.0;
            Row {
                x,
                themes,
                pain: t == 0,
                cue: false,
                group: format!("P{session}"),
                coded: true,
                found: true,
            }
        };
        let rows: Vec<Row> = (0..6)
            .flat_map(|s| (0..15).map(move |i| (s, i)))
            .map(|(s, i)| make(s, i))
            .collect();
        let (train, test): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| {
            let s: usize = r.group[1..].parse().unwrap();
            s < 4
        });
        let model = Learned::from_rows(&train, 3, Vocabulary::default(), None).unwrap();
        let (mut themes_right, mut pain_right) = (0, 0);
        for r in &test {
            let v = model.classify_features(&r.x);
            themes_right += usize::from(v.theme.is_some_and(|t| r.themes[t] == 1.0));
            pain_right += usize::from(v.pain == r.pain);
            assert!((0.0..=1.0).contains(&v.score));
        }
        // Chance is a third for themes, two thirds for "never pain".
        assert!(themes_right >= 27, "{themes_right} of 30 themes right");
        assert!(pain_right >= 27, "{pain_right} of 30 pain flags right");
        // The same rows give the same model.
        let again = Learned::from_rows(&train, 3, Vocabulary::default(), None).unwrap();
        assert_eq!(again.pain_threshold, model.pain_threshold);
        assert_eq!(
            again.classify_features(&test[0].x),
            model.classify_features(&test[0].x)
        );
    }

    /// The pain lean is the last column and only the pain model sees it: where the embeddings
    /// say nothing of pain, the lean carries it, and the theme model is the one fitted without
    /// the column.
    #[test]
    fn the_pain_lean_teaches_pain_and_leaves_themes_alone() {
        let mut state = 5u64;
        let rows: Vec<Row> = (0..60)
            .map(|i| {
                let theme = i % 2;
                let pain = i % 3 == 0;
                let mut x: Vec<f32> = (0..WIDTH).map(|_| 0.09 * noise(&mut state)).collect();
                x[0] += theme as f32;
                x.push(if pain { 1.5 } else { -0.75 });
                let mut themes = vec![0f32; 2];
                themes[theme] = 1.0;
                Row {
                    x,
                    themes,
                    pain,
                    cue: false,
                    group: format!("P{}", i % 4),
                    coded: true,
                    found: true,
                }
            })
            .collect();
        let with = Learned::from_rows(&rows, 2, Vocabulary::default(), Some(1.0)).unwrap();
        let cut: Vec<Row> = rows
            .iter()
            .map(|r| Row {
                x: r.x[..WIDTH].to_vec(),
                ..r.clone()
            })
            .collect();
        let without = Learned::from_rows(&cut, 2, Vocabulary::default(), None).unwrap();
        for (r, c) in rows.iter().zip(&cut) {
            let (a, b) = (
                with.classify_features(&r.x),
                without.classify_features(&c.x),
            );
            assert_eq!(a.pain, r.pain, "{r:?}");
            assert_eq!((a.theme, a.score), (b.theme, b.score));
        }
    }

    /// The embeddings say nothing (noise); the prompt's words say which task a sentence is
    /// about. The word columns carry that from the coded sessions to a new one, through
    /// [`Learned::classify`] on plain sentences.
    #[test]
    fn the_prompts_words_carry_the_task() {
        let mut state = 11u64;
        let tasks = ["Please download the data.", "Now open the map view."];
        let utterance = |session: usize, i: usize| Utterance {
            question: Some(tasks[i % 2].into()),
            ..Utterance::said(
                &format!("P{session}"),
                &format!("p{session}.txt"),
                ["Yes, fine.", "Okay, that works.", "Hmm, I see."][i % 3],
            )
        };
        let study: Vec<Utterance> = (0..4)
            .flat_map(|s| (0..12).map(move |i| utterance(s, i)))
            .collect();
        let vocabulary = Vocabulary::of_study(&study);
        // Each embedding about as long as an e5 vector (unit length per 384 numbers).
        let noise_x =
            |state: &mut u64| -> Vec<f32> { (0..WIDTH).map(|_| 0.09 * noise(state)).collect() };
        let rows: Vec<Row> = study[..36]
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let mut themes = vec![0f32; 2];
                themes[i % 2] = 1.0;
                Row {
                    x: model_features(
                        &noise_x(&mut state),
                        &Context::from(u),
                        None,
                        None,
                        &vocabulary,
                    ),
                    themes,
                    pain: false,
                    cue: false,
                    group: u.participant.clone(),
                    coded: true,
                    found: true,
                }
            })
            .collect();
        let model = Learned::from_rows(&rows, 2, vocabulary, None).unwrap();
        for (i, u) in study[36..].iter().enumerate() {
            let v = model.classify(&noise_x(&mut state), u, None, None);
            assert_eq!(v.theme, Some(i % 2), "{:?} after {:?}", u.text, u.question);
        }
    }
}
