//! Word error rate, for tests, benchmarks and quality reports: the word-level edit distance
//! between a reference and a hypothesis, divided by the reference's length, after the usual
//! normalisation (lower case, punctuation removed, hyphens split, any script).

/// Lower-cases, turns hyphens and slashes into spaces, drops other punctuation, splits on
/// white space.
pub fn normalise(text: &str) -> Vec<String> {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c == '-' || c == '/' || c == '—' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '\'')
        .collect::<String>()
        .to_lowercase();
    cleaned
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate of `hypothesis` against `reference` (0 = perfect; can exceed 1).
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    edit_distance(&r, &h) as f64 / r.len() as f64
}

/// Word errors and reference words, to pool a WER over several files.
pub fn errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    (edit_distance(&r, &h), r.len())
}

fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphens_and_punctuation_do_not_count() {
        assert_eq!(
            wer("the water-level is high", "The water level is high."),
            0.0
        );
    }

    #[test]
    fn basics() {
        assert_eq!(wer("a b c d", "a b c d"), 0.0);
        assert_eq!(wer("a b c d", "a x c d"), 0.25);
        assert_eq!(wer("a b c d", "a b c"), 0.25);
        assert_eq!(wer("a b c d", "a b c d e"), 0.25);
        assert_eq!(
            wer(
                "Mam problem ze zmiękczaczem wody.",
                "mam problem ze zmiękczaczem wody"
            ),
            0.0
        );
    }
}
