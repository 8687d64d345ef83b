//! Keyword matching: the codebook's keywords and the pain cues, in any language.
//!
//! Text and patterns are folded the same way (lower case, diacritics removed, `ł`→`l`,
//! `ё`→`е`, typographic apostrophes straightened) and cut into words, so `Pristatymas`,
//! `pristatymą` and `PRISTATYMAS` all match the pattern `pristat*`. A pattern is one or more
//! words; a word ending in `*` matches any word it begins (a stem); a phrase matches
//! consecutive words; `...` between words lets up to [`MAX_GAP`] other words of the same
//! clause stand there (`списали ... два раза` finds "списали деньги с карты два раза":
//! Lithuanian, Polish and Russian order their words freely). Words are tracked with their
//! clause (punctuation and "but"-like words start a new clause), so negation can be scoped:
//! "not slow at all" negates "slow", while "No, it was slow" does not.

use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// Lower case, no diacritics, straight apostrophes.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        for l in c.to_lowercase() {
            out.push(match l {
                'ł' => 'l',
                'ё' => 'е',
                'đ' => 'd',
                'ø' => 'o',
                'ß' => 's',
                '’' | '‘' | 'ʼ' | '`' | '´' => '\'',
                other => other,
            });
        }
    }
    out
}

/// One word of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Folded word.
    pub word: String,
    /// Byte range in the original text.
    pub range: std::ops::Range<usize>,
    /// Clause number within the text.
    pub clause: usize,
}

/// Words that open a new clause (negation does not reach across them); all of them contrast
/// what follows with what came before.
const CLAUSE_WORDS: &[&str] = &[
    "but",
    "although",
    "though",
    "however",
    "yet",
    "bet",
    "taciau",
    "nors",
    "ale",
    "lecz",
    "jednak",
    "chociaz",
    "но",
    "однако",
    "хотя",
    "зато",
    "а",
];

/// Whether a (folded) word contrasts its clause with the one before: "but", "ale", "но"…
pub fn is_contrast(word: &str) -> bool {
    CLAUSE_WORDS.contains(&word)
}

/// Cuts text into folded words with their byte ranges and clauses.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut clause = 0usize;
    let mut cur: Option<usize> = None;
    let flush = |start: usize, end: usize, clause: &mut usize, out: &mut Vec<Token>| {
        let word = fold(&text[start..end]);
        let word = word.trim_matches('\'').to_string();
        if word.is_empty() {
            return;
        }
        if CLAUSE_WORDS.contains(&word.as_str()) {
            *clause += 1;
        }
        out.push(Token {
            word,
            range: start..end,
            clause: *clause,
        });
    };
    for (i, c) in text.char_indices() {
        let in_word = c.is_alphanumeric()
            || unicode_normalization::char::is_combining_mark(c)
            || ((c == '\'' || c == '’') && cur.is_some());
        match (in_word, cur) {
            (true, None) => cur = Some(i),
            (false, Some(s)) => {
                flush(s, i, &mut clause, &mut out);
                cur = None;
            }
            _ => {}
        }
        if !in_word && matches!(c, ',' | ';' | ':' | '.' | '!' | '?' | '—' | '–' | '(' | ')') {
            clause += 1;
        }
    }
    if let Some(s) = cur {
        flush(s, text.len(), &mut clause, &mut out);
    }
    out
}

/// A compiled keyword pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// As written in the codebook (shown to users as the cue that fired).
    pub source: String,
    /// Runs of consecutive words (folded, with whether each is a stem); between two runs, any
    /// words of the same clause (`...` in the source).
    parts: Vec<Vec<(String, bool)>>,
}

/// The gap marker of a pattern: up to [`MAX_GAP`] words of the same clause.
pub const GAP: &str = "...";
/// The pieces of a pattern between its gaps (`...` or `…`), as written.
pub fn gap_parts(p: &str) -> impl Iterator<Item = &str> {
    p.split(GAP).flat_map(|s| s.split('…'))
}

/// The most words a gap spans: "I had to fill in the same form three times" has five; "I had to
/// click the back button and then open the menu twice" is narration, not one complaint.
pub const MAX_GAP: usize = 5;

impl Pattern {
    pub fn new(p: &str) -> Pattern {
        let parts = gap_parts(p)
            .map(tokenize_pattern)
            .filter(|run| !run.is_empty())
            .collect();
        Pattern {
            source: p.trim().to_string(),
            parts,
        }
    }

    fn first_word(&self) -> Option<&(String, bool)> {
        self.parts.first().and_then(|run| run.first())
    }

    /// Whether `run` matches the tokens starting at `i`.
    fn run_at(run: &[(String, bool)], tokens: &[Token], i: usize) -> bool {
        i + run.len() <= tokens.len()
            && run.iter().zip(&tokens[i..]).all(|((pw, stem), t)| {
                if *stem {
                    t.word.starts_with(pw.as_str())
                } else {
                    t.word == *pw
                }
            })
    }

    /// Where the pattern ends when it starts at token `i`, and the gaps it leaves: its first
    /// run there, each later run after the one before it, at most [`MAX_GAP`] words on, in the
    /// clause of token `i`.
    fn match_at(&self, tokens: &[Token], i: usize) -> Option<(usize, Vec<std::ops::Range<usize>>)> {
        let (first, rest) = self.parts.split_first()?;
        if !Pattern::run_at(first, tokens, i) {
            return None;
        }
        let clause = tokens[i].clause;
        let mut end = i + first.len();
        let mut gaps = Vec::new();
        for run in rest {
            let at = (end..tokens.len())
                .take(MAX_GAP + 1)
                .take_while(|&j| tokens[j].clause == clause)
                .find(|&j| Pattern::run_at(run, tokens, j))?;
            gaps.push(end..at);
            end = at + run.len();
            if tokens[end - 1].clause != clause {
                return None;
            }
        }
        Some((end, gaps))
    }

    /// Token index ranges where the pattern matches.
    pub fn find(&self, tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
        (0..tokens.len())
            .filter_map(|i| self.match_at(tokens, i).map(|(end, _)| i..end))
            .collect()
    }

    /// Whether the pattern has words (a pattern of punctuation alone has none).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

fn tokenize_pattern(p: &str) -> Vec<(String, bool)> {
    // Keep the `*` markers: tokenize each space-separated piece on its own.
    let mut words = Vec::new();
    for piece in p.split_whitespace() {
        let prefix = piece.ends_with('*');
        let piece = piece.trim_end_matches('*');
        let toks = tokenize(piece);
        let last = toks.len().saturating_sub(1);
        for (i, t) in toks.into_iter().enumerate() {
            words.push((t.word, prefix && i == last));
        }
    }
    words
}

/// Many patterns, each with an owner (a theme or a cue), found in one pass over the words.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<(Pattern, usize)>,
    /// First folded word (or its first 3 letters for stems) → patterns to try.
    index: HashMap<String, Vec<usize>>,
    /// Patterns whose first word is a stem shorter than 3 letters are tried everywhere.
    always: Vec<usize>,
}

/// Where a pattern matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub owner: usize,
    pub pattern: usize,
    /// Token index range.
    pub tokens: std::ops::Range<usize>,
    /// The words a gapped pattern (`a ... b`) stepped over, inside `tokens`.
    pub gaps: Vec<std::ops::Range<usize>>,
}

impl Hit {
    /// Whether a range of tokens overlaps the words the pattern matched (not its gaps).
    pub fn overlaps(&self, r: &std::ops::Range<usize>) -> bool {
        r.start < self.tokens.end
            && self.tokens.start < r.end
            && !self
                .gaps
                .iter()
                .any(|g| g.start <= r.start && r.end <= g.end)
    }
}

impl Matcher {
    /// Adds a pattern; false (and nothing added) when it has no words.
    pub fn add(&mut self, pattern: &str, owner: usize) -> bool {
        let p = Pattern::new(pattern);
        let id = self.patterns.len();
        match p.first_word() {
            Some((w, false)) => self.index.entry(w.clone()).or_default().push(id),
            Some((w, true)) if w.chars().count() >= 3 => self
                .index
                .entry(format!("{}*", w.chars().take(3).collect::<String>()))
                .or_default()
                .push(id),
            Some(_) => self.always.push(id),
            None => return false,
        }
        self.patterns.push((p, owner));
        true
    }

    pub fn pattern(&self, i: usize) -> &Pattern {
        &self.patterns[i].0
    }

    /// Every match in the tokens, in token order.
    pub fn find(&self, tokens: &[Token]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            let stem_key = format!("{}*", t.word.chars().take(3).collect::<String>());
            let cands = self
                .index
                .get(&t.word)
                .into_iter()
                .flatten()
                .chain(self.index.get(&stem_key).into_iter().flatten())
                .chain(self.always.iter());
            for &pi in cands {
                let (p, owner) = &self.patterns[pi];
                if let Some((end, gaps)) = p.match_at(tokens, i) {
                    hits.push(Hit {
                        owner: *owner,
                        pattern: pi,
                        tokens: i..end,
                        gaps,
                    });
                }
            }
        }
        hits.sort_by_key(|h| (h.tokens.start, h.pattern));
        hits.dedup();
        hits
    }
}

/// How far a negation reaches before a cue.
#[derive(Debug, Clone, Default)]
pub struct Negation {
    /// Folded negation words ("*n't" matches any word ending in n't).
    pub words: Vec<String>,
    /// How many words before a cue a negation word may stand.
    pub window: usize,
    /// Folded words the window does not count: "not to be a problem" is three words away.
    pub skip: Vec<String>,
    /// Negated verbs of opinion ("don't think", "не думаю") that negate the rest of their
    /// clause: "I don't think I got stuck too badly".
    pub raising: Matcher,
    /// Folded words that, standing between a negation and a cue, keep the negation off it:
    /// "not only late", "never seen such a slow app" complain the more.
    pub breakers: Vec<String>,
}

impl Negation {
    /// Whether a folded word is a negation word.
    pub fn is_negator(&self, word: &str) -> bool {
        self.words.iter().any(|n| is_negator(word, n))
    }

    /// The negated opinion verbs of a text, found once for all its cues (see [`negated`]).
    pub fn raised(&self, tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
        self.raising
            .find(tokens)
            .into_iter()
            .map(|h| h.tokens)
            .collect()
    }
}

/// Whether a match is negated: a negation word within `window` words before it (not counting
/// `skip` words), or a negated opinion verb (`raised`, from [`Negation::raised`]) anywhere before
/// it, in the same clause ("not slow at all", "never had to wait", "nie był wolny", "не
/// медленно", "I don't think that was an issue").
pub fn negated(
    tokens: &[Token],
    hit: &std::ops::Range<usize>,
    negation: &Negation,
    raised: &[std::ops::Range<usize>],
) -> bool {
    let Some(first) = tokens.get(hit.start) else {
        return false;
    };
    let mut counted = 0;
    for t in tokens[..hit.start].iter().rev() {
        if t.clause != first.clause || counted >= negation.window {
            break;
        }
        if negation.breakers.contains(&t.word) {
            break;
        }
        if negation.is_negator(&t.word) {
            return true;
        }
        if !negation.skip.contains(&t.word) {
            counted += 1;
        }
    }
    raised
        .iter()
        .any(|r| r.end <= hit.start && tokens[r.start].clause == first.clause)
}

fn is_negator(word: &str, n: &str) -> bool {
    if let Some(suffix) = n.strip_prefix('*') {
        // "*n't" matches any word ending in n't.
        word.ends_with(suffix)
    } else {
        word == n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.word).collect()
    }

    #[test]
    fn folding_removes_case_and_diacritics_in_all_four_languages() {
        assert_eq!(fold("Pristatymą ŽINUTĖ"), "pristatyma zinute");
        assert_eq!(fold("Dostawa ŁÓDŹ zażółć"), "dostawa lodz zazolc");
        assert_eq!(fold("Ещё ДОСТАВКА"), "еще доставка");
        assert_eq!(fold("don’t"), "don't");
    }

    #[test]
    fn tokens_keep_apostrophes_and_clauses() {
        assert_eq!(
            words("I don't know, really."),
            ["i", "don't", "know", "really"]
        );
        let t = tokenize("Not slow, but late");
        assert_eq!(t[0].clause, t[1].clause);
        assert!(t[3].clause > t[1].clause);
    }

    #[test]
    fn stems_phrases_and_word_boundaries() {
        let mut m = Matcher::default();
        m.add("pristat*", 0);
        m.add("on hold", 1);
        m.add("app", 2);
        m.add("доставк*", 3);
        let hits =
            |s: &str| -> Vec<usize> { m.find(&tokenize(s)).iter().map(|h| h.owner).collect() };
        assert_eq!(hits("Pristatymas vėlavo"), [0]);
        assert_eq!(hits("I was ON HOLD for an hour"), [1]);
        assert_eq!(hits("the app crashed; I'm unhappy with applause"), [2]);
        assert_eq!(hits("Доставку задержали"), [3]);
        assert!(hits("holding on").is_empty());
    }

    /// `...` lets other words of the same clause stand between two parts, in order.
    #[test]
    fn gaps_reach_across_words_within_a_clause() {
        let mut m = Matcher::default();
        m.add("списал* ... два раза", 0);
        m.add("charg* ... twice", 1);
        let hits = |s: &str| -> Vec<(usize, std::ops::Range<usize>)> {
            m.find(&tokenize(s))
                .into_iter()
                .map(|h| (h.owner, h.tokens))
                .collect()
        };
        assert_eq!(hits("Списали деньги с карты два раза."), [(0, 0..6)]);
        assert_eq!(hits("They charged my card twice"), [(1, 1..5)]);
        // In order, and in one clause.
        assert!(hits("Twice they charged me").is_empty());
        assert!(hits("They charged me, and I called twice").is_empty());
        assert!(hits("Два раза списали").is_empty());
    }

    #[test]
    fn negation_is_scoped_to_the_clause_and_window() {
        let mut raising = Matcher::default();
        raising.add("don't think", 0);
        let neg = Negation {
            words: ["not", "never", "no", "*n't", "nie", "не"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            window: 3,
            skip: vec!["a".into(), "to".into(), "be".into()],
            raising,
            breakers: vec!["only".into(), "such".into()],
        };
        let check = |text: &str, pat: &str| {
            let t = tokenize(text);
            let p = Pattern::new(pat);
            let r = p.find(&t)[0].clone();
            negated(&t, &r, &neg, &neg.raised(&t))
        };
        assert!(check("It seems not to be a problem", "problem"));
        assert!(!check(
            "It is not the case that we had a problem",
            "problem"
        ));
        assert!(check("I don't think I got stuck too badly", "stuck"));
        assert!(!check("I don't think so, I got stuck", "stuck"));
        assert!(check("It was not slow at all", "slow"));
        assert!(!check("It was not only slow", "slow"));
        assert!(!check("I have never seen such slow service", "slow"));
        assert!(check("It wasn't slow", "slow"));
        assert!(check("Dostawa nie była wolna", "woln*"));
        assert!(check("Совсем не медленно", "медлен*"));
        assert!(!check("No, it was slow", "slow"));
        assert!(!check("Not the price, but it was slow", "slow"));
        assert!(!check(
            "Not that I mind waiting for a very long slow delivery",
            "delivery"
        ));
    }
}
