//! `sowhat eval`: how well the tagger agrees with a researcher's coding.
//!
//! Scoring as `../shared/eval/README.md` defines it, on coded quotes (JSONL lines with
//! `participant`, `quote`, `tag`, `kind`):
//! - **pain**: a quote is pain when any of its codes has kind `pain`; precision, recall and F1
//!   of sowhat's pain flag (the sentence's severity ≥ 1, from cues, the lean towards the pain
//!   themes by meaning or the learned pain model) on the participant sentences that make up
//!   each quote;
//! - **themes**: accuracy = the quote's top theme (highest-scored mention among its sentences)
//!   is one of its codes; coverage = share of quotes with any theme; macro-F1 over codes, and
//!   each code's own precision, recall and F1 (printed for the last, most informed row, worst
//!   first: where to add keywords, examples or coded quotes);
//! - **whole sessions**: the share of *all* participant sentences flagged pain and given a
//!   theme, next to the researcher's own shares (sentences in a pain quote, in any quote): a
//!   tagger can score well on coded quotes and still flood a brief with pain.
//!
//! Rows: keyword only, embedding only, combined, and — with `--examples` or
//! `--cross-validate` — learned from coded quotes of *other* sessions only. When the
//! codebook's example sentences are among the coded quotes (researchers take them from their
//! own data), the embedding rows are also scored without those quotes, which a prototype
//! matches word for word: what to expect on sessions the codebook has not seen.

use crate::analyze::{self, load_codebook, load_embedder};
use crate::cli::EvalArgs;
use crate::codebook::Codebook;
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::tag::keyword::fold;
use crate::tag::learn::{self, merge, theme_of, Code, Coded, Example, QuoteFinder};
use crate::tag::{e5, Mode, Tagger};
use crate::types::{Mention, Utterance};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A coded quote of the gold file, with its codebook themes; its participant is always set.
pub type GoldQuote = Coded;

/// Scores of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub name: String,
    pub pain_precision: f64,
    pub pain_recall: f64,
    pub pain_f1: f64,
    pub theme_accuracy: f64,
    pub theme_coverage: f64,
    pub theme_macro_f1: f64,
    pub quotes: usize,
    pub sentences: usize,
    /// Share of *all* participant sentences flagged pain (coded or not): what a brief sees.
    pub all_pain_share: f64,
    /// Share of all participant sentences with a theme.
    pub all_coverage: f64,
    pub seconds: f64,
    /// Per code of the codebook the coded quotes use: how this configuration did on it.
    pub codes: Vec<CodeScore>,
}

/// One code's figures: of the quotes coded with it, how many got it as their top theme
/// (recall), and of the quotes given it, how many carry it (precision).
#[derive(Debug, Clone, Serialize)]
pub struct CodeScore {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// Coded quotes carrying this code.
    pub quotes: usize,
    /// Quotes whose top theme is this code.
    pub given: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

pub fn run(a: EvalArgs) -> i32 {
    match evaluate(&a) {
        Ok(Evaluation {
            rows,
            coded_pain,
            coded_any,
        }) => {
            println!("| configuration | pain P | pain R | pain F1 | theme acc. | coverage | macro-F1 | pain, all sent. | themed, all sent. | time |");
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for r in &rows {
                println!(
                    "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} s |",
                    r.name,
                    r.pain_precision,
                    r.pain_recall,
                    r.pain_f1,
                    r.theme_accuracy,
                    r.theme_coverage,
                    r.theme_macro_f1,
                    r.all_pain_share,
                    r.all_coverage,
                    r.seconds
                );
            }
            if let Some(q) = rows.first() {
                println!(
                    "\n{} coded quotes, {} participant sentences in them.",
                    q.quotes, q.sentences
                );
                println!(
                    "Of all participant sentences, the researcher coded {coded_pain:.2} as pain and {coded_any:.2} with any code."
                );
            }
            // Where the last configuration (the most informed one) agrees with the researcher
            // and where it does not, code by code, worst first.
            if let Some(last) = rows.last() {
                println!("\nBy code, {}:\n", last.name);
                println!("| code | kind | coded quotes | given | precision | recall | F1 |");
                println!("|---|---|---:|---:|---:|---:|---:|");
                let mut codes: Vec<&CodeScore> = last.codes.iter().collect();
                codes.sort_by(|a, b| a.f1.total_cmp(&b.f1).then(b.quotes.cmp(&a.quotes)));
                for c in codes {
                    println!(
                        "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} |",
                        c.name, c.kind, c.quotes, c.given, c.precision, c.recall, c.f1
                    );
                }
            }
            if let Some(p) = &a.json {
                let json = serde_json::to_string_pretty(&rows).unwrap();
                if let Err(e) = crate::fsutil::write_atomic(p, json.as_bytes()) {
                    eprintln!("error: {e}");
                    return EXIT_FAILED;
                }
            }
            EXIT_OK
        }
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            code
        }
    }
}

/// The rows of the table, and the shares of all participant sentences the researcher coded as
/// pain and with any code (what the "all sentences" columns compare with).
struct Evaluation {
    rows: Vec<Scores>,
    coded_pain: f64,
    coded_any: f64,
}

fn evaluate(a: &EvalArgs) -> Result<Evaluation, (i32, String)> {
    let codebook =
        load_codebook(a.codebook.as_deref()).map_err(|e| (EXIT_FAILED, e.to_string()))?;
    let gold_text = std::fs::read_to_string(&a.gold).map_err(|e| {
        (
            EXIT_FAILED,
            format!("{}: cannot read: {e}", a.gold.display()),
        )
    })?;
    let gold = read_gold(&gold_text, &codebook)
        .map_err(|e| (EXIT_FAILED, format!("{}: {e}", a.gold.display())))?;
    let mut paths = Vec::new();
    for p in &a.inputs {
        if p.is_dir() {
            let mut v: Vec<_> = std::fs::read_dir(p)
                .map_err(|e| (EXIT_FAILED, format!("{}: {e}", p.display())))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| crate::transcript::read::is_transcript_path(p))
                .collect();
            v.sort();
            paths.extend(v);
        } else {
            paths.push(p.clone());
        }
    }
    let mut transcripts = Vec::new();
    for p in &paths {
        transcripts
            .push(crate::transcript::read::read_file(p).map_err(|e| (EXIT_FAILED, e.to_string()))?);
    }
    let prepared = analyze::prepare(transcripts, &BTreeMap::new(), None);
    let utterances: Vec<Utterance> = prepared
        .iter()
        .flat_map(|p| crate::sentences::utterances(&p.transcript))
        .collect();
    let index = match_quotes(&gold, &utterances);
    // Coded quotes that hold one of the codebook's own example sentences: a prototype matches
    // them word for word, so the codebook rows are also scored without them.
    let held_out: (Vec<GoldQuote>, Vec<Vec<usize>>) = {
        let finder = QuoteFinder::new(&utterances);
        let examples: BTreeSet<usize> = codebook
            .themes
            .iter()
            .flat_map(|t| &t.examples)
            .flat_map(|e| finder.find(None, e))
            .collect();
        gold.iter()
            .zip(&index)
            .filter(|(_, hits)| !hits.iter().any(|i| examples.contains(i)))
            .map(|(g, hits)| (g.clone(), hits.clone()))
            .unzip()
    };
    // The researcher's own rates over all sentences of the coded sessions.
    let (coded_pain, coded_any) = {
        let sessions: BTreeSet<&str> = gold
            .iter()
            .filter_map(|g| g.participant.as_deref())
            .collect();
        let (mut pain, mut any) = (BTreeSet::new(), BTreeSet::new());
        for (g, hits) in gold.iter().zip(&index) {
            any.extend(hits.iter().copied());
            if g.pain {
                pain.extend(hits.iter().copied());
            }
        }
        let n = utterances
            .iter()
            .filter(|u| sessions.contains(u.participant.as_str()))
            .count()
            .max(1) as f64;
        (pain.len() as f64 / n, any.len() as f64 / n)
    };

    let modes: Vec<&str> = match a.mode.as_str() {
        "all" => vec!["keyword", "embedding", "combined"],
        "keyword" | "embedding" | "combined" => vec![a.mode.as_str()],
        other => {
            return Err((
                EXIT_USAGE,
                format!("--mode {other}: use keyword, embedding, combined or all"),
            ))
        }
    };
    let need_embedder =
        modes.iter().any(|m| *m != "keyword") || a.examples.is_some() || a.cross_validate;
    let embedder = if need_embedder {
        Some(load_embedder().map_err(|e| (EXIT_FAILED, e.to_string()))?)
    } else {
        None
    };
    let mut rows = Vec::new();
    for m in modes {
        let mode = match m {
            "keyword" => Mode::KeywordOnly,
            "embedding" => Mode::EmbeddingOnly,
            _ => Mode::Combined,
        };
        let started = std::time::Instant::now();
        let tagger =
            Tagger::new(&codebook, embedder.as_ref(), &[], mode).map_err(|e| (EXIT_FAILED, e))?;
        let tagged = tagger.tag(&utterances).map_err(|e| (EXIT_FAILED, e))?;
        let pain: Vec<bool> = tagged.pain.iter().map(|&s| s >= 1).collect();
        let name = match m {
            "keyword" => "keywords only",
            "embedding" => "embedding only",
            _ => "keywords + embedding (codebook)",
        };
        let seconds = started.elapsed().as_secs_f64();
        let mut scored = |name: &str, gold: &[GoldQuote], index: &[Vec<usize>]| {
            rows.push(score(
                name,
                gold,
                index,
                &utterances,
                &tagged.mentions,
                &pain,
                tagged.untagged.len(),
                &codebook,
                seconds,
            ))
        };
        scored(name, &gold, &index);
        let (g, i) = &held_out;
        if mode != Mode::KeywordOnly && g.len() < gold.len() {
            let n = gold.len() - g.len();
            scored(
                &format!("{name}, without the {n} quotes holding codebook examples"),
                g,
                i,
            );
        }
    }
    if let Some(e) = embedder.as_ref() {
        if let Some(p) = &a.examples {
            let examples = learn::read_examples(p)
                .map_err(|why| (EXIT_FAILED, format!("{}: {why}", p.display())))?;
            // Codes of another codebook: say so about the file, before any fold is fitted.
            let coded = learn::resolve(&codebook, &examples.quotes)
                .map_err(|why| (EXIT_FAILED, format!("{}: {why}", p.display())))?;
            let found = crate::examples::coded_sessions(
                p,
                &examples,
                &a.examples_transcripts,
                &coded,
                &utterances,
                &BTreeMap::new(),
            )
            .map_err(|e| (EXIT_FAILED, e.to_string()))?;
            eprintln!("{}", found.describe());
            let started = std::time::Instant::now();
            let row = learned_row(
                "learned from --examples (other sessions only)",
                &codebook,
                e,
                &coded,
                &found.utterances,
                &gold,
                &index,
                &utterances,
                started,
            )?;
            rows.push(row);
        }
        if a.cross_validate {
            let examples: Vec<Example> = gold_examples(&gold_text);
            let coded = learn::resolve(&codebook, &examples).map_err(|e| (EXIT_FAILED, e))?;
            let started = std::time::Instant::now();
            rows.push(learned_row(
                "learned from coded quotes (leave one session out)",
                &codebook,
                e,
                &coded,
                &[],
                &gold,
                &index,
                &utterances,
                started,
            )?);
        }
    }
    Ok(Evaluation {
        rows,
        coded_pain,
        coded_any,
    })
}

/// Tags each session with a tagger that learned only from the coded quotes of other sessions
/// (found in the other sessions' sentences, or in `context`, the coded interviews that are not
/// scored, for their question and turn: quotes are matched by participant).
#[allow(clippy::too_many_arguments)]
fn learned_row(
    name: &str,
    codebook: &Codebook,
    e: &e5::Embedder,
    coded: &[Coded],
    context: &[Utterance],
    gold: &[GoldQuote],
    index: &[Vec<usize>],
    utterances: &[Utterance],
    started: std::time::Instant,
) -> Result<Scores, (i32, String)> {
    let sessions: BTreeSet<&str> = utterances.iter().map(|u| u.participant.as_str()).collect();
    let study: Vec<Utterance> = utterances.iter().chain(context).cloned().collect();
    let mut mentions = Vec::new();
    let mut pain = vec![false; utterances.len()];
    let mut untagged = 0;
    // The scored session each coded quote comes from: where it is found (in the scored
    // transcripts or the coded interviews beside them), else its participant id. A quote found in
    // another study's interview of a "P1" does not leave this study's P1 out.
    let owner: Vec<Option<&str>> = coded
        .iter()
        .zip(QuoteFinder::new(&study).find_coded(coded))
        .map(|(q, hits)| match hits.first() {
            Some(&i) if i < utterances.len() => Some(utterances[i].participant.as_str()),
            Some(_) => None,
            None => q.participant.as_deref(),
        })
        .collect();
    for s in sessions {
        let train: Vec<Coded> = coded
            .iter()
            .zip(&owner)
            .filter(|(_, o)| **o != Some(s))
            .map(|(x, _)| x.clone())
            .collect();
        let mut tagger = Tagger::with_coded(codebook, Some(e), train, Mode::Combined)
            .map_err(|e| (EXIT_FAILED, e))?;
        tagger.learn(&study).map_err(|e| (EXIT_FAILED, e))?;
        let mine: Vec<usize> = (0..utterances.len())
            .filter(|&i| utterances[i].participant == s)
            .collect();
        let session: Vec<Utterance> = mine.iter().map(|&i| utterances[i].clone()).collect();
        let tagged = tagger.tag(&session).map_err(|e| (EXIT_FAILED, e))?;
        for (&i, &severity) in mine.iter().zip(&tagged.pain) {
            pain[i] = severity >= 1;
        }
        mentions.extend(tagged.mentions);
        untagged += tagged.untagged.len();
    }
    Ok(score(
        name,
        gold,
        index,
        utterances,
        &mentions,
        &pain,
        untagged,
        codebook,
        started.elapsed().as_secs_f64(),
    ))
}

fn gold_examples(text: &str) -> Vec<Example> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some(Example {
                text: v.get("quote")?.as_str()?.to_string(),
                code: v.get("tag")?.as_str()?.to_string(),
                participant: v
                    .get("participant")
                    .and_then(|p| p.as_str())
                    .map(String::from),
            })
        })
        .collect()
}

/// Reads gold quotes, merging lines of the same quote (one line per code). A quote is pain when
/// any of its lines has kind `pain` (`../shared/eval/README.md`).
pub fn read_gold(text: &str, codebook: &Codebook) -> Result<Vec<GoldQuote>, String> {
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
        let (Some(p), Some(q), Some(tag)) = (field("participant"), field("quote"), field("tag"))
        else {
            return Err(format!("line {}: needs participant, quote and tag", i + 1));
        };
        let theme = theme_of(codebook, &tag)
            .ok_or_else(|| format!("line {}: code {tag:?} is not in the codebook", i + 1))?;
        lines.push((p, q, theme, field("kind").as_deref() == Some("pain")));
    }
    Ok(merge(lines.iter().map(|(p, q, theme, pain)| Code {
        participant: Some(p),
        text: q,
        theme: *theme,
        pain: *pain,
    })))
}

/// For each gold quote, the utterances (same participant) that make it up: each sentence of the
/// quote is matched to the participant's sentence with the largest word overlap (≥ 0.5), as
/// the learner finds coded examples ([`QuoteFinder`]).
pub fn match_quotes(gold: &[GoldQuote], us: &[Utterance]) -> Vec<Vec<usize>> {
    let finder = QuoteFinder::new(us);
    gold.iter()
        .map(|g| finder.find(g.participant.as_deref(), &g.text))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn score(
    name: &str,
    gold: &[GoldQuote],
    index: &[Vec<usize>],
    us: &[Utterance],
    mentions: &[Mention],
    pain: &[bool],
    untagged: usize,
    codebook: &Codebook,
    seconds: f64,
) -> Scores {
    // Mentions and pain flags by utterance (source + text + start identifies it: a sentence
    // said twice in a transcript without times counts once).
    let key = |source: &str, text: &str, start: Option<f64>| {
        format!("{source}\u{1}{}\u{1}{:?}", fold(text), start)
    };
    let mut pain_of: HashMap<String, bool> = HashMap::new();
    for (u, &p) in us.iter().zip(pain) {
        *pain_of.entry(key(&u.source, &u.text, u.start)).or_default() |= p;
    }
    let mut by_utt: HashMap<String, Vec<&Mention>> = HashMap::new();
    for m in mentions {
        by_utt
            .entry(key(&m.source, &m.text, m.start))
            .or_default()
            .push(m);
    }
    let theme_index: HashMap<&str, usize> = codebook
        .themes
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut sentences = 0usize;
    let mut correct = 0usize;
    let mut covered = 0usize;
    let mut quotes = 0usize;
    let k = codebook.themes.len();
    let (mut ctp, mut cfp, mut cfn) = (vec![0usize; k], vec![0usize; k], vec![0usize; k]);
    let mut support = vec![0usize; k];
    for (g, hits) in gold.iter().zip(index) {
        if hits.is_empty() {
            continue;
        }
        quotes += 1;
        for &c in &g.themes {
            support[c] += 1;
        }
        let mut best: Option<(&Mention, usize)> = None;
        for &i in hits {
            let u = &us[i];
            sentences += 1;
            let k = key(&u.source, &u.text, u.start);
            let ms = by_utt.get(&k).cloned().unwrap_or_default();
            match (pain_of[&k], g.pain) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
            for m in ms {
                if let Some(&t) = theme_index.get(m.theme.as_str()) {
                    if best.map(|(b, _)| m.score > b.score).unwrap_or(true) {
                        best = Some((m, t));
                    }
                }
            }
        }
        match best {
            Some((_, t)) => {
                covered += 1;
                if g.themes.contains(&t) {
                    correct += 1;
                    ctp[t] += 1;
                } else {
                    cfp[t] += 1;
                    for &c in &g.themes {
                        cfn[c] += 1;
                    }
                }
            }
            None => {
                for &c in &g.themes {
                    cfn[c] += 1;
                }
            }
        }
    }
    let f1 = |tp: usize, fp: usize, fn_: usize| {
        let p = if tp + fp == 0 {
            0.0
        } else {
            tp as f64 / (tp + fp) as f64
        };
        let r = if tp + fn_ == 0 {
            0.0
        } else {
            tp as f64 / (tp + fn_) as f64
        };
        let f = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f)
    };
    let (pp, pr, pf) = f1(tp, fp, fn_);
    let present: Vec<usize> = (0..k)
        .filter(|&c| gold.iter().any(|g| g.themes.contains(&c)))
        .collect();
    let codes: Vec<CodeScore> = present
        .iter()
        .map(|&c| {
            let (precision, recall, f1) = f1(ctp[c], cfp[c], cfn[c]);
            let t = &codebook.themes[c];
            CodeScore {
                id: t.id.clone(),
                name: t.name.clone(),
                kind: t.kind.as_str().to_string(),
                quotes: support[c],
                given: ctp[c] + cfp[c],
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let macro_f1 = codes.iter().map(|c| c.f1).sum::<f64>() / codes.len().max(1) as f64;
    Scores {
        name: name.to_string(),
        pain_precision: pp,
        pain_recall: pr,
        pain_f1: pf,
        theme_accuracy: correct as f64 / quotes.max(1) as f64,
        theme_coverage: covered as f64 / quotes.max(1) as f64,
        theme_macro_f1: macro_f1,
        quotes,
        sentences,
        all_pain_share: pain.iter().filter(|&&p| p).count() as f64 / us.len().max(1) as f64,
        all_coverage: 1.0 - untagged as f64 / us.len().max(1) as f64,
        seconds,
        codes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Method, ThemeKind};

    fn utterance(text: &str) -> Utterance {
        Utterance::said("P1", "p1.txt", text)
    }

    fn mention(text: &str, theme: &str, kind: ThemeKind) -> Mention {
        Mention {
            participant: "P1".into(),
            source: "p1.txt".into(),
            text: text.into(),
            start: None,
            end: None,
            theme: theme.into(),
            kind,
            score: 0.5,
            method: Method::Embedding,
            pain: 0,
            cues: Vec::new(),
        }
    }

    /// Three quotes: one right, one given the wrong code, one given none. Each code's figures
    /// count its own quotes, and macro-F1 is their mean.
    #[test]
    fn each_code_gets_its_own_precision_and_recall() {
        let codebook = crate::codebook::parse(
            r#"
[codebook]
name = "t"
[[theme]]
id = "slow"
name = "Slow"
kind = "pain"
description = "It is slow."
[[theme]]
id = "fast"
name = "Fast"
kind = "delight"
description = "It is fast."
"#,
        )
        .unwrap();
        let us = vec![
            utterance("It took ages."),
            utterance("It was quick, I guess."),
            utterance("Hmm."),
        ];
        let mentions = vec![
            mention("It took ages.", "slow", ThemeKind::Pain),
            mention("It was quick, I guess.", "slow", ThemeKind::Pain),
        ];
        let gold = |text: &str, theme: usize| GoldQuote {
            text: text.into(),
            participant: Some("P1".into()),
            themes: [theme].into_iter().collect(),
            pain: theme == 0,
        };
        let gold = vec![
            gold("It took ages.", 0),
            gold("It was quick, I guess.", 1),
            gold("Hmm.", 1),
        ];
        let index = vec![vec![0], vec![1], vec![2]];
        let s = score(
            "t",
            &gold,
            &index,
            &us,
            &mentions,
            &[false; 3],
            1,
            &codebook,
            0.0,
        );
        let code = |id: &str| s.codes.iter().find(|c| c.id == id).unwrap().clone();
        let slow = code("slow");
        assert_eq!((slow.quotes, slow.given), (1, 2));
        assert_eq!((slow.precision, slow.recall), (0.5, 1.0));
        assert_eq!(slow.kind, "pain");
        let fast = code("fast");
        assert_eq!((fast.quotes, fast.given), (2, 0));
        assert_eq!((fast.recall, fast.f1), (0.0, 0.0));
        assert!((s.theme_macro_f1 - (2.0 / 3.0) / 2.0).abs() < 1e-9);
        assert!((s.theme_accuracy - 1.0 / 3.0).abs() < 1e-9);
    }
}
