//! Tagging: participant sentences → mentions of themes, with pain severity.
//!
//! Stages, each in its own file:
//! - [`keyword`]: codebook keywords (any language, stems, phrases, negation scope);
//! - [`embed`]: the embedding classifier over theme prototypes ([`e5`] runs the model);
//! - [`learn`]: models of the researcher's own coded quotes (`--examples`) — themes by
//!   [`softmax`] regression, pain by ridge — with the interviewer's prompt, the turn around
//!   each sentence and the codebook prototypes' theme scores as features;
//! - [`refine`]: self-training that teaches the codebook prototypes the study's context;
//! - [`pain`]: severity 0–4 from multilingual cues;
//! - [`discover`]: emergent themes from the sentences no theme claimed.
//!
//! [`Tagger::tag`] combines them: a theme found by both keywords and meaning is `both`; by
//! one of them, `keyword` or `embedding`; learned examples, when given, decide the theme by
//! meaning (the prototype scores stay among the model's features) and add their own pain flag
//! to the cues. Where the learned model abstains (nothing coded is like the sentence), the
//! codebook prototypes' theme still counts when it wins clearly: two coded sessions are too
//! few to silence a codebook the researcher wrote. One sentence can mention several themes
//! (keywords of two themes), but gets at most one theme by meaning.

pub mod discover;
pub mod e5;
pub mod embed;
pub mod keyword;
pub mod learn;
pub mod lexical;
pub mod pain;
pub mod refine;
pub mod softmax;

use crate::codebook::Codebook;
use crate::types::{Mention, Method, Severity, ThemeKind, Utterance};
use keyword::{tokenize, Matcher};
use std::collections::HashMap;
use std::path::PathBuf;

/// Which classifiers to use (the quality report compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    KeywordOnly,
    EmbeddingOnly,
    Combined,
}

/// Everything tagging needs, built once per run.
pub struct Tagger<'a> {
    pub codebook: &'a Codebook,
    keywords: Matcher,
    pub pain: pain::Lexicon,
    embedder: Option<&'a e5::Embedder>,
    classifier: Option<embed::Classifier>,
    /// The researcher's coded quotes (only when the embedder runs).
    coded: Vec<learn::Coded>,
    /// The model learned from them, once fitted (see [`Tagger::learn`]).
    learned: Option<learn::Learned>,
    pub mode: Mode,
}

/// The result of tagging a study's sentences.
pub struct Tagged {
    pub mentions: Vec<Mention>,
    /// Per utterance: its (contextualised) embedding, when the embedder ran.
    pub vectors: Vec<Vec<f32>>,
    /// Utterances that got no theme.
    pub untagged: Vec<usize>,
    /// Per utterance: its pain severity (cues, or the learned pain model), with or without a
    /// theme.
    pub pain: Vec<Severity>,
    /// Codebook themes (index, sentences) that meaning alone would have given sentences but
    /// whose keywords no sentence of the study used; those sentences were left untagged (see
    /// [`ANCHOR_MIN_SHARE`]).
    pub unanchored: Vec<(usize, usize)>,
}

/// A request theme gets a sentence by meaning alone only when the sentence has the form of a
/// wish or a suggestion ([`pain::Lexicon::wishes`]), provided the study speaks a language the
/// lexicon knows: at least this share of its sentences have one of the commonest words of its
/// languages ([`pain::Lexicon::knows`]; serdif-dev's English usability tests 0.91; 80 customer
/// complaints in English, Lithuanian, Polish or Russian 0.85–0.99; German interviews with one
/// English button name 0.22). Elsewhere the rule would silence every request.
pub const KNOWN_MIN_SHARE: f32 = 0.5;

/// A codebook theme with keywords gets sentences by meaning alone only when at least one
/// sentence of the study names it in its keywords, provided the keywords speak the study's
/// language: at least this share of its sentences match some theme's keywords (the default
/// codebook on serdif-dev's English usability tests: 0.11; on 80 customer complaints in each of
/// its four languages: 0.75–0.84; an English-only codebook on Lithuanian interviews: about 0).
///
/// e5 puts any talk of "values" and "high or low" near "Price and value": on nine usability
/// tests of a health-data dashboard, where no participant spoke of prices, the default codebook
/// gave "Price and value" 94 sentences and the brief a finding that nine of nine participants
/// had problems with it. People who talk about a topic name it sooner or later; a topic no
/// participant names is the codebook's guess, and its sentences are better left to the
/// discovered themes (BENCHMARKS.md).
pub const ANCHOR_MIN_SHARE: f32 = 0.03;

impl<'a> Tagger<'a> {
    /// A tagger for `codebook`, learning from `examples` when there are any (and an embedder);
    /// an error when the embedder fails on the codebook or no example code is a codebook theme.
    pub fn new(
        codebook: &'a Codebook,
        embedder: Option<&'a e5::Embedder>,
        examples: &[learn::Example],
        mode: Mode,
    ) -> Result<Tagger<'a>, String> {
        let coded = match embedder {
            Some(_) if !examples.is_empty() => learn::resolve(codebook, examples)?,
            _ => Vec::new(),
        };
        Tagger::with_coded(codebook, embedder, coded, mode)
    }

    /// [`Tagger::new`] with the examples already matched to the codebook ([`learn::resolve`]),
    /// for callers that report a bad examples file apart from a failing model.
    pub fn with_coded(
        codebook: &'a Codebook,
        embedder: Option<&'a e5::Embedder>,
        coded: Vec<learn::Coded>,
        mode: Mode,
    ) -> Result<Tagger<'a>, String> {
        let mut keywords = Matcher::default();
        for (i, t) in codebook.themes.iter().enumerate() {
            for k in &t.keywords {
                keywords.add(k, i);
            }
        }
        let classifier = match (embedder, mode) {
            (Some(e), Mode::EmbeddingOnly | Mode::Combined) => {
                Some(embed::Classifier::new(codebook, e)?)
            }
            _ => None,
        };
        let coded = if embedder.is_some() {
            coded
        } else {
            Vec::new()
        };
        Ok(Tagger {
            codebook,
            keywords,
            pain: pain::Lexicon::builtin(),
            embedder,
            classifier,
            coded,
            learned: None,
            mode,
        })
    }

    /// Fits the model of the coded examples, finding each coded quote in `study` (the sentences
    /// of the interviews) for its question and turn. [`Tagger::tag`] does this itself with the
    /// sentences it tags; call it first to tag a part of the study (one session) with a model of
    /// the whole. Without examples, nothing to do.
    pub fn learn(&mut self, study: &[Utterance]) -> Result<(), String> {
        self.learned = self.fit(study)?;
        Ok(())
    }

    fn fit(&self, study: &[Utterance]) -> Result<Option<learn::Learned>, String> {
        match self.embedder {
            Some(e) if !self.coded.is_empty() => Ok(Some(learn::Learned::fit(
                &self.coded,
                self.codebook.themes.len(),
                study,
                e,
                &self.pain,
                self.classifier.as_ref(),
            )?)),
            _ => Ok(None),
        }
    }

    /// Tags every utterance. `utterances` must be in transcript order (context = neighbours).
    pub fn tag(&self, utterances: &[Utterance]) -> Result<Tagged, String> {
        let fitted;
        let learned = match &self.learned {
            Some(l) => Some(l),
            None => {
                fitted = self.fit(utterances)?;
                fitted.as_ref()
            }
        };
        let features = match self.embedder {
            Some(e) if self.classifier.is_some() || learned.is_some() => {
                learn::utterance_features(e, utterances)?
            }
            _ => Vec::new(),
        };
        let vectors = match self.embedder {
            Some(e) if self.classifier.is_some() || learned.is_some() => contextual_vectors(
                e,
                utterances,
                self.classifier
                    .as_ref()
                    .map(|c| c.thresholds.context)
                    .unwrap_or(0.35),
            )?,
            _ => Vec::new(),
        };
        // The codebook prototypes' verdicts, refined by self-training on the study's own clearest
        // matches (with learned examples: for the sentences the learned model abstains on).
        // Without learned examples, corrected for the study's hubs (`Classifier::for_study`).
        let for_study = match (&self.classifier, learned) {
            (Some(c), None) => Some(c.for_study(&vectors)),
            _ => None,
        };
        let prototype: Vec<Option<embed::Scores>> =
            match for_study.as_ref().or(self.classifier.as_ref()) {
                Some(c) => vectors
                    .iter()
                    .zip(&features)
                    .map(|(v, x)| Some(c.score(v, learn::prompt_of(x))))
                    .collect(),
                None => Vec::new(),
            };
        let refined = if prototype.is_empty() {
            None
        } else {
            let picks: Vec<Option<refine::Pick>> = prototype
                .iter()
                .map(|s| {
                    let s = s.as_ref()?;
                    let t = s.best?;
                    let runner_up = (s.themes.iter().enumerate())
                        .filter(|&(k, _)| k != t)
                        .map(|(_, &x)| x)
                        .fold(f32::MIN, f32::max);
                    Some(refine::Pick {
                        theme: t,
                        lead: s.themes[t] - runner_up,
                    })
                })
                .collect();
            refine::self_train(&features, &picks, self.codebook.themes.len())?
        };
        // How near each sentence (with its turn), and the talk around it, is to the codebook's
        // problem themes rather than its others: a pain flag by itself without learned examples,
        // a feature of the learned models with them. `None` when the codebook lacks problem
        // themes or other themes.
        let leans = self
            .classifier
            .as_ref()
            .and_then(|c| pain_leans(c, &features, utterances));
        // Keyword themes of every sentence, and which themes the study names in its keywords.
        let mut keyword_hits: Vec<Vec<(usize, Vec<String>)>> = utterances
            .iter()
            .map(|u| self.keyword_themes(&u.text))
            .collect();
        let mut anchored = vec![false; self.codebook.themes.len()];
        for (t, _) in keyword_hits.iter().flatten() {
            anchored[*t] = true;
        }
        let with_keywords = keyword_hits.iter().filter(|h| !h.is_empty()).count();
        let anchoring = learned.is_none()
            && self.mode == Mode::Combined
            && with_keywords as f32 >= ANCHOR_MIN_SHARE * utterances.len() as f32;
        let mut unanchored = vec![0usize; self.codebook.themes.len()];
        // Whether each sentence has the form of a wish or a suggestion (a request by the
        // prototypes needs one, in a language the lexicon knows: `KNOWN_MIN_SHARE`); looked for
        // only when the prototypes can give a request theme.
        let requests = !prototype.is_empty()
            && (self.codebook.themes.iter()).any(|t| t.kind == ThemeKind::Request);
        let known = utterances
            .iter()
            .filter(|u| requests && self.pain.knows(&u.text))
            .count();
        let known = known as f32 >= KNOWN_MIN_SHARE * utterances.len() as f32;
        let wishing: Vec<bool> = (utterances.iter())
            .map(|u| !known || self.pain.wishes(&u.text))
            .collect();
        let mut mentions = Vec::new();
        let mut untagged = Vec::new();
        let mut pain = Vec::with_capacity(utterances.len());
        for (i, u) in utterances.iter().enumerate() {
            let mut assessment = self.pain.assess(&u.text);
            let lean = leans.as_ref().and_then(|l| l.get(i).copied());
            let verdict = learned
                .zip(features.get(i))
                .map(|(l, x)| l.classify(x, u, self.classifier.as_ref(), lean));
            // The learned pain flag adds to the cues; it explains itself as learned.
            if verdict.is_some_and(|v| v.pain) && assessment.severity == 0 {
                assessment.severity = 1;
                assessment
                    .cues
                    .push("learned: like the pain quotes in your coded examples".into());
            }
            // Without learned examples, a sentence that with the talk around it is nearer the
            // codebook's problem themes than its others is friction the cues may not name ("the
            // lag, not sure what it means").
            if learned.is_none()
                && lean.is_some_and(|l| l > 0.0)
                && assessment.severity == 0
                && !assessment.denied
            {
                assessment.severity = 1;
                assessment.cues.push(
                    "meaning: with the talk around it, nearer the codebook's problem themes \
                         than its others"
                        .into(),
                );
            }
            let kw = std::mem::take(&mut keyword_hits[i]);
            // The theme by meaning: the learned model when it has one, else the codebook
            // prototypes; with whether it also wins under the stricter rule (see
            // `embed::Scores::clear`). Where the learned model abstains, the prototypes' theme
            // counts only when it wins under that rule. Measured on serdif-dev before the word
            // columns (theme accuracy; taught by P1–P2 / by P1–P3 / leave one session out): the
            // learned model alone 0.39 / 0.48 / 0.57, with this fallback 0.43 / 0.50 / 0.59,
            // with any prototype theme 0.45 / 0.51 / 0.59 but 0.98 of all sentences themed and
            // nothing left to discover.
            let mut by_meaning: Option<(usize, f32, Method)> = None;
            let mut clear_win = false;
            let learned_theme = verdict.and_then(|v| v.theme.map(|t| (t, v.score)));
            if let Some((t, score)) = learned_theme {
                by_meaning = Some((t, score, Method::Examples));
                clear_win = true;
            } else if let Some(Some(s)) = prototype
                .get(i)
                .filter(|s| verdict.is_none() || s.as_ref().is_some_and(|s| s.clear.is_some()))
            {
                let refined = refined.as_ref().and_then(|r| r[i]);
                match (s.best, refined) {
                    // The self-trained theme; "clear" stays the prototypes' judgement of how
                    // plainly the sentence is about some theme.
                    (Some(_), Some((t, score))) => {
                        by_meaning = Some((t, score, Method::Embedding));
                        clear_win = s.clear.is_some();
                    }
                    (Some(t), None) => {
                        by_meaning = Some((t, s.themes[t], Method::Embedding));
                        clear_win = s.clear == Some(t);
                    }
                    (None, _) => {}
                }
                // A sentence that asks for nothing is no request (`pain::Lexicon::wishes`) unless
                // it names the theme in its keywords: it stays untagged rather than go to the next
                // theme, which was wrong more often than right on serdif-dev (BENCHMARKS.md). This
                // concerns the prototypes' verdict wherever it counts (embedding-only mode, the
                // fallback where learned examples abstain), not the learned model's.
                let request = |t: usize| self.codebook.themes[t].kind == ThemeKind::Request;
                let said = |t: usize| kw.iter().any(|(x, _)| *x == t);
                if by_meaning.is_some_and(|(t, ..)| request(t) && !said(t)) && !wishing[i] {
                    by_meaning = None;
                }
            }
            let mut themes: Vec<(usize, f32, Method, Vec<String>)> = Vec::new();
            for (t, cues) in kw {
                let both = by_meaning.map(|(b, _, _)| b == t).unwrap_or(false);
                let (score, method) = if both {
                    let (_, s, m) = by_meaning.unwrap();
                    (
                        s.max(0.9),
                        if m == Method::Examples {
                            Method::Examples
                        } else {
                            Method::Both
                        },
                    )
                } else {
                    (0.75, Method::Keyword)
                };
                themes.push((t, score, method, cues));
            }
            if let Some((t, s, m)) = by_meaning {
                // A theme with keywords, none of which fired, needs clearer evidence by meaning
                // alone: its keywords were written to catch the topic.
                let clear = clear_win || self.codebook.themes[t].keywords.is_empty();
                if clear && !themes.iter().any(|(x, ..)| *x == t) {
                    // Nor does a theme the study never names (`ANCHOR_MIN_SHARE`).
                    let theme = &self.codebook.themes[t];
                    if anchoring
                        && !theme.keywords.is_empty()
                        && !anchored[t]
                        && m == Method::Embedding
                    {
                        unanchored[t] += 1;
                    } else {
                        themes.push((t, s, m, Vec::new()));
                    }
                }
            }
            let mut severity_here = assessment.severity;
            if themes.is_empty() {
                untagged.push(i);
            }
            for (t, score, method, kw_cues) in themes {
                let theme = &self.codebook.themes[t];
                let mut severity = assessment.severity;
                let mut cues = kw_cues;
                cues.extend(assessment.cues.iter().cloned());
                // A confident match by meaning to a problem theme is itself evidence of friction
                // the cues may not name ("the filter is hidden behind three menus"), when the
                // codebook has no other themes to lean against (see `lean` above); a learned
                // model has its own pain flag instead.
                if learned.is_none()
                    && lean.is_none()
                    && theme.kind == ThemeKind::Pain
                    && severity == 0
                    && method != Method::Keyword
                    && !assessment.denied
                {
                    severity = 1;
                    cues.push("meaning: close to the theme's problem examples".into());
                }
                severity_here = severity_here.max(severity);
                mentions.push(Mention {
                    participant: u.participant.clone(),
                    source: u.source.clone(),
                    text: u.text.clone(),
                    start: u.start,
                    end: u.end,
                    theme: theme.id.clone(),
                    kind: theme.kind,
                    score: (score * 100.0).round() / 100.0,
                    method,
                    pain: severity,
                    cues,
                });
            }
            pain.push(severity_here);
        }
        Ok(Tagged {
            mentions,
            vectors,
            untagged,
            pain,
            unanchored: (unanchored.into_iter().enumerate())
                .filter(|&(_, n)| n > 0)
                .collect(),
        })
    }

    /// The codebook themes whose keywords `text` uses, each with its cues ("kw: …"); none in
    /// embedding-only mode.
    fn keyword_themes(&self, text: &str) -> Vec<(usize, Vec<String>)> {
        let mut kw: Vec<(usize, Vec<String>)> = Vec::new();
        if self.mode == Mode::EmbeddingOnly {
            return kw;
        }
        for h in self.keywords.find(&tokenize(text)) {
            let cue = format!("kw: {}", self.keywords.pattern(h.pattern).source);
            match kw.iter_mut().find(|(t, _)| *t == h.owner) {
                Some((_, cues)) => {
                    if !cues.contains(&cue) {
                        cues.push(cue)
                    }
                }
                None => kw.push((h.owner, vec![cue])),
            }
        }
        kw
    }
}

/// Embeddings of every utterance with its context (the interviewer's question and the previous
/// sentence of the same participant in the same source).
fn contextual_vectors(
    e: &e5::Embedder,
    us: &[Utterance],
    weight: f32,
) -> Result<Vec<Vec<f32>>, String> {
    let mut texts: Vec<&str> = us.iter().map(|u| u.text.as_str()).collect();
    let mut qidx: HashMap<&str, usize> = HashMap::new();
    for u in us {
        if let Some(q) = &u.question {
            if !qidx.contains_key(q.as_str()) {
                qidx.insert(q.as_str(), texts.len());
                texts.push(q.as_str());
            }
        }
    }
    let vecs = cached_embed(e, &texts)?;
    Ok(us
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let mut ctx: Vec<&[f32]> = Vec::new();
            if let Some(q) = &u.question {
                ctx.push(&vecs[qidx[q.as_str()]]);
            }
            if i > 0 && us[i - 1].source == u.source && us[i - 1].participant == u.participant {
                ctx.push(&vecs[i - 1]);
            }
            embed::with_context(&vecs[i], &ctx, weight)
        })
        .collect())
}

/// The codebook's pain lean of each sentence ([`embed::Classifier::pain_lean`] of the sentence
/// with its turn, from its [`learn::utterance_features`]) taken with the talk around it
/// ([`in_context`]): what flags pain without examples, and a feature of the learned pain model
/// with them, so both read it the same way. `None` when the codebook lacks problem themes or
/// other themes.
pub fn pain_leans<X: AsRef<[f32]>, U: std::borrow::Borrow<Utterance>>(
    c: &embed::Classifier,
    features: &[X],
    utterances: &[U],
) -> Option<Vec<f32>> {
    let own: Vec<f32> = features
        .iter()
        .map(|x| c.pain_lean(&learn::sentence_with_turn(x.as_ref())))
        .collect::<Option<_>>()?;
    Some(in_context(&own, utterances))
}

/// How many of a speaker's sentences on each side of a sentence [`in_context`] looks at.
pub const NEIGHBOURS: usize = 2;

/// Each sentence's pain score taken with the talk around it: the mean of its own score and the
/// mean score of the same participant's sentences in the same transcript, up to [`NEIGHBOURS`]
/// on each side of it (itself included). Trouble is a stretch of talk, not one sentence: on
/// serdif-dev a sentence's turn gives its researcher's pain code 96 times in 100, and "Okay."
/// or "So I click here." beside "I still don't know what it means" belong to the same
/// struggle. `values[i]` belongs to `utterances[i]` (in transcript order). Measured on serdif-dev
/// (BENCHMARKS.md): the codebook's pain lean ([`embed::Classifier::pain_lean`]) ranks pain
/// sentences with AUC 0.782 alone and 0.799 so; pain F1 0.641 → 0.661, better in seven of the
/// nine sessions. The learned pain model gains nothing from its own score taken so (0.682 →
/// 0.680, leave one session out); it has this lean among its features instead
/// ([`learn::Learned::fit`]).
pub fn in_context<U: std::borrow::Borrow<Utterance>>(values: &[f32], utterances: &[U]) -> Vec<f32> {
    // Each speaker's sentences in each transcript, in order.
    let mut runs: std::collections::BTreeMap<(&str, &str), Vec<usize>> = Default::default();
    for (i, u) in utterances.iter().enumerate().take(values.len()) {
        let u = u.borrow();
        runs.entry((u.source.as_str(), u.participant.as_str()))
            .or_default()
            .push(i);
    }
    let mut out = values.to_vec();
    for run in runs.values() {
        for (k, &i) in run.iter().enumerate() {
            let around = &run[k.saturating_sub(NEIGHBOURS)..(k + NEIGHBOURS + 1).min(run.len())];
            let mean = around.iter().map(|&j| values[j]).sum::<f32>() / around.len() as f32;
            out[i] = (values[i] + mean) / 2.0;
        }
    }
    out
}

/// Where sentence embeddings are cached: in the transcript cache (`sowhat cache clear` deletes
/// them too; they are derived from personal data).
fn embedding_cache_path() -> PathBuf {
    crate::cache::dir().join("e5-small-embeddings-v1.bin")
}

/// The embedding cache of this process: the cache file's records, read once.
struct Store {
    path: PathBuf,
    vectors: HashMap<[u8; 32], Vec<f32>>,
}

impl Store {
    /// Reads the cache file. A file cut off mid-record (a run killed while appending) keeps
    /// its whole records; a missing or unreadable one is an empty cache.
    fn load(path: PathBuf) -> Store {
        let record = 32 + 4 * e5::DIM;
        let bytes = std::fs::read(&path).unwrap_or_default();
        let vectors = bytes
            .chunks_exact(record)
            .map(|r| {
                let key: [u8; 32] = r[..32].try_into().unwrap();
                let v = r[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                (key, v)
            })
            .collect();
        Store { path, vectors }
    }

    /// Appends new records to the file, after truncating any partial record at its end. A cache
    /// that cannot be written only costs time on the next run.
    fn append(&self, fresh: &[([u8; 32], Vec<f32>)]) {
        use std::io::Write;
        let record = (32 + 4 * e5::DIM) as u64;
        let mut bytes = Vec::with_capacity(fresh.len() * record as usize);
        for (k, v) in fresh {
            bytes.extend_from_slice(k);
            for x in v {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path);
        if let Ok(mut f) = file {
            if let Ok(len) = f.metadata().map(|m| m.len()) {
                if len % record != 0 {
                    let _ = f.set_len(len - len % record);
                }
            }
            let _ = f.write_all(&bytes);
        }
    }
}

static STORE: std::sync::Mutex<Option<Store>> = std::sync::Mutex::new(None);

/// Embeds texts, reusing vectors cached by text hash so reruns are instant. The cache is one
/// file of (sha256(text), 384 × f32) records, read once per process and appended to as it
/// grows.
pub fn cached_embed(e: &e5::Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
    let path = embedding_cache_path();
    let mut guard = STORE.lock().unwrap_or_else(|p| p.into_inner());
    if guard.as_ref().is_none_or(|s| s.path != path) {
        *guard = Some(Store::load(path));
    }
    let store = guard.as_mut().expect("loaded above");
    let key = |t: &str| -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(t.as_bytes()).into()
    };
    let keys: Vec<[u8; 32]> = texts.iter().map(|t| key(t)).collect();
    let mut missing: Vec<usize> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, k) in keys.iter().enumerate() {
        if !store.vectors.contains_key(k) && seen.insert(*k) {
            missing.push(i);
        }
    }
    if !missing.is_empty() {
        let m: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
        let fresh: Vec<([u8; 32], Vec<f32>)> =
            missing.iter().map(|&i| keys[i]).zip(e.embed(&m)?).collect();
        store.append(&fresh);
        store.vectors.extend(fresh);
    }
    Ok(keys.iter().map(|k| store.vectors[k].clone()).collect())
}

/// The default codebook and the pain cues on 40 sentences, 10 per language (EN, LT, PL, RU):
/// the theme its keywords must find, and the severity the cues must give (negation, glued
/// Lithuanian negation, fixed negative phrases, positive phrases, downgraders, severity 4).
#[cfg(test)]
mod tests {
    /// The talk around a sentence is its own speaker's sentences in its own transcript: the
    /// interviewer, another participant and another interview do not count.
    #[test]
    fn a_lean_is_taken_with_the_same_speakers_neighbours() {
        use crate::types::Utterance;
        let u = |p: &str, s: &str| Utterance::said(p, s, "x");
        let us = [
            u("P1", "a"), // 0
            u("P2", "a"), // 1: another speaker between P1's sentences
            u("P1", "a"), // 2
            u("P1", "a"), // 3
            u("P1", "a"), // 4
            u("P1", "a"), // 5: three of P1's sentences after 0
            u("P1", "b"), // 6: another interview
        ];
        let v = [1.0, -9.0, 0.0, 0.0, 0.0, -1.0, 5.0];
        let out = super::in_context(&v, &us);
        // 0: itself and P1's next two sentences (2, 3): (1 + 1/3) / 2.
        assert!((out[0] - 2.0 / 3.0).abs() < 1e-6, "{out:?}");
        assert_eq!(out[1], -9.0);
        // 5: itself and P1's two sentences before it (3, 4): (-1 + -1/3) / 2.
        assert!((out[5] + 2.0 / 3.0).abs() < 1e-6, "{out:?}");
        assert_eq!(out[6], 5.0);
    }

    #[test]
    fn embedding_cache_keeps_the_whole_records_of_a_cut_off_file() {
        use super::{e5, Store};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.bin");
        let v = |x: f32| vec![x; e5::DIM];
        let empty = Store::load(path.clone());
        assert!(empty.vectors.is_empty());
        empty.append(&[([1; 32], v(1.0)), ([2; 32], v(2.0))]);
        // Cut the file mid-record, as a run killed while appending would.
        let len = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 100).unwrap();
        let s = Store::load(path.clone());
        assert_eq!(s.vectors.len(), 1);
        assert_eq!(s.vectors[&[1; 32]], v(1.0));
        // The partial record goes before new ones are appended.
        s.append(&[([3; 32], v(3.0))]);
        let s = Store::load(path);
        assert_eq!(s.vectors.len(), 2);
        assert_eq!(s.vectors[&[3; 32]], v(3.0));
    }
}

#[cfg(test)]
mod multilingual_checks {
    use crate::codebook::default_codebook;
    use crate::tag::keyword::{tokenize, Matcher};
    use crate::tag::pain::Lexicon;

    const CASES: &[(&str, &str, u8)] = &[
        (
            "The delivery was not slow at all, it came the next day.",
            "delivery",
            0,
        ),
        (
            "I waited three weeks for my parcel and nobody told me anything.",
            "delivery",
            3,
        ),
        ("They charged me twice for the same invoice.", "billing", 3),
        (
            "I was on hold for forty minutes before an agent picked up.",
            "support",
            3,
        ),
        (
            "The app just doesn't work since the last update.",
            "usability",
            3,
        ),
        (
            "No, it wasn't cheap, but the delivery was slow.",
            "delivery",
            2,
        ),
        (
            "If this happens again I'll cancel my subscription and switch to another provider.",
            "contracts",
            4,
        ),
        (
            "The font on the website is a bit small, but it's a minor thing.",
            "usability",
            1,
        ),
        ("The staff in the store were really rude to me.", "staff", 3),
        (
            "It would be great if I could choose a delivery slot.",
            "wishes",
            0,
        ),
        (
            "Pristatymas nebuvo lėtas, siuntinį gavau kitą dieną.",
            "delivery",
            0,
        ),
        (
            "Niekada nepavyksta prisijungti prie programėlės.",
            "usability",
            3,
        ),
        (
            "Sąskaitoje buvo klaida, nuskaičiavo du kartus.",
            "billing",
            3,
        ),
        (
            "Skambinau į klientų aptarnavimo centrą, bet niekas neatsiliepė.",
            "support",
            3,
        ),
        (
            "Jei kainos vėl pakils, pereisiu pas konkurentus.",
            "price",
            4,
        ),
        ("Jokių problemų su grąžinimu nebuvo.", "returns", 0),
        ("Darbuotoja buvo labai nemandagi.", "staff", 3),
        (
            "Svetainėje šiek tiek sunku rasti kontaktus.",
            "usability",
            1,
        ),
        (
            "Būtų gerai, jei galėčiau pasirinkti pristatymo laiką.",
            "wishes",
            0,
        ),
        ("Labai patiko, kad kurjeris atvežė laiku.", "praise", 0),
        (
            "Dostawa wcale nie była powolna, paczka przyszła następnego dnia.",
            "delivery",
            0,
        ),
        (
            "Aplikacja w ogóle nie działa po aktualizacji.",
            "usability",
            3,
        ),
        ("Pobrali dwa razy za tę samą fakturę.", "billing", 3),
        (
            "Na infolinii czekałem godzinę i nikt nie odebrał.",
            "support",
            3,
        ),
        (
            "Jeśli jeszcze raz podniosą cenę, przejdę do konkurencji.",
            "price",
            4,
        ),
        ("Nie było żadnych problemów ze zwrotem.", "returns", 0),
        ("Pracownik był bardzo niegrzeczny i opryskliwy.", "staff", 3),
        (
            "Na stronie internetowej trochę trudno znaleźć kontakt.",
            "usability",
            1,
        ),
        ("Przydałaby się opcja wyboru godziny dostawy.", "wishes", 0),
        ("Obsługa była świetna, naprawdę polecam.", "praise", 0),
        (
            "Доставка была совсем не медленной, посылку привезли на следующий день.",
            "delivery",
            0,
        ),
        (
            "Ничего не работает, приложение просто зависает.",
            "usability",
            3,
        ),
        ("С карты дважды списали деньги за один счёт.", "billing", 3),
        (
            "В поддержку невозможно дозвониться, никто не отвечает.",
            "support",
            3,
        ),
        (
            "Если тариф снова подорожает, я перейду к другому оператору.",
            "price",
            4,
        ),
        ("С возвратом не было никаких проблем.", "returns", 0),
        ("Продавец мне нахамил.", "staff", 3),
        ("На сайте немного сложно найти контакты.", "usability", 1),
        ("Хотелось бы самому выбирать время доставки.", "wishes", 0),
        ("Курьер приехал вовремя, всё отлично.", "praise", 0),
    ];

    #[test]
    fn default_codebook_and_cues_in_four_languages() {
        let c = default_codebook();
        let mut m = Matcher::default();
        for (i, t) in c.themes.iter().enumerate() {
            for k in &t.keywords {
                m.add(k, i);
            }
        }
        let lex = Lexicon::builtin();
        let mut failures = Vec::new();
        for (text, theme, severity) in CASES {
            let themes: Vec<&str> = m
                .find(&tokenize(text))
                .iter()
                .map(|h| c.themes[h.owner].id.as_str())
                .collect();
            if !themes.contains(theme) {
                failures.push(format!("{text}: expected theme {theme}, got {themes:?}"));
            }
            let a = lex.assess(text);
            if a.severity != *severity {
                failures.push(format!(
                    "{text}: expected severity {severity}, got {} ({:?})",
                    a.severity, a.cues
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} checks failed:\n{}",
            failures.len(),
            CASES.len(),
            failures.join("\n")
        );
    }
}
