//! Emergent theme discovery.
//!
//! Participant sentences that no codebook theme claims are clustered on their
//! sentence embeddings into readable themes.
//!
//! Pipeline (deterministic: no randomness; ties broken by index):
//!
//! 1. **Filter** — drop sentences with fewer than 4 words, pure filler
//!    ("okay", "yeah", "taip", "tak", "да", …), fewer than 2 content words
//!    (non-stopwords; talk about the session itself, "so the task is
//!    completed", counts as filler), verbatim repeats by the same participant, and
//!    read-aloud boilerplate (the same word sequence spoken by ≥ 3
//!    participants — task prompts, UI labels).
//! 2. **Re-centre** — e5 embeddings are anisotropic: unrelated sentences sit at
//!    cosine ≈ 0.8. We subtract the mean embedding of the kept sentences and
//!    re-normalise, so cosine then measures what distinguishes sentences
//!    *within this study* (mean pairwise distance becomes ≈ 1).
//! 3. **Average-linkage agglomerative clustering** on cosine distance of the
//!    re-centred vectors, by the nearest-neighbour-chain algorithm: exact
//!    UPGMA in O(n²) time and memory (one dense n × n f32 matrix; n = 3000 →
//!    36 MB, ≈ 0.5 s release).
//! 4. **Data-relative cut** — the tree is cut at the null level
//!    `h_max = mean − 2·sd` of the data set's own pairwise-distance
//!    distribution: a theme must be clearly tighter than chance pairs. No
//!    absolute similarity threshold is used. Clusters holding > 20 % of the
//!    sentences (or too few participants) are replaced by their outermost
//!    valid sub-clusters (HDBSCAN-style condensed tree), so one topic cannot
//!    swallow the output.
//! 5. **Keep & rank** — clusters with ≥ `min_size` sentences from ≥
//!    `min_participants` participants, two of whom share a content word
//!    (in ≥ 2 sentences), ranked by distinct participants, then size, then
//!    cohesion, then lowest member index; capped at `max_themes`. Everything
//!    else stays unassigned (noise).
//! 6. **Label** — class-based TF-IDF (c-TF-IDF, as in BERTopic) over 1–3-grams
//!    of adjacent content words, with stopword/filler lists for English,
//!    Lithuanian, Polish and Russian (6-letter prefix stemming for the
//!    inflected languages, plural folding for English); the background is
//!    every kept sentence. Top 3 terms joined with " · ".

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// A theme must contain sentences from at least this many distinct participants.
    pub min_participants: usize,
    /// A theme must contain at least this many sentences.
    pub min_size: usize,
    /// At most this many themes are returned.
    pub max_themes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_participants: 2,
            min_size: 3,
            max_themes: 12,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    /// Indices into the input, ascending.
    pub members: Vec<usize>,
    /// Readable label from the cluster's distinctive words, e.g. "export · csv · button".
    pub label: String,
    /// Top distinctive words/bigrams (c-TF-IDF), best first.
    pub keywords: Vec<String>,
    /// Index (into the input) of the most central sentence (closest to the centroid).
    pub central: usize,
    /// Mean cosine of the members to their centroid, in the *given* embedding space.
    pub cohesion: f32,
}

/// Minimum number of words for a sentence to be considered.
const MIN_WORDS: usize = 4;
/// Minimum number of content (non-stop, non-filler) words.
const MIN_CONTENT_WORDS: usize = 2;
/// No theme may hold more than this fraction of the kept sentences.
const MAX_CLUSTER_FRACTION: f64 = 0.2;
/// Number of keywords returned per theme.
const N_KEYWORDS: usize = 8;
/// Number of keywords in the label.
const N_LABEL: usize = 3;
/// Null level for theme tightness, in standard deviations of the pairwise
/// distance distribution (see `discover`).
const NULL_Z: f64 = 2.0;
/// A verbatim sentence (same word sequence) spoken by at least this many
/// participants is treated as read-aloud boilerplate (task prompts, UI labels).
const BOILERPLATE_PARTICIPANTS: usize = 3;

/// Discover emergent themes among `texts` (one sentence each).
///
/// `embeddings[i]` is the L2-normalised embedding of `texts[i]` and
/// `participants[i]` names its speaker. Returns at most `opts.max_themes`
/// themes ranked by distinct participants, then size. Sentences not in any
/// returned theme are noise.
pub fn discover(
    texts: &[&str],
    embeddings: &[Vec<f32>],
    participants: &[&str],
    opts: &Options,
) -> Vec<Discovered> {
    let n_in = texts.len();
    if n_in == 0 || embeddings.len() != n_in || participants.len() != n_in || opts.max_themes == 0 {
        return Vec::new();
    }
    let dim = embeddings[0].len();
    if dim == 0 || embeddings.iter().any(|e| e.len() != dim) {
        return Vec::new();
    }
    let min_size = opts.min_size.max(2);
    let min_parts = opts.min_participants.max(1);

    // ---- 1. filter -------------------------------------------------------
    let stop = stopwords();
    let mut fill = fillers();
    fill.extend(session_talk());
    let tokens: Vec<Vec<String>> = texts.iter().map(|t| tokenize(t)).collect();
    let mut speakers: HashMap<&[String], HashSet<&str>> = HashMap::new();
    for i in 0..n_in {
        speakers
            .entry(tokens[i].as_slice())
            .or_default()
            .insert(participants[i]);
    }
    let mut seen: HashSet<(&str, Vec<String>)> = HashSet::new();
    let mut kept: Vec<usize> = Vec::new();
    for i in 0..n_in {
        let toks = &tokens[i];
        if toks.len() < MIN_WORDS {
            continue;
        }
        if toks.iter().all(|t| fill.contains(t.as_str())) {
            continue;
        }
        let content = toks
            .iter()
            .filter(|t| {
                !stop.contains(t.as_str()) && !fill.contains(t.as_str()) && t.chars().count() >= 2
            })
            .count();
        if content < MIN_CONTENT_WORDS {
            continue;
        }
        if embeddings[i].iter().all(|&x| x == 0.0) || embeddings[i].iter().any(|x| !x.is_finite()) {
            continue;
        }
        if speakers[toks.as_slice()].len() >= BOILERPLATE_PARTICIPANTS {
            continue; // read-aloud prompt / UI label
        }
        if !seen.insert((participants[i], toks.clone())) {
            continue; // verbatim repeat by the same participant
        }
        kept.push(i);
    }
    let n = kept.len();
    if n < min_size {
        return Vec::new();
    }

    // participant ids (sorted names → deterministic)
    let mut names: Vec<&str> = kept.iter().map(|&i| participants[i]).collect();
    names.sort_unstable();
    names.dedup();
    let pid: Vec<usize> = kept
        .iter()
        .map(|&i| names.binary_search(&participants[i]).unwrap())
        .collect();
    let n_parts = names.len();
    if n_parts < min_parts {
        return Vec::new();
    }

    // ---- 2. re-centre ----------------------------------------------------
    let vecs = recentre(&kept, embeddings, dim);

    // ---- 3. average linkage (NN-chain) ------------------------------------
    let (merges, mean_d, std_d) = average_linkage(&vecs, n, dim);
    // A theme must be clearly tighter than chance: its average-linkage height
    // (mean distance between its last two parts) at least NULL_Z standard
    // deviations below the mean pairwise distance of the data set.
    let h_max = (mean_d - NULL_Z * std_d) as f32;

    // ---- 4. select clusters (excess of mass) ------------------------------
    let selected = select_clusters(&merges, &pid, n, n_parts, min_size, min_parts, h_max);

    // ---- 5. rank -----------------------------------------------------------
    struct Cand {
        local: Vec<usize>,
        nparts: usize,
        cohesion: f32,
        central_local: usize,
    }
    let mut cands: Vec<Cand> = Vec::new();
    for local in selected {
        let mut ps: Vec<usize> = local.iter().map(|&l| pid[l]).collect();
        ps.sort_unstable();
        ps.dedup();
        if ps.len() < min_parts {
            continue;
        }
        // cohesion in the given space
        let orig: Vec<&[f32]> = local
            .iter()
            .map(|&l| embeddings[kept[l]].as_slice())
            .collect();
        let cohesion = mean_cos_to_centroid(&orig, dim);
        // central: closest to centroid in the clustering space
        let cent: Vec<&[f32]> = local
            .iter()
            .map(|&l| &vecs[l * dim..(l + 1) * dim])
            .collect();
        let central_local = local[closest_to_centroid(&cent, dim)];
        cands.push(Cand {
            local,
            nparts: ps.len(),
            cohesion,
            central_local,
        });
    }
    cands.sort_by(|a, b| {
        b.nparts
            .cmp(&a.nparts)
            .then(b.local.len().cmp(&a.local.len()))
            .then(
                b.cohesion
                    .partial_cmp(&a.cohesion)
                    .unwrap_or(Ordering::Equal),
            )
            .then(a.local[0].cmp(&b.local[0]))
    });

    // ---- 6. labels -------------------------------------------------------
    // c-TF-IDF over *all* selected clusters (before the cap), so a theme's
    // label does not depend on `max_themes`.
    let kept_tokens: Vec<&[String]> = kept.iter().map(|&i| tokens[i].as_slice()).collect();
    let clusters_local: Vec<&[usize]> = cands.iter().map(|c| c.local.as_slice()).collect();
    let keywords = ctfidf_keywords(
        &kept_tokens,
        &clusters_local,
        &pid,
        &stop,
        &fill,
        min_parts.min(2),
    );
    // A cluster whose participants share no content word is a stylistic grouping
    // ("I would say that …"), not a theme: drop it.
    let (cands, keywords): (Vec<Cand>, Vec<Vec<String>>) = cands
        .into_iter()
        .zip(keywords)
        .filter(|(_, kw)| !kw.is_empty())
        .take(opts.max_themes)
        .unzip();

    cands
        .into_iter()
        .zip(keywords)
        .map(|(c, kw)| {
            let mut members: Vec<usize> = c.local.iter().map(|&l| kept[l]).collect();
            members.sort_unstable();
            let label = kw
                .iter()
                .take(N_LABEL)
                .cloned()
                .collect::<Vec<_>>()
                .join(" · ");
            Discovered {
                members,
                label,
                keywords: kw,
                central: kept[c.central_local],
                cohesion: c.cohesion,
            }
        })
        .collect()
}

// ===========================================================================
// Geometry
// ===========================================================================

/// Subtract the mean of the kept embeddings and re-normalise. Returns a flat
/// row-major `n × dim` buffer.
fn recentre(kept: &[usize], embeddings: &[Vec<f32>], dim: usize) -> Vec<f32> {
    let n = kept.len();
    let mut mean = vec![0f64; dim];
    for &i in kept {
        let e = &embeddings[i];
        let norm = norm64(e);
        for (m, &x) in mean.iter_mut().zip(e) {
            *m += x as f64 / norm;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut out = vec![0f32; n * dim];
    for (r, &i) in kept.iter().enumerate() {
        let e = &embeddings[i];
        let norm = norm64(e);
        let row = &mut out[r * dim..(r + 1) * dim];
        let mut s = 0f64;
        for k in 0..dim {
            let v = e[k] as f64 / norm - mean[k];
            row[k] = v as f32;
            s += v * v;
        }
        let s = s.sqrt();
        if s > 1e-9 {
            for v in row.iter_mut() {
                *v = (*v as f64 / s) as f32;
            }
        }
    }
    out
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // 8 independent accumulators: vectorises well and is deterministic.
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        let o = c * 8;
        for k in 0..8 {
            acc[k] += a[o + k] * b[o + k];
        }
    }
    let mut s = 0f32;
    for k in chunks * 8..a.len() {
        s += a[k] * b[k];
    }
    s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// L2 norm in f64, never below 1e-12 (so dividing by it is safe).
fn norm64(v: &[f32]) -> f64 {
    v.iter()
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>()
        .sqrt()
        .max(1e-12)
}

fn mean_cos_to_centroid(rows: &[&[f32]], dim: usize) -> f32 {
    let mut c = vec![0f64; dim];
    for r in rows {
        let norm = norm64(r);
        for (ci, &x) in c.iter_mut().zip(r.iter()) {
            *ci += x as f64 / norm;
        }
    }
    let cn = c.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    let mut tot = 0f64;
    for r in rows {
        let norm = norm64(r);
        let d: f64 = r.iter().zip(&c).map(|(&x, &y)| x as f64 * y).sum();
        tot += d / (norm * cn);
    }
    (tot / rows.len() as f64) as f32
}

/// Position (within `rows`) of the row with the highest cosine to the centroid;
/// ties → lowest position.
fn closest_to_centroid(rows: &[&[f32]], dim: usize) -> usize {
    let mut c = vec![0f64; dim];
    for r in rows {
        for (ci, &x) in c.iter_mut().zip(r.iter()) {
            *ci += x as f64;
        }
    }
    let mut best = 0;
    let mut best_s = f64::NEG_INFINITY;
    for (p, r) in rows.iter().enumerate() {
        let norm = norm64(r);
        let s: f64 = r.iter().zip(&c).map(|(&x, &y)| x as f64 * y).sum::<f64>() / norm;
        if s > best_s {
            best_s = s;
            best = p;
        }
    }
    best
}

// ===========================================================================
// Average linkage via nearest-neighbour chain
// ===========================================================================

/// One merge of the dendrogram: point-representatives `a`, `b` of the two
/// clusters and the average-linkage distance between them.
#[derive(Debug, Clone, Copy)]
struct Merge {
    a: usize,
    b: usize,
    h: f32,
}

/// Exact average-linkage (UPGMA) clustering of the unit rows of `vecs` under
/// cosine distance, by the nearest-neighbour-chain algorithm. O(n²) time and
/// memory. Returns the n−1 merges sorted by height (stable: ties keep the order
/// in which they happened, which respects dependencies).
fn average_linkage(vecs: &[f32], n: usize, dim: usize) -> (Vec<Merge>, f64, f64) {
    if n < 2 {
        return (Vec::new(), 1.0, 0.0);
    }
    // dense distance matrix (full, symmetric)
    let mut d = vec![0f32; n * n];
    {
        use rayon::prelude::*;
        d.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            for (j, x) in row.iter_mut().enumerate() {
                // each pair in a fixed orientation so that d[i][j] == d[j][i] bit-exactly
                let (p, q) = if i <= j { (i, j) } else { (j, i) };
                let s = if p == q {
                    1.0
                } else {
                    dot(&vecs[p * dim..(p + 1) * dim], &vecs[q * dim..(q + 1) * dim])
                };
                *x = (1.0 - s).max(0.0);
            }
        });
    }
    // mean and standard deviation of all pairwise distances (the null level)
    let (mut s1, mut s2) = (0f64, 0f64);
    for i in 0..n {
        for &x in &d[i * n + i + 1..(i + 1) * n] {
            s1 += x as f64;
            s2 += (x as f64) * (x as f64);
        }
    }
    let pairs = (n * (n - 1) / 2) as f64;
    let mean = s1 / pairs;
    let std = (s2 / pairs - mean * mean).max(0.0).sqrt();
    let mut size = vec![1usize; n];
    let mut active = vec![true; n];
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut merges: Vec<Merge> = Vec::with_capacity(n - 1);
    let mut next_start = 0usize;

    while merges.len() < n - 1 {
        if chain.is_empty() {
            while !active[next_start] {
                next_start += 1;
            }
            chain.push(next_start);
        }
        let a = *chain.last().unwrap();
        let prev = if chain.len() >= 2 {
            Some(chain[chain.len() - 2])
        } else {
            None
        };
        // nearest active neighbour of a; ties → previous chain element, then lowest index
        let row = &d[a * n..(a + 1) * n];
        let (mut best, mut best_d) = match prev {
            Some(p) => (p, row[p]),
            None => (usize::MAX, f32::INFINITY),
        };
        for k in 0..n {
            if k != a && active[k] && row[k] < best_d {
                best = k;
                best_d = row[k];
            }
        }
        if Some(best) == prev {
            chain.pop();
            chain.pop();
            let (keep, gone) = if a < best { (a, best) } else { (best, a) };
            merges.push(Merge {
                a: keep,
                b: gone,
                h: best_d,
            });
            let (na, nb) = (size[keep] as f64, size[gone] as f64);
            for k in 0..n {
                if !active[k] || k == keep || k == gone {
                    continue;
                }
                let v = ((na * d[keep * n + k] as f64 + nb * d[gone * n + k] as f64) / (na + nb))
                    as f32;
                let v = v.max(best_d); // guard against rounding below the merge height
                d[keep * n + k] = v;
                d[k * n + keep] = v;
            }
            active[gone] = false;
            size[keep] += size[gone];
        } else {
            chain.push(best);
        }
    }
    merges.sort_by(|x, y| x.h.partial_cmp(&y.h).unwrap_or(Ordering::Equal));
    (merges, mean, std)
}

fn uf_find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Select themes from the dendrogram.
///
/// The tree is cut at `h_max`, the data-relative null level (groups merged
/// above it are not tighter than chance). Every resulting cluster with ≥
/// `min_size` sentences from ≥ `min_parts` participants and at most
/// `MAX_CLUSTER_FRACTION` of all sentences is a theme. A cluster that is too
/// large (or lacks participants) is not discarded wholesale: we walk down its
/// condensed subtree (HDBSCAN-style: shedding groups smaller than `min_size`
/// as noise, branching only where both parts have ≥ `min_size` sentences) and
/// keep its outermost valid sub-clusters instead — so one dominant topic can
/// never swallow the output.
///
/// (An excess-of-mass stability selection over the same condensed tree was
/// also tried; on real interview data it fragmented broad themes — e.g. a
/// 37-sentence, 8-participant "heat map" theme — into many 6–10 sentence
/// pieces with fewer participants each, which is worse for a brief.)
///
/// Returns local indices, ascending, per cluster.
fn select_clusters(
    merges: &[Merge],
    pid: &[usize],
    n: usize,
    n_parts: usize,
    min_size: usize,
    min_parts: usize,
    h_max: f32,
) -> Vec<Vec<usize>> {
    // --- dendrogram: nodes 0..n are points, n + k is merge k
    let total = n + merges.len();
    let words = n_parts.div_ceil(64);
    let mut left = vec![usize::MAX; total];
    let mut right = vec![usize::MAX; total];
    let mut height = vec![0f32; total];
    let mut size = vec![1usize; total];
    let mut bits = vec![0u64; total * words];
    let mut parent_node = vec![usize::MAX; total];
    for i in 0..n {
        bits[i * words + pid[i] / 64] |= 1u64 << (pid[i] % 64);
    }
    let mut uf: Vec<usize> = (0..n).collect();
    let mut node_of: Vec<usize> = (0..n).collect(); // uf root -> current node
    for (k, m) in merges.iter().enumerate() {
        let v = n + k;
        let ra = uf_find(&mut uf, m.a);
        let rb = uf_find(&mut uf, m.b);
        let (na, nb) = (node_of[ra], node_of[rb]);
        let (na, nb) = if na < nb { (na, nb) } else { (nb, na) };
        left[v] = na;
        right[v] = nb;
        height[v] = m.h;
        size[v] = size[na] + size[nb];
        for w in 0..words {
            bits[v * words + w] = bits[na * words + w] | bits[nb * words + w];
        }
        parent_node[na] = v;
        parent_node[nb] = v;
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        uf[hi] = lo;
        node_of[lo] = v;
    }
    let nparts = |v: usize| -> usize {
        bits[v * words..(v + 1) * words]
            .iter()
            .map(|x| x.count_ones() as usize)
            .sum()
    };
    let giant = ((MAX_CLUSTER_FRACTION * n as f64).floor() as usize).max(min_size);

    // --- condensed tree
    struct Cc {
        node: usize,
        children: Vec<usize>,
    }
    let mut ccs: Vec<Cc> = Vec::new();
    let mut roots: Vec<usize> = Vec::new();
    for v in n..total {
        let top = parent_node[v] == usize::MAX || height[parent_node[v]] > h_max;
        if top && height[v] <= h_max && size[v] >= min_size {
            roots.push(ccs.len());
            ccs.push(Cc {
                node: v,
                children: Vec::new(),
            });
        }
    }
    let mut i = 0;
    while i < ccs.len() {
        let mut v = ccs[i].node;
        let mut kids: Vec<usize> = Vec::new();
        while v >= n {
            let (a, b) = (left[v], right[v]);
            let (sa, sb) = (size[a], size[b]);
            if sa >= min_size && sb >= min_size {
                kids.push(a);
                kids.push(b);
                break;
            } else if sa >= min_size {
                v = a; // b's points fall out as noise
            } else if sb >= min_size {
                v = b;
            } else {
                break;
            }
        }
        for node in kids {
            let id = ccs.len();
            ccs.push(Cc {
                node,
                children: Vec::new(),
            });
            ccs[i].children.push(id);
        }
        i += 1;
    }
    let sel: Vec<bool> = ccs
        .iter()
        .map(|c| nparts(c.node) >= min_parts && size[c.node] <= giant)
        .collect();

    // --- top-down: outermost selected clusters
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut stack: Vec<usize> = roots.iter().rev().copied().collect();
    while let Some(c) = stack.pop() {
        if sel[c] {
            let mut members = Vec::with_capacity(size[ccs[c].node]);
            let mut st = vec![ccs[c].node];
            while let Some(v) = st.pop() {
                if v < n {
                    members.push(v);
                } else {
                    st.push(left[v]);
                    st.push(right[v]);
                }
            }
            members.sort_unstable();
            out.push(members);
        } else {
            for &k in ccs[c].children.iter().rev() {
                stack.push(k);
            }
        }
    }
    out
}

// ===========================================================================
// Text: tokenisation, stopwords, c-TF-IDF labels
// ===========================================================================

/// Lower-cased runs of Unicode letters (apostrophes inside a word are kept,
/// typographic ’ is folded to ').
fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphabetic() {
            cur.extend(c.to_lowercase());
        } else if (c == '\'' || c == '’')
            && !cur.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic())
        {
            cur.push('\'');
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// c-TF-IDF keywords for each cluster (given as local indices).
///
/// Term frequency is counted as the number of sentences of the cluster that
/// contain the term (a speaker repeating a word in one sentence counts once),
/// normalised by cluster size; the weight is `ln(1 + A / f(t))` where `f(t)` is
/// the number of kept sentences (clusters and noise) containing the term and
/// `A` the average number of sentences per class. Terms must occur in ≥ 2
/// sentences of the cluster from ≥ `min_speakers` participants (2, unless themes
/// may come from one); a cluster without such a term gets none and is dropped.
/// English plurals are folded onto their singular when both occur.
fn ctfidf_keywords(
    toks: &[&[String]],
    clusters: &[&[usize]],
    pid: &[usize],
    stop: &HashSet<&'static str>,
    fill: &HashSet<&'static str>,
    min_speakers: usize,
) -> Vec<Vec<String>> {
    let is_content = |t: &str| {
        !stop.contains(t)
            && !fill.contains(t)
            && t.chars().count() >= 3
            && !t.chars().all(|c| matches!(c, 'i' | 'v' | 'x')) // roman numerals (task numbering)
    };
    // vocabulary for plural folding
    let mut vocab: HashSet<&str> = HashSet::new();
    for s in toks {
        for t in s.iter() {
            vocab.insert(t.as_str());
        }
    }
    // Inflected languages (LT, PL, RU): crude prefix stemming so that
    // "eksportas / eksporto / eksportuoti" count as one term; the most frequent
    // surface form is displayed. Applied to sentences containing Cyrillic or
    // Lithuanian/Polish letters.
    const STEM_CHARS: usize = 6;
    let inflected = |s: &[String]| {
        s.iter().any(|t| {
            t.chars()
                .any(|c| ('\u{0400}'..='\u{04FF}').contains(&c) || "ąčęėįšųūžłśżźćńó".contains(c))
        })
    };
    let fold = |t: &str, stem: bool| -> String {
        if stem && t.chars().count() > STEM_CHARS {
            return t.chars().take(STEM_CHARS).collect();
        }
        if t.len() > 3 && t.ends_with('s') && !t.ends_with("ss") && t.is_ascii() {
            let base = &t[..t.len() - 1];
            if vocab.contains(base) {
                return base.to_string();
            }
        }
        t.to_string()
    };
    // terms of each sentence (unigrams + bigrams of adjacent content words), deduplicated
    // and surface-form counts for display
    let mut surface: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    let sent_terms: Vec<Vec<String>> = toks
        .iter()
        .map(|s| {
            let stem = inflected(s);
            let mut terms: Vec<String> = Vec::new();
            // current run of adjacent content words: (key, surface)
            let mut run: Vec<(String, String)> = Vec::new();
            for t in s.iter() {
                if is_content(t) {
                    run.push((fold(t, stem), t.clone()));
                    // n-grams (n = 1..=3) ending at this word
                    for k in 1..=run.len().min(3) {
                        let part = &run[run.len() - k..];
                        let key = part
                            .iter()
                            .map(|x| x.0.as_str())
                            .collect::<Vec<_>>()
                            .join(" ");
                        let surf = part
                            .iter()
                            .map(|x| x.1.as_str())
                            .collect::<Vec<_>>()
                            .join(" ");
                        *surface
                            .entry(key.clone())
                            .or_default()
                            .entry(surf)
                            .or_default() += 1;
                        terms.push(key);
                    }
                } else {
                    run.clear();
                }
            }
            terms.sort_unstable();
            terms.dedup();
            terms
        })
        .collect();
    let display = |key: &str| -> String {
        surface
            .get(key)
            .and_then(|m| {
                // most frequent surface form; ties → lexicographically smallest
                m.iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(s, _)| s.clone())
            })
            .unwrap_or_else(|| key.to_string())
    };
    // document frequency over all kept sentences
    let mut df: HashMap<&str, usize> = HashMap::new();
    for terms in &sent_terms {
        for t in terms {
            *df.entry(t.as_str()).or_default() += 1;
        }
    }
    let n_classes = clusters.len() + 1; // + the noise/background class
    let avg = toks.len() as f64 / n_classes as f64;

    clusters
        .iter()
        .map(|members| {
            let mut tf: HashMap<&str, (usize, Vec<usize>)> = HashMap::new();
            for &l in members.iter() {
                for t in &sent_terms[l] {
                    let e = tf.entry(t.as_str()).or_insert((0, Vec::new()));
                    e.0 += 1;
                    e.1.push(pid[l]);
                }
            }
            let csize = members.len() as f64;
            // Terms are ranked in tiers, then by c-TF-IDF: (0) used in ≥ 10 % of the
            // cluster's sentences (at least 2) by ≥ 2 participants, (1) ≥ 2
            // sentences by ≥ 2 participants. A word only one participant used does not
            // name what several people said ("clear" from "not clear to me" and "more
            // clear to me now", both P8's), so it is no keyword.
            let strict = ((0.1 * csize).ceil() as usize).max(2);
            let mut scored: Vec<(u8, f64, &str, usize)> = tf
                .iter()
                .filter(|(_, (c, _))| *c >= 2)
                .filter_map(|(t, (c, ps))| {
                    let mut ps = ps.clone();
                    ps.sort_unstable();
                    ps.dedup();
                    if ps.len() < min_speakers {
                        return None;
                    }
                    let w = (*c as f64 / csize) * (1.0 + avg / df[t] as f64).ln();
                    let tier = if *c < strict { 1 } else { 0 };
                    Some((tier, w, *t, *c))
                })
                .collect();
            scored.sort_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal))
                    .then(a.2.cmp(b.2))
            });
            // Greedy selection with redundancy handling: a candidate sharing a
            // word with already chosen terms replaces them when it contains them
            // all as a phrase ("commons" → "creative commons" → "creative
            // commons license") and is nearly as frequent; otherwise it is skipped.
            let mut chosen: Vec<(String, usize)> = Vec::new();
            for (_, _, t, c) in &scored {
                if chosen.len() >= N_KEYWORDS {
                    break;
                }
                let words: Vec<&str> = t.split(' ').collect();
                let clashing: Vec<usize> = (0..chosen.len())
                    .filter(|&ci| chosen[ci].0.split(' ').any(|w| words.contains(&w)))
                    .collect();
                if clashing.is_empty() {
                    chosen.push((t.to_string(), *c));
                    continue;
                }
                let padded = format!(" {t} ");
                let upgrade = clashing.iter().all(|&ci| {
                    let (ct, cc) = &chosen[ci];
                    ct.len() < t.len()
                        && padded.contains(&format!(" {ct} "))
                        && (*c as f64) >= 0.6 * *cc as f64
                });
                if upgrade {
                    let first = clashing[0];
                    chosen[first] = (t.to_string(), *c);
                    for &ci in clashing[1..].iter().rev() {
                        chosen.remove(ci);
                    }
                }
            }
            chosen.into_iter().map(|(t, _)| display(&t)).collect()
        })
        .collect()
}

/// Words about the session itself (EN, LT, PL, RU): "so the task is completed", "can I move
/// to the next question?". Every usability session has this talk and it is never a finding,
/// so discovery treats these words like fillers.
fn session_talk() -> HashSet<&'static str> {
    [
        // English
        "task",
        "tasks",
        "question",
        "questions",
        "scenario",
        "scenarios",
        "exercise",
        "exercises",
        "interview",
        "session",
        "completed",
        "complete",
        "finished",
        "done",
        "next",
        // Lithuanian
        "užduotis",
        "užduotį",
        "užduoties",
        "užduotys",
        "užduočių",
        "klausimas",
        "klausimą",
        "klausimo",
        "klausimai",
        "interviu",
        "baigta",
        "baigiau",
        "atlikta",
        "atlikau",
        "sekantis",
        "sekantį",
        "sekanti",
        // Polish
        "zadanie",
        "zadania",
        "zadaniu",
        "zadań",
        "pytanie",
        "pytania",
        "pytań",
        "wywiad",
        "skończone",
        "skończyłem",
        "skończyłam",
        "gotowe",
        "zrobione",
        "następne",
        "następny",
        "następna",
        // Russian
        "задание",
        "задания",
        "заданию",
        "задача",
        "задачу",
        "задачи",
        "вопрос",
        "вопросы",
        "интервью",
        "готово",
        "закончил",
        "закончила",
        "сделано",
        "выполнено",
        "следующий",
        "следующее",
        "следующая",
        "следующему",
    ]
    .into_iter()
    .collect()
}

/// Filler / backchannel tokens (EN, LT, PL, RU). A sentence made only of these
/// is dropped; they never count as content words.
fn fillers() -> HashSet<&'static str> {
    [
        // English
        "okay",
        "ok",
        "okey",
        "yeah",
        "yea",
        "yes",
        "yep",
        "yup",
        "no",
        "nope",
        "nah",
        "right",
        "alright",
        "sure",
        "mhm",
        "mm",
        "mmm",
        "hmm",
        "hm",
        "uh",
        "uhm",
        "um",
        "umm",
        "er",
        "erm",
        "ah",
        "oh",
        "ooh",
        "aha",
        "huh",
        "well",
        "so",
        "like",
        "cool",
        "great",
        "fine",
        "good",
        "nice",
        "exactly",
        "totally",
        "absolutely",
        "definitely",
        "indeed",
        "thanks",
        "thank",
        "you",
        "sorry",
        "wow",
        "hello",
        "hi",
        "bye",
        "yeah",
        "gotcha",
        "anyway",
        "anyways",
        "basically",
        "actually",
        "literally",
        "i",
        "mean",
        "know",
        "see",
        "true",
        "correct",
        "perfect",
        "awesome",
        "interesting",
        "hey",
        // Lithuanian
        "taip",
        "ne",
        "gerai",
        "aha",
        "nu",
        "na",
        "tai",
        "žinoma",
        "supratau",
        "suprantu",
        "ačiū",
        "aišku",
        "va",
        "tiesiog",
        "tikrai",
        "jo",
        "jau",
        "labas",
        "sveiki",
        "šaunu",
        "puiku",
        "tikriausiai",
        "gal",
        "nežinau",
        "mm",
        "ok",
        "vat",
        "žodžiu",
        "kaip",
        "sakant",
        // Polish
        "tak",
        "nie",
        "dobrze",
        "okej",
        "no",
        "aha",
        "jasne",
        "dokładnie",
        "właśnie",
        "dzięki",
        "dziękuję",
        "yhm",
        "ehm",
        "eee",
        "prawda",
        "super",
        "fajnie",
        "świetnie",
        "racja",
        "oczywiście",
        "wiesz",
        "znaczy",
        "jakby",
        "generalnie",
        "cześć",
        "przepraszam",
        "rozumiem",
        "zgadza",
        "się",
        // Russian
        "да",
        "нет",
        "хорошо",
        "ага",
        "угу",
        "ну",
        "понятно",
        "ладно",
        "конечно",
        "так",
        "вот",
        "спасибо",
        "точно",
        "окей",
        "ясно",
        "именно",
        "верно",
        "правильно",
        "отлично",
        "супер",
        "значит",
        "короче",
        "типа",
        "как",
        "бы",
        "это",
        "самое",
        "слушай",
        "знаешь",
        "понимаешь",
        "привет",
        "извините",
        "э",
        "эм",
        "ммм",
    ]
    .into_iter()
    .collect()
}

/// Stopwords for keyword extraction and the content-word filter
/// (EN incl. conversational words, LT, PL, RU).
fn stopwords() -> HashSet<&'static str> {
    [
        // English — function words
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "either",
        "else",
        "even",
        "ever",
        "every",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "got",
        "gonna",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it'd",
        "it'll",
        "it's",
        "its",
        "itself",
        "just",
        "let",
        "let's",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "mustn't",
        "my",
        "myself",
        "need",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "others",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "per",
        "quite",
        "rather",
        "really",
        "same",
        "says",
        "said",
        "say",
        "shall",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "via",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "whether",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "whose",
        "why",
        "why's",
        "will",
        "with",
        "within",
        "without",
        "won't",
        "would",
        "wouldn't",
        "yet",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "may",
        "many",
        "still",
        "though",
        "although",
        "however",
        "since",
        "another",
        "anything",
        "something",
        "everything",
        "nothing",
        "someone",
        "anyone",
        "everyone",
        "somewhere",
        "anywhere",
        "somehow",
        "etc",
        "able",
        "lot",
        "lots",
        "bit",
        "way",
        "ways",
        "going",
        "go",
        "goes",
        "went",
        "gone",
        "come",
        "comes",
        "came",
        "make",
        "makes",
        "made",
        "take",
        "takes",
        "took",
        "put",
        "thing",
        "things",
        "stuff",
        "kind",
        "sort",
        "maybe",
        "perhaps",
        "probably",
        "guess",
        "think",
        "thought",
        "thinking",
        "mean",
        "means",
        "know",
        "knew",
        "like",
        "liked",
        "want",
        "wanted",
        "wants",
        "see",
        "saw",
        "seen",
        "seems",
        "seem",
        "seemed",
        "look",
        "looks",
        "looking",
        "looked",
        "pretty",
        "fairly",
        "somewhat",
        "okay",
        "yeah",
        "well",
        "oh",
        "um",
        "uh",
        "right",
        "sure",
        "actually",
        "basically",
        "obviously",
        "definitely",
        "probably",
        "certainly",
        "kinda",
        "sorta",
        "wanna",
        "gotta",
        "yes",
        "ok",
        "there're",
        "ain't",
        "first",
        "second",
        "also",
        "already",
        "always",
        "never",
        "sometimes",
        "often",
        "usually",
        "again",
        "new",
        "use",
        "used",
        "using",
        "try",
        "trying",
        "tried",
        "good",
        "bad",
        "better",
        "best",
        "great",
        "nice",
        "fine",
        "two",
        "three",
        "yeah",
        "alright",
        "whatever",
        "whichever",
        "somebody",
        "anybody",
        "everybody",
        "nobody",
        "around",
        "back",
        "give",
        "gives",
        "given",
        "tell",
        "told",
        "feel",
        "felt",
        "feels",
        "work",
        "works",
        "would've",
        "could've",
        "should've",
        // Lithuanian
        "ir",
        "bet",
        "o",
        "ar",
        "kad",
        "nes",
        "jei",
        "jeigu",
        "kai",
        "kol",
        "nors",
        "tai",
        "tas",
        "ta",
        "tie",
        "tos",
        "to",
        "tą",
        "tuo",
        "toje",
        "tame",
        "šis",
        "ši",
        "šie",
        "šios",
        "šį",
        "šią",
        "šio",
        "šitas",
        "šita",
        "kas",
        "ką",
        "kuo",
        "kur",
        "kaip",
        "kodėl",
        "koks",
        "kokia",
        "kokie",
        "kuris",
        "kuri",
        "kurie",
        "kurios",
        "kurį",
        "kurią",
        "aš",
        "tu",
        "jis",
        "ji",
        "mes",
        "jūs",
        "jie",
        "jos",
        "man",
        "mane",
        "manęs",
        "mano",
        "tau",
        "tave",
        "tavo",
        "jam",
        "jai",
        "jį",
        "ją",
        "jo",
        "jų",
        "mums",
        "mus",
        "mūsų",
        "jums",
        "jus",
        "jūsų",
        "jiems",
        "joms",
        "save",
        "savo",
        "sau",
        "yra",
        "buvo",
        "bus",
        "būti",
        "esu",
        "esi",
        "esame",
        "yrą",
        "būtų",
        "buvau",
        "nebuvo",
        "nėra",
        "ne",
        "taip",
        "su",
        "be",
        "į",
        "iš",
        "ant",
        "po",
        "prie",
        "per",
        "už",
        "apie",
        "nuo",
        "iki",
        "pas",
        "tarp",
        "dėl",
        "prieš",
        "pagal",
        "virš",
        "dar",
        "jau",
        "tik",
        "net",
        "gal",
        "galbūt",
        "labai",
        "daug",
        "mažai",
        "čia",
        "ten",
        "visi",
        "visas",
        "visa",
        "viskas",
        "kažkas",
        "kažkaip",
        "kiekvienas",
        "toks",
        "tokia",
        "tokie",
        "pat",
        "vis",
        "vėl",
        "dabar",
        "tada",
        "tiesiog",
        "tikrai",
        "manau",
        "galvoju",
        "žinau",
        "nežinau",
        "reikia",
        "gali",
        "galima",
        "turi",
        "turiu",
        "noriu",
        "nori",
        "būna",
        "kartais",
        "dažnai",
        "visada",
        "niekada",
        "gerai",
        "blogai",
        "na",
        "nu",
        "va",
        "aha",
        "mhm",
        "ačiū",
        "arba",
        "kaip",
        "kiek",
        "kam",
        "kurio",
        "kurių",
        "kurie",
        "ten",
        "čia",
        "vienas",
        "viena",
        "du",
        "dvi",
        "vat",
        "žodžiu",
        // Polish
        "i",
        "a",
        "ale",
        "albo",
        "lub",
        "czy",
        "że",
        "żeby",
        "bo",
        "jeśli",
        "jeżeli",
        "gdy",
        "kiedy",
        "to",
        "ten",
        "ta",
        "te",
        "tego",
        "tej",
        "tym",
        "tych",
        "temu",
        "tę",
        "tą",
        "ci",
        "co",
        "czego",
        "czym",
        "kto",
        "kogo",
        "gdzie",
        "jak",
        "jaki",
        "jaka",
        "jakie",
        "który",
        "która",
        "które",
        "którzy",
        "ja",
        "ty",
        "on",
        "ona",
        "ono",
        "my",
        "wy",
        "oni",
        "one",
        "mnie",
        "mi",
        "mną",
        "ciebie",
        "cię",
        "tobie",
        "go",
        "jego",
        "jemu",
        "mu",
        "niego",
        "niej",
        "jej",
        "ją",
        "nas",
        "nam",
        "nami",
        "was",
        "wam",
        "ich",
        "im",
        "nich",
        "nim",
        "nimi",
        "się",
        "sobie",
        "siebie",
        "mój",
        "moja",
        "moje",
        "twój",
        "swój",
        "swoje",
        "swoja",
        "nasz",
        "nasza",
        "nasze",
        "wasz",
        "jest",
        "są",
        "był",
        "była",
        "było",
        "byli",
        "będzie",
        "być",
        "jestem",
        "jesteś",
        "jesteśmy",
        "nie",
        "tak",
        "w",
        "we",
        "z",
        "ze",
        "na",
        "do",
        "od",
        "po",
        "o",
        "u",
        "za",
        "przez",
        "przy",
        "dla",
        "pod",
        "nad",
        "przed",
        "między",
        "bez",
        "już",
        "jeszcze",
        "tylko",
        "też",
        "także",
        "również",
        "bardzo",
        "dużo",
        "mało",
        "tu",
        "tutaj",
        "tam",
        "wszystko",
        "wszyscy",
        "coś",
        "ktoś",
        "jakoś",
        "jakiś",
        "jakby",
        "każdy",
        "taki",
        "taka",
        "takie",
        "teraz",
        "potem",
        "wtedy",
        "zawsze",
        "nigdy",
        "czasem",
        "czasami",
        "często",
        "może",
        "można",
        "trzeba",
        "musi",
        "mam",
        "ma",
        "mamy",
        "mają",
        "chcę",
        "chce",
        "myślę",
        "wiem",
        "no",
        "właśnie",
        "dobrze",
        "jakoś",
        "jednak",
        "więc",
        "czyli",
        "raczej",
        "chyba",
        "np",
        "itd",
        "jako",
        "aby",
        "oraz",
        "ani",
        "niż",
        "przecież",
        "trochę",
        "zawsze",
        // Russian
        "и",
        "а",
        "но",
        "или",
        "да",
        "нет",
        "не",
        "ни",
        "что",
        "чтобы",
        "если",
        "когда",
        "потому",
        "так",
        "как",
        "это",
        "этот",
        "эта",
        "эти",
        "этого",
        "этой",
        "этом",
        "тот",
        "та",
        "те",
        "то",
        "того",
        "той",
        "том",
        "кто",
        "где",
        "куда",
        "какой",
        "какая",
        "какие",
        "который",
        "которая",
        "которые",
        "я",
        "ты",
        "он",
        "она",
        "оно",
        "мы",
        "вы",
        "они",
        "меня",
        "мне",
        "мной",
        "тебя",
        "тебе",
        "его",
        "ему",
        "него",
        "ней",
        "её",
        "ее",
        "ей",
        "нас",
        "нам",
        "вас",
        "вам",
        "их",
        "им",
        "них",
        "ним",
        "себя",
        "себе",
        "мой",
        "моя",
        "мое",
        "моё",
        "мои",
        "твой",
        "свой",
        "своя",
        "свои",
        "наш",
        "наша",
        "ваш",
        "был",
        "была",
        "было",
        "были",
        "будет",
        "быть",
        "есть",
        "в",
        "во",
        "на",
        "с",
        "со",
        "к",
        "ко",
        "по",
        "о",
        "об",
        "от",
        "до",
        "из",
        "за",
        "для",
        "при",
        "про",
        "под",
        "над",
        "перед",
        "между",
        "без",
        "через",
        "у",
        "уже",
        "еще",
        "ещё",
        "только",
        "тоже",
        "также",
        "очень",
        "много",
        "мало",
        "тут",
        "здесь",
        "там",
        "все",
        "всё",
        "всех",
        "весь",
        "вся",
        "что-то",
        "кто-то",
        "как-то",
        "какой-то",
        "каждый",
        "такой",
        "такая",
        "такие",
        "сейчас",
        "потом",
        "тогда",
        "всегда",
        "никогда",
        "иногда",
        "часто",
        "может",
        "можно",
        "нужно",
        "надо",
        "ну",
        "вот",
        "же",
        "ли",
        "бы",
        "даже",
        "просто",
        "думаю",
        "знаю",
        "хочу",
        "очень",
        "ведь",
        "вообще",
        "типа",
        "значит",
        "короче",
        "наверное",
        "кажется",
        "ещё",
        "чем",
        "чтоб",
        "раз",
        "один",
        "одна",
        "два",
        "три",
    ]
    .into_iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64 — deterministic test randomness.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
            z ^ (z >> 31)
        }
        fn unif(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn gauss(&mut self) -> f64 {
            let u1 = self.unif().max(1e-300);
            let u2 = self.unif();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
        fn unit(&mut self, dim: usize) -> Vec<f64> {
            let v: Vec<f64> = (0..dim).map(|_| self.gauss()).collect();
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / n).collect()
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    const DIM: usize = 384;

    fn mix(parts: &[(&[f64], f64)]) -> Vec<f32> {
        let mut v = vec![0f64; DIM];
        for (p, w) in parts {
            for k in 0..DIM {
                v[k] += p[k] * w;
            }
        }
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.into_iter().map(|x| (x / n) as f32).collect()
    }

    const TOPICS: [[&str; 4]; 6] = [
        ["export", "csv", "button", "download"],
        ["password", "login", "reset", "email"],
        ["map", "zoom", "location", "marker"],
        ["price", "subscription", "invoice", "billing"],
        ["chart", "axis", "legend", "colours"],
        ["filter", "dropdown", "category", "search"],
    ];
    const GENERIC: [&str; 6] = ["screen", "page", "tool", "option", "part", "section"];

    struct Data {
        texts: Vec<String>,
        emb: Vec<Vec<f32>>,
        parts: Vec<String>,
        truth: Vec<Option<usize>>, // planted cluster or None for noise/filler
    }

    /// `k` planted clusters of `per` sentences (e5-like: baseline cosine ≈ 0.78
    /// between unrelated sentences, ≈ 0.93 within a cluster) spread round-robin
    /// over `n_parts` participants, plus `noise` unrelated sentences and a few
    /// filler lines.
    fn planted(seed: u64, k: usize, per: usize, n_parts: usize, noise: usize) -> Data {
        let mut r = Rng(seed);
        let base = r.unit(DIM);
        let centres: Vec<Vec<f64>> = (0..k).map(|_| r.unit(DIM)).collect();
        let mut d = Data {
            texts: vec![],
            emb: vec![],
            parts: vec![],
            truth: vec![],
        };
        let mut p = 0usize;
        for c in 0..k {
            for _ in 0..per {
                let g = r.unit(DIM);
                d.emb
                    .push(mix(&[(&base, 1.0), (&centres[c], 0.45), (&g, 0.3)]));
                let w = &TOPICS[c % TOPICS.len()];
                let (a, b) = (r.pick(w), r.pick(w));
                d.texts.push(format!(
                    "I found the {} {} on this {} really {} to use",
                    a,
                    b,
                    r.pick(&GENERIC),
                    r.pick(&["hard", "odd", "slow", "clunky"])
                ));
                d.parts.push(format!("P{}", p % n_parts + 1));
                d.truth.push(Some(c));
                p += 1;
            }
        }
        let noise_words = [
            "weather", "holiday", "coffee", "train", "garden", "music", "football", "kitchen",
            "history", "printer", "meeting", "budget", "office", "family", "travel", "dinner",
            "paper", "window",
        ];
        for i in 0..noise {
            let h = r.unit(DIM);
            d.emb.push(mix(&[(&base, 1.0), (&h, 0.55)]));
            d.texts.push(format!(
                "Yesterday my {} and the {} were {} somehow",
                r.pick(&noise_words),
                r.pick(&noise_words),
                r.pick(&["strange", "lovely", "late", "broken"])
            ));
            d.parts.push(format!("P{}", i % n_parts + 1));
            d.truth.push(None);
        }
        for (i, f) in [
            "Okay.",
            "Yeah, yeah.",
            "Right, okay yeah",
            "Tak, tak.",
            "Да, хорошо.",
            "Taip, gerai.",
        ]
        .iter()
        .enumerate()
        {
            // fillers get an embedding identical to cluster 0's centre region
            let g = r.unit(DIM);
            let c0 = centres.first().unwrap_or(&base);
            d.emb.push(mix(&[(&base, 1.0), (c0, 0.45), (&g, 0.3)]));
            d.texts.push(f.to_string());
            d.parts.push(format!("P{}", i % n_parts + 1));
            d.truth.push(None);
        }
        d
    }

    fn run(d: &Data, o: &Options) -> Vec<Discovered> {
        let t: Vec<&str> = d.texts.iter().map(|s| s.as_str()).collect();
        let p: Vec<&str> = d.parts.iter().map(|s| s.as_str()).collect();
        discover(&t, &d.emb, &p, o)
    }

    /// For each planted cluster: best-matching theme's (precision, recall).
    fn match_quality(d: &Data, themes: &[Discovered], k: usize) -> Vec<(f64, f64)> {
        (0..k)
            .map(|c| {
                let total = d.truth.iter().filter(|t| **t == Some(c)).count() as f64;
                themes
                    .iter()
                    .map(|th| {
                        let hit = th
                            .members
                            .iter()
                            .filter(|&&m| d.truth[m] == Some(c))
                            .count() as f64;
                        (hit / th.members.len() as f64, hit / total)
                    })
                    .max_by(|a, b| (a.0 * a.1).partial_cmp(&(b.0 * b.1)).unwrap())
                    .unwrap_or((0.0, 0.0))
            })
            .collect()
    }

    #[test]
    fn recovers_planted_clusters_and_leaves_noise() {
        let d = planted(7, 5, 14, 6, 80);
        let themes = run(&d, &Options::default());
        assert!(themes.len() >= 5, "got {} themes", themes.len());
        for (c, (prec, rec)) in match_quality(&d, &themes, 5).into_iter().enumerate() {
            assert!(
                prec >= 0.9 && rec >= 0.8,
                "cluster {c}: precision {prec}, recall {rec}"
            );
        }
        let assigned: HashSet<usize> = themes
            .iter()
            .flat_map(|t| t.members.iter().copied())
            .collect();
        let noise_assigned = assigned.iter().filter(|&&m| d.truth[m].is_none()).count();
        assert!(
            noise_assigned * 4 <= 80,
            "{noise_assigned} noise sentences assigned"
        );
        // no giant cluster
        assert!(themes.iter().all(|t| t.members.len() <= 30));
        // fillers are never members
        for t in &themes {
            for &m in &t.members {
                assert!(d.texts[m].split_whitespace().count() >= 4);
            }
        }
    }

    #[test]
    fn session_talk_and_one_speakers_words_are_no_theme() {
        let mut d = planted(21, 4, 12, 6, 40);
        let n0 = d.texts.len();
        let mut r = Rng(7);
        let talk = r.unit(DIM);
        let base = d.emb[0].iter().map(|&x| x as f64).collect::<Vec<_>>();
        // a tight group of talk about the session, in four languages, from four people
        for (p, t) in [
            "So the task is completed now.",
            "Can I move on to the next question?",
            "Okay, the task is done, next task.",
            "Gerai, užduotis baigta, kitas klausimas.",
            "Dobrze, zadanie skończone, następne pytanie.",
            "Так, задание готово, следующий вопрос.",
        ]
        .iter()
        .enumerate()
        {
            let g = r.unit(DIM);
            d.emb.push(mix(&[(&base, 1.0), (&talk, 0.6), (&g, 0.05)]));
            d.texts.push(t.to_string());
            d.parts.push(format!("P{}", p % 4 + 1));
            d.truth.push(None);
        }
        // a tight group whose only shared word ("turquoise") is one participant's
        let solo = r.unit(DIM);
        for (p, t) in [
            ("P1", "The turquoise header looked odd to me."),
            ("P1", "Again that turquoise banner puzzles me."),
            ("P2", "Honestly the colours confuse me somewhat here."),
            ("P3", "I think these shades seem weird somehow."),
        ] {
            let g = r.unit(DIM);
            d.emb.push(mix(&[(&base, 1.0), (&solo, 0.6), (&g, 0.05)]));
            d.texts.push(t.to_string());
            d.parts.push(p.to_string());
            d.truth.push(None);
        }
        let themes = run(&d, &Options::default());
        for th in &themes {
            assert!(
                th.members.iter().all(|&m| m < n0),
                "session talk or a one-speaker word became theme {:?}",
                th.label
            );
        }
        // the planted topics are still found
        let q = match_quality(&d, &themes, 4);
        assert!(q.iter().filter(|x| x.0 >= 0.8).count() >= 3, "{q:?}");
    }

    #[test]
    fn read_aloud_boilerplate_is_ignored() {
        let mut d = planted(21, 4, 12, 6, 40);
        // the same task prompt read aloud by 4 participants, embedded tightly together
        let mut r = Rng(99);
        let prompt = r.unit(DIM);
        let base = d.emb[0].iter().map(|&x| x as f64).collect::<Vec<_>>();
        for p in 0..4 {
            let g = r.unit(DIM);
            d.emb.push(mix(&[(&base, 1.0), (&prompt, 0.5), (&g, 0.05)]));
            d.texts
                .push("Which individual event uses the most data sets?".into());
            d.parts.push(format!("P{}", p + 1));
            d.truth.push(None);
        }
        let n0 = d.texts.len() - 4;
        for th in run(&d, &Options::default()) {
            assert!(
                th.members.iter().all(|&m| m < n0),
                "read-aloud prompt in theme {:?}",
                th.label
            );
        }
    }

    #[test]
    fn pure_noise_gives_only_small_groups() {
        // isotropic noise: no structure. Chance triplets can pass the null
        // level, but nothing big forms and most sentences stay unassigned.
        let d = planted(13, 0, 0, 5, 300);
        let themes = run(&d, &Options::default());
        let assigned: usize = themes.iter().map(|t| t.members.len()).sum();
        assert!(
            assigned * 6 <= 300,
            "{} of 300 noise sentences assigned to {} themes",
            assigned,
            themes.len()
        );
        assert!(themes.iter().all(|t| t.members.len() <= 6));
    }

    #[test]
    fn dominant_topic_is_split_not_swallowing() {
        // one broad topic holding ~45 % of the sentences, made of 3 sub-topics
        let mut d = planted(17, 3, 12, 6, 60);
        let mut r = Rng(5);
        let base: Vec<f64> = {
            // recover the shared baseline direction approximately from the noise mean
            let mut b = vec![0f64; DIM];
            for (e, t) in d.emb.iter().zip(&d.truth) {
                if t.is_none() {
                    for k in 0..DIM {
                        b[k] += e[k] as f64;
                    }
                }
            }
            let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
            b.into_iter().map(|x| x / nb).collect()
        };
        let big = r.unit(DIM);
        let subs: Vec<Vec<f64>> = (0..3).map(|_| r.unit(DIM)).collect();
        let words = [["map", "zoom"], ["price", "billing"], ["chart", "legend"]];
        for i in 0..75 {
            let s = i % 3;
            let g = r.unit(DIM);
            d.emb.push(mix(&[
                (&base, 1.0),
                (&big, 0.45),
                (&subs[s], 0.3),
                (&g, 0.15),
            ]));
            d.texts.push(format!(
                "The big dashboard {} {} widget was {} for me on {}",
                words[s][0],
                words[s][1],
                ["confusing", "slow", "odd", "fiddly", "unclear"][i % 5],
                [
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday"
                ][i % 7]
            ));
            d.parts.push(format!("P{}", i % 6 + 1));
            d.truth.push(Some(10 + s));
        }
        let themes = run(&d, &Options::default());
        let kept = d
            .texts
            .iter()
            .filter(|t| t.split_whitespace().count() >= 4)
            .count();
        for th in &themes {
            assert!(
                th.members.len() as f64 <= MAX_CLUSTER_FRACTION * kept as f64,
                "{} members",
                th.members.len()
            );
        }
        // the three sub-topics come back as themes
        for s in 0..3 {
            let best = themes
                .iter()
                .map(|th| {
                    th.members
                        .iter()
                        .filter(|&&m| d.truth[m] == Some(10 + s))
                        .count()
                })
                .max()
                .unwrap_or(0);
            assert!(best >= 20, "sub-topic {s}: best theme holds {best} of 25");
        }
    }

    #[test]
    fn inflected_languages_share_stems() {
        let mut d = planted(31, 3, 12, 4, 30);
        let lt = [
            "Norėčiau greičiau eksportuoti duomenis į failą",
            "Eksporto mygtukas buvo sunkiai randamas ekrane",
            "Nepavyko eksportuoti ataskaitos iš sistemos",
            "Eksportas užtruko ilgiau nei tikėjausi vakar",
        ];
        let ru = [
            "Фильтрация по категориям работает медленно сегодня",
            "Фильтры сложно найти на главной странице",
            "Хотелось бы фильтровать результаты быстрее обычного",
            "Фильтрацию нужно сделать понятнее для новых пользователей",
        ];
        for i in 0..d.texts.len() {
            match d.truth[i] {
                Some(0) => {
                    d.texts[i] = lt[i % 4].to_string() + [" šiandien", " dažnai", " kartais"][i % 3]
                }
                Some(1) => {
                    d.texts[i] = ru[i % 4].to_string() + [" снова", " опять", " вчера"][i % 3]
                }
                _ => {}
            }
        }
        let themes = run(&d, &Options::default());
        let kw_of = |c: usize| {
            themes
                .iter()
                .max_by_key(|t| t.members.iter().filter(|&&m| d.truth[m] == Some(c)).count())
                .map(|t| t.keywords.clone())
                .unwrap_or_default()
        };
        let lt_kw = kw_of(0);
        assert!(lt_kw.iter().any(|k| k.starts_with("eksport")), "{lt_kw:?}");
        let ru_kw = kw_of(1);
        assert!(ru_kw.iter().any(|k| k.starts_with("фильтр")), "{ru_kw:?}");
    }

    #[test]
    fn deterministic() {
        let d = planted(11, 6, 10, 5, 120);
        let a = run(&d, &Options::default());
        let b = run(&d, &Options::default());
        assert_eq!(a, b);
        assert!(!a.is_empty());
    }

    #[test]
    fn labels_come_from_distinctive_words() {
        let d = planted(3, 5, 14, 6, 60);
        let themes = run(&d, &Options::default());
        for th in &themes {
            // the planted topic this theme mostly holds
            let mut counts = [0usize; 6];
            for &m in &th.members {
                if let Some(c) = d.truth[m] {
                    counts[c] += 1;
                }
            }
            let (c, &hits) = counts.iter().enumerate().max_by_key(|&(_, &n)| n).unwrap();
            if hits * 2 < th.members.len() {
                continue;
            }
            let words: Vec<&str> = th.label.split(" · ").flat_map(|t| t.split(' ')).collect();
            assert!(!words.is_empty());
            for w in &words {
                assert!(
                    TOPICS[c].contains(w),
                    "label {:?} of topic {:?} has non-topic word {w}",
                    th.label,
                    TOPICS[c]
                );
            }
            assert!(th.label.contains(" · ") || th.keywords.len() == 1);
        }
    }

    #[test]
    fn min_participants_respected() {
        // cluster 0 entirely from one participant
        let mut d = planted(5, 4, 12, 4, 50);
        for i in 0..d.texts.len() {
            if d.truth[i] == Some(0) {
                d.parts[i] = "Solo".into();
            }
        }
        let themes = run(&d, &Options::default());
        for th in &themes {
            let ps: HashSet<&str> = th.members.iter().map(|&m| d.parts[m].as_str()).collect();
            assert!(ps.len() >= 2);
            assert!(th.members.len() >= 3);
            assert!(th
                .members
                .iter()
                .all(|&m| d.truth[m] != Some(0) || th.members.len() > 12));
        }
        let q = match_quality(&d, &themes, 4);
        assert!(
            q[0].1 < 0.5,
            "single-participant cluster should be dropped: {:?}",
            q[0]
        );
        // with min_participants = 1 it comes back
        let o = Options {
            min_participants: 1,
            ..Options::default()
        };
        let themes = run(&d, &o);
        let q = match_quality(&d, &themes, 4);
        assert!(q[0].0 >= 0.9 && q[0].1 >= 0.8, "{:?}", q[0]);
        // and a stricter requirement drops everything with fewer participants
        let o = Options {
            min_participants: 4,
            ..Options::default()
        };
        for th in run(&d, &o) {
            let ps: HashSet<&str> = th.members.iter().map(|&m| d.parts[m].as_str()).collect();
            assert!(ps.len() >= 4);
        }
    }

    #[test]
    fn ranking_and_cap() {
        let d = planted(9, 6, 12, 6, 40);
        let o = Options {
            max_themes: 3,
            ..Options::default()
        };
        let themes = run(&d, &o);
        assert_eq!(themes.len(), 3);
        let all = run(&d, &Options::default());
        assert_eq!(&all[..3], &themes[..]);
        let key = |t: &Discovered| {
            let ps: HashSet<&str> = t.members.iter().map(|&m| d.parts[m].as_str()).collect();
            (ps.len(), t.members.len())
        };
        for w in all.windows(2) {
            assert!(key(&w[0]) >= key(&w[1]));
        }
        for t in &all {
            assert!(t.members.contains(&t.central));
            assert!(t.cohesion > 0.0 && t.cohesion <= 1.0);
            assert!(t.members.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn degenerate_inputs() {
        let o = Options::default();
        assert!(discover(&[], &[], &[], &o).is_empty());
        let e = vec![vec![1.0f32; 4]];
        assert!(discover(&["a b c d e"], &e, &["P1"], &o).is_empty());
        assert!(discover(&["a b c d e", "x"], &e, &["P1"], &o).is_empty()); // length mismatch
                                                                            // all identical embeddings: one group, no panic
        let e = vec![vec![0.5f32; 4]; 6];
        let t = [
            "export csv button works",
            "export csv button fails",
            "export csv button broke",
            "export csv button slow",
            "export csv button missing",
            "export csv button hidden",
        ];
        let p = ["A", "B", "A", "B", "A", "B"];
        let r = discover(&t, &e, &p, &o);
        assert!(r.len() <= 1);
    }

    /// Naive O(n³) UPGMA for cross-checking the NN-chain implementation.
    fn naive_heights(vecs: &[f32], n: usize, dim: usize) -> Vec<f32> {
        let mut clusters: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        let dist = |i: usize, j: usize| {
            1.0 - dot(&vecs[i * dim..(i + 1) * dim], &vecs[j * dim..(j + 1) * dim]) as f64
        };
        let mut hs = Vec::new();
        while clusters.len() > 1 {
            let mut best = (f64::INFINITY, 0, 0);
            for a in 0..clusters.len() {
                for b in a + 1..clusters.len() {
                    let mut s = 0.0;
                    for &i in &clusters[a] {
                        for &j in &clusters[b] {
                            s += dist(i, j);
                        }
                    }
                    let avg = s / (clusters[a].len() * clusters[b].len()) as f64;
                    if avg < best.0 {
                        best = (avg, a, b);
                    }
                }
            }
            let bpart = clusters.remove(best.2);
            clusters[best.1].extend(bpart);
            hs.push(best.0 as f32);
        }
        hs
    }

    #[test]
    fn nn_chain_matches_naive_upgma() {
        let mut r = Rng(42);
        let (n, dim) = (40, 16);
        let mut v = Vec::new();
        for _ in 0..n {
            v.extend(r.unit(dim).into_iter().map(|x| x as f32));
        }
        let (m, _, _) = average_linkage(&v, n, dim);
        let mut got: Vec<f32> = m.iter().map(|m| m.h).collect();
        let mut want = naive_heights(&v, n, dim);
        got.sort_by(|a, b| a.partial_cmp(b).unwrap());
        want.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
    }

    #[test]
    fn tokenizer_and_filters() {
        assert_eq!(
            tokenize("Don’t export CSV-files, ąžuolas Привет!"),
            vec!["don't", "export", "csv", "files", "ąžuolas", "привет"]
        );
        let f = fillers();
        assert!(tokenize("Okay yeah right")
            .iter()
            .all(|t| f.contains(t.as_str())));
    }

    #[test]
    fn scales_to_a_few_thousand() {
        // 3000 sentences in release; fewer in (unoptimised) debug builds
        let n_noise = if cfg!(debug_assertions) { 500 } else { 2700 };
        let d = planted(1, 10, 30, 15, n_noise);
        let t0 = std::time::Instant::now();
        let themes = run(&d, &Options::default());
        let el = t0.elapsed();
        eprintln!("n = {}: {} themes in {:?}", d.texts.len(), themes.len(), el);
        assert!(themes.len() >= 8);
        let q = match_quality(&d, &themes, 10);
        let good = q.iter().filter(|(p, r)| *p >= 0.8 && *r >= 0.7).count();
        assert!(good >= 8, "{q:?}");
    }
}
