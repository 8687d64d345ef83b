//! Learning from the researcher's own coding (`--examples FILE`).
//!
//! Researchers code two or three interviews by hand; sowhat codes the rest the way they would.
//! Coded quotes come as JSONL (`{"quote": …, "tag": …}` like `serdif-dev/gold.jsonl`), a CSV
//! quote table, or the codings inside a REFI-QDA `.qdpx` (NVivo, ATLAS.ti, MAXQDA, QualCoder).
//! Codes are matched to codebook themes by id or by name (case and accents ignored).
//!
//! The model is a distance-weighted k-nearest-neighbour vote over the examples' embeddings:
//! simple, needs no training, explains itself (the nearest coded quotes), and gets better with
//! every quote the researcher codes.

use super::e5::{cosine, Embedder};
use super::keyword::fold;
use crate::codebook::Codebook;
use std::path::Path;

/// One coded quote.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    /// The code as the researcher named it.
    pub code: String,
    pub participant: Option<String>,
}

/// Neighbours consulted.
const K: usize = 9;
/// Softness of the distance weighting (cosine units).
const TAU: f32 = 0.02;
/// The winning theme needs at least this share of the neighbours' weight.
const MIN_SHARE: f32 = 0.3;

pub struct Learned {
    vectors: Vec<Vec<f32>>,
    theme: Vec<usize>,
    themes: usize,
}

impl Learned {
    pub fn new(codebook: &Codebook, examples: &[Example], e: &Embedder) -> Result<Learned, String> {
        let mut texts = Vec::new();
        let mut theme = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        for ex in examples {
            match theme_of(codebook, &ex.code) {
                Some(t) => {
                    texts.push(ex.text.as_str());
                    theme.push(t);
                }
                None => {
                    if !unknown.contains(&ex.code) {
                        unknown.push(ex.code.clone());
                    }
                }
            }
        }
        if texts.is_empty() {
            return Err(format!(
                "none of the example codes match a codebook theme (codes: {}); pass the codebook they were coded with (--codebook FILE)",
                unknown.join(", ")
            ));
        }
        let vectors = super::cached_embed(e, &texts)?;
        Ok(Learned {
            vectors,
            theme,
            themes: codebook.themes.len(),
        })
    }

    /// The theme the nearest coded quotes vote for, with its share of the vote.
    pub fn classify(&self, v: &[f32]) -> Option<(usize, f32)> {
        let mut sims: Vec<(f32, usize)> = self
            .vectors
            .iter()
            .zip(&self.theme)
            .map(|(x, &t)| (cosine(v, x), t))
            .collect();
        sims.sort_by(|a, b| b.0.total_cmp(&a.0));
        sims.truncate(K);
        let best = sims.first()?.0;
        let mut votes = vec![0f32; self.themes];
        for (s, t) in &sims {
            votes[*t] += ((s - best) / TAU).exp();
        }
        let total: f32 = votes.iter().sum();
        let (t, w) = votes
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))?;
        let share = w / total;
        (share >= MIN_SHARE).then_some((t, share))
    }
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

/// Reads coded quotes from JSONL, CSV or a REFI-QDA `.qdpx`, by extension.
pub fn read_examples(path: &Path) -> Result<Vec<Example>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "qdpx" => Ok(crate::report::qdpx::read_codings(&bytes)?
            .into_iter()
            .map(|c| Example {
                text: c.text,
                code: c.code,
                participant: c.participant,
            })
            .collect()),
        "csv" | "tsv" => Ok(crate::report::csv::read_quote_table(&bytes)?
            .into_iter()
            .map(|c| Example {
                text: c.text,
                code: c.code,
                participant: c.participant,
            })
            .collect()),
        _ => read_jsonl(&bytes),
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

    #[test]
    fn codes_match_themes_by_name_or_id() {
        let c = crate::codebook::parse("[codebook]\nname = \"x\"\n[[theme]]\nid = \"system-issue\"\nname = \"System issue\"\nkind = \"pain\"\ndescription = \"d\"\n").unwrap();
        assert_eq!(theme_of(&c, "System Issue"), Some(0));
        assert_eq!(theme_of(&c, "system-issue"), Some(0));
        assert_eq!(theme_of(&c, "other"), None);
    }
}
