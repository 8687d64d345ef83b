//! Speaker diarization of a mono recording from speech regions (VAD output):
//! sliding CAM++ windows → agglomerative clustering → per-frame vote → turns.
//! Also a DER scorer and a minimal RTTM reader for tests.

use super::campplus::CamPlus;
use super::cluster::{agglomerative_robust, estimate_speakers};

/// Sample rate the model and the sample offsets assume.
pub const SAMPLE_RATE: f64 = 16_000.0;
/// Embedding window length in seconds.
pub const WINDOW: f64 = 1.5;
/// Hop between windows in seconds.
pub const HOP: f64 = 0.75;
/// Resolution of the per-frame vote (and of [`der`]) in seconds.
pub const FRAME: f64 = 0.01;
/// Windows shorter than this (seconds) are assigned to the nearest cluster
/// after clustering instead of taking part in it (see [`diarize`]).
pub const MIN_CLUSTER_WINDOW: f64 = 1.0;
/// Upper bound for the automatic speaker count.
pub const MAX_SPEAKERS: usize = 8;

/// One speaker turn, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Turn {
    pub start: f64,
    pub end: f64,
    pub speaker: usize,
}

/// Embedding windows `(start, end)` in seconds for speech regions: regions up
/// to [`WINDOW`] long get a single window covering them; longer regions get
/// windows every [`HOP`] seconds, the last one aligned to the region's end.
pub fn windows(speech: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for &(s, e) in speech {
        let len = e - s;
        if len <= 0.0 {
            continue;
        }
        if len <= WINDOW + 1e-6 {
            out.push((s, e));
            continue;
        }
        let n = ((len - WINDOW) / HOP - 1e-6).ceil() as usize + 1;
        for i in 0..n {
            let start = (s + i as f64 * HOP).min(e - WINDOW);
            out.push((start, start + WINDOW));
        }
    }
    out
}

/// Diarize `samples` (16 kHz mono in [-1, 1]) given speech regions in seconds.
///
/// `speakers`: the number of speakers if known, else `None` to estimate it
/// (see [`estimate_speakers`], at most [`MAX_SPEAKERS`]). Windows shorter than
/// [`MIN_CLUSTER_WINDOW`] do not take part in the clustering but join the
/// nearest cluster afterwards (unless there are too few long windows). Each 10 ms frame of
/// speech gets the label most of the windows covering it voted for (ties go
/// to the window whose centre is closest); consecutive frames with the same
/// label form a turn. Returns turns sorted by time, speakers numbered from 0
/// by first appearance.
pub fn diarize(
    samples: &[f32],
    speech: &[(f64, f64)],
    model: &CamPlus,
    speakers: Option<usize>,
) -> candle_core::Result<Vec<Turn>> {
    let to_sample = |t: f64| ((t * SAMPLE_RATE).round().max(0.0) as usize).min(samples.len());
    let wins: Vec<(f64, f64)> = windows(speech)
        .into_iter()
        .filter(|&(s, e)| to_sample(e) > to_sample(s))
        .collect();
    if wins.is_empty() {
        return Ok(Vec::new());
    }
    let audio: Vec<&[f32]> = wins
        .iter()
        .map(|&(s, e)| {
            let a = to_sample(s);
            // Full windows always get exactly WINDOW·SAMPLE_RATE samples (one batch).
            let b = if (e - s - WINDOW).abs() < 1e-6 {
                a + (WINDOW * SAMPLE_RATE) as usize
            } else {
                to_sample(e)
            };
            &samples[a..b.min(samples.len())]
        })
        .collect();
    let embeddings = model.embed(&audio)?;
    let labels = cluster_windows(&embeddings, &wins, speakers);
    let k = labels.iter().max().map_or(0, |&m| m + 1);

    // Per-frame votes over speech frames.
    let end = speech.iter().map(|r| r.1).fold(0.0, f64::max);
    let n_frames = (end / FRAME).ceil() as usize;
    let centre = |f: usize| (f as f64 + 0.5) * FRAME;
    let mut in_speech = vec![false; n_frames];
    for &(s, e) in speech {
        for f in frame_range(s, e, n_frames) {
            in_speech[f] = true;
        }
    }
    let mut votes = vec![0f64; n_frames * k];
    for (&(s, e), &label) in wins.iter().zip(&labels) {
        let (mid, half) = ((s + e) / 2.0, (e - s) / 2.0);
        for f in frame_range(s, e, n_frames) {
            // One vote per window, plus a tie-breaker < 1e-3 favouring central frames.
            votes[f * k + label] += 1.0 + 1e-3 * (1.0 - (centre(f) - mid).abs() / half);
        }
    }
    let mut frame_labels = vec![None; n_frames];
    for f in 0..n_frames {
        if in_speech[f] {
            let v = &votes[f * k..(f + 1) * k];
            let (best, &score) = v
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap();
            if score > 0.0 {
                frame_labels[f] = Some(best);
            }
        }
    }
    Ok(renumber(frames_to_turns(&frame_labels)))
}

/// Label windows. Windows shorter than [`MIN_CLUSTER_WINDOW`] (short speech
/// regions) give noisy embeddings that average linkage tends to isolate as a
/// "speaker" of their own, so when there are enough long windows only those
/// are clustered (and used to estimate the speaker count); each short window
/// then joins the cluster whose mean embedding is closest (cosine).
fn cluster_windows(
    embeddings: &[Vec<f32>],
    wins: &[(f64, f64)],
    speakers: Option<usize>,
) -> Vec<usize> {
    let long: Vec<usize> = (0..wins.len())
        .filter(|&i| wins[i].1 - wins[i].0 >= MIN_CLUSTER_WINDOW)
        .collect();
    let wanted = speakers.unwrap_or(1).max(1);
    let core: Vec<usize> = if long.len() >= wanted.max(2) {
        long
    } else {
        (0..wins.len()).collect()
    };
    let core_emb: Vec<Vec<f32>> = core.iter().map(|&i| embeddings[i].clone()).collect();
    let k = match speakers {
        Some(k) => k.max(1),
        None => estimate_speakers(&core_emb, MAX_SPEAKERS),
    };
    // Each speaker must hold at least 5 % of the windows (see `agglomerative_robust`).
    let core_labels = agglomerative_robust(&core_emb, k, 0.05);
    let k = core_labels.iter().max().map_or(0, |&m| m + 1);

    let dim = embeddings[0].len();
    let mut centroids = vec![vec![0f32; dim]; k];
    for (&i, &l) in core.iter().zip(&core_labels) {
        for (c, &v) in centroids[l].iter_mut().zip(&embeddings[i]) {
            *c += v;
        }
    }
    let cosine = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (na * nb).max(1e-12)
    };
    let mut labels = vec![usize::MAX; wins.len()];
    for (&i, &l) in core.iter().zip(&core_labels) {
        labels[i] = l;
    }
    for (i, label) in labels.iter_mut().enumerate() {
        if *label == usize::MAX {
            *label = (0..k)
                .max_by(|&a, &b| {
                    cosine(&embeddings[i], &centroids[a])
                        .total_cmp(&cosine(&embeddings[i], &centroids[b]))
                })
                .unwrap();
        }
    }
    labels
}

/// Frames whose centres lie in `[start, end)`.
fn frame_range(start: f64, end: f64, n_frames: usize) -> std::ops::Range<usize> {
    let first = ((start / FRAME - 0.5).ceil().max(0.0) as usize).min(n_frames);
    let last = ((end / FRAME - 0.5).ceil().max(0.0) as usize).min(n_frames);
    first..last.max(first)
}

fn frames_to_turns(labels: &[Option<usize>]) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::new();
    for (f, l) in labels.iter().enumerate() {
        let Some(speaker) = *l else { continue };
        let (start, end) = (f as f64 * FRAME, (f + 1) as f64 * FRAME);
        match turns.last_mut() {
            Some(t) if t.speaker == speaker && (t.end - start).abs() < FRAME / 2.0 => t.end = end,
            _ => turns.push(Turn {
                start,
                end,
                speaker,
            }),
        }
    }
    turns
}

/// Renumber speakers 0.. by first appearance in time.
fn renumber(mut turns: Vec<Turn>) -> Vec<Turn> {
    let mut ids: Vec<Option<usize>> = Vec::new();
    let mut next = 0;
    for t in turns.iter_mut() {
        if ids.len() <= t.speaker {
            ids.resize(t.speaker + 1, None);
        }
        let id = *ids[t.speaker].get_or_insert_with(|| {
            next += 1;
            next - 1
        });
        t.speaker = id;
    }
    turns
}

/// Diarization error rate of `hypothesis` against `reference`, with an optimal
/// one-to-one speaker mapping (Hungarian algorithm on co-occurrence time).
///
/// Scored on 10 ms frames. `collar`: frames within ± `collar` seconds of any
/// reference turn boundary are not scored (md-eval / dscore convention;
/// pyannote.metrics' `collar=c` removes ± c/2). Overlapping reference speech
/// counts once per speaker, as in NIST md-eval:
/// `DER = Σ (max(N_ref, N_hyp) − N_correct) / Σ N_ref`.
///
/// Returns `(DER, share)`, where `share` is the fraction of scored frames with
/// exactly one reference speaker in which the hypothesis has exactly one
/// speaker and it maps to that reference speaker.
pub fn der(reference: &[Turn], hypothesis: &[Turn], collar: f64) -> (f64, f64) {
    let end = reference
        .iter()
        .chain(hypothesis)
        .map(|t| t.end)
        .fold(0.0, f64::max);
    let n = (end / FRAME).ceil() as usize + 1;
    let n_ref = reference.iter().map(|t| t.speaker + 1).max().unwrap_or(0);
    let n_hyp = hypothesis.iter().map(|t| t.speaker + 1).max().unwrap_or(0);
    let activity = |turns: &[Turn], speakers: usize| {
        let mut a = vec![false; n * speakers];
        for t in turns {
            for f in frame_range(t.start, t.end, n) {
                a[f * speakers + t.speaker] = true;
            }
        }
        a
    };
    let (ref_act, hyp_act) = (activity(reference, n_ref), activity(hypothesis, n_hyp));
    let mut scored = vec![true; n];
    if collar > 0.0 {
        for t in reference {
            for b in [t.start, t.end] {
                for f in frame_range(b - collar, b + collar, n) {
                    scored[f] = false;
                }
            }
        }
    }

    // Co-occurrence (frames) of reference speaker r and hypothesis speaker h.
    let size = n_ref.max(n_hyp);
    let mut overlap = vec![vec![0f64; size]; size];
    for f in (0..n).filter(|&f| scored[f]) {
        for r in 0..n_ref {
            if ref_act[f * n_ref + r] {
                for h in 0..n_hyp {
                    if hyp_act[f * n_hyp + h] {
                        overlap[r][h] += 1.0;
                    }
                }
            }
        }
    }
    let cost: Vec<Vec<f64>> = overlap
        .iter()
        .map(|row| row.iter().map(|&v| -v).collect())
        .collect();
    let assign = hungarian(&cost); // assign[r] = h
    let mapped = |r: usize| {
        if r < n_ref && assign[r] < n_hyp {
            Some(assign[r])
        } else {
            None
        }
    };

    let (mut total, mut errors) = (0f64, 0f64);
    let (mut single, mut single_ok) = (0f64, 0f64);
    for f in (0..n).filter(|&f| scored[f]) {
        let refs: Vec<usize> = (0..n_ref).filter(|&r| ref_act[f * n_ref + r]).collect();
        let hyps: Vec<usize> = (0..n_hyp).filter(|&h| hyp_act[f * n_hyp + h]).collect();
        let correct = refs
            .iter()
            .filter(|&&r| mapped(r).is_some_and(|h| hyps.contains(&h)))
            .count();
        total += refs.len() as f64;
        errors += (refs.len().max(hyps.len()) - correct) as f64;
        if refs.len() == 1 {
            single += 1.0;
            if hyps.len() == 1 && mapped(refs[0]) == Some(hyps[0]) {
                single_ok += 1.0;
            }
        }
    }
    let rate = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    (rate(errors, total), rate(single_ok, single))
}

/// Minimum-cost assignment on a square matrix (Hungarian algorithm, O(n³)).
/// Returns `assign[row] = column`.
fn hungarian(cost: &[Vec<f64>]) -> Vec<usize> {
    let n = cost.len();
    // Potentials and matching, 1-based with a sentinel column 0 (e-maxx formulation).
    let (mut u, mut v) = (vec![0f64; n + 1], vec![0f64; n + 1]);
    let mut row_of = vec![0usize; n + 1]; // row_of[col] = matched row
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let (mut delta, mut j1) = (f64::INFINITY, 0);
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut assign = vec![0; n];
    for j in 1..=n {
        if row_of[j] > 0 {
            assign[row_of[j] - 1] = j - 1;
        }
    }
    assign
}

/// Parse RTTM `SPEAKER` lines (`SPEAKER file chan start dur <NA> <NA> label …`).
/// Speaker labels become indices by first appearance; turns are sorted by start.
pub fn read_rttm(text: &str) -> Vec<Turn> {
    let mut names: Vec<String> = Vec::new();
    let mut turns = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || f[0] != "SPEAKER" {
            continue;
        }
        let (Ok(start), Ok(dur)) = (f[3].parse::<f64>(), f[4].parse::<f64>()) else {
            continue;
        };
        let speaker = match names.iter().position(|n| n == f[7]) {
            Some(i) => i,
            None => {
                names.push(f[7].to_string());
                names.len() - 1
            }
        };
        turns.push(Turn {
            start,
            end: start + dur,
            speaker,
        });
    }
    turns.sort_by(|a, b| a.start.total_cmp(&b.start));
    turns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(start: f64, end: f64, speaker: usize) -> Turn {
        Turn {
            start,
            end,
            speaker,
        }
    }

    #[test]
    fn window_layout() {
        assert_eq!(windows(&[(1.0, 2.0)]), vec![(1.0, 2.0)]);
        assert_eq!(windows(&[(0.0, 1.5)]), vec![(0.0, 1.5)]);
        let w = windows(&[(0.0, 3.0)]);
        assert_eq!(w, vec![(0.0, 1.5), (0.75, 2.25), (1.5, 3.0)]);
        let w = windows(&[(10.0, 12.0)]);
        assert_eq!(w, vec![(10.0, 11.5), (10.5, 12.0)]);
        assert!(windows(&[(3.0, 3.0)]).is_empty());
    }

    #[test]
    fn rttm_parsing() {
        let text = "SPEAKER x 1 6.690 0.430 <NA> <NA> bob <NA> <NA>\n\
                    SPEAKER x 1 0.5 1.0 <NA> <NA> alice <NA> <NA>\n\
                    SPEAKER x 1 8.0 1.0 <NA> <NA> alice <NA> <NA>\n";
        let turns = read_rttm(text);
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[0], t(0.5, 1.5, 1));
        assert!((turns[1].end - 7.12).abs() < 1e-9 && turns[1].speaker == 0);
    }

    #[test]
    fn der_perfect_with_swapped_labels() {
        let reference = vec![t(0.0, 5.0, 0), t(5.0, 9.0, 1)];
        let hypothesis = vec![t(0.0, 5.0, 1), t(5.0, 9.0, 0)];
        let (d, share) = der(&reference, &hypothesis, 0.0);
        assert!(d.abs() < 1e-9 && (share - 1.0).abs() < 1e-9);
    }

    #[test]
    fn der_components() {
        // 10 s of reference; hypothesis misses 1 s, confuses 2 s, adds 1 s false alarm.
        let reference = vec![t(0.0, 6.0, 0), t(6.0, 10.0, 1)];
        let hypothesis = vec![
            t(1.0, 6.0, 0),
            t(6.0, 8.0, 1),
            t(8.0, 10.0, 0),
            t(10.0, 11.0, 1),
        ];
        let (d, share) = der(&reference, &hypothesis, 0.0);
        assert!((d - 0.4).abs() < 1e-6, "{d}");
        assert!((share - 0.7).abs() < 1e-6, "{share}");
        // A collar of 0.5 s removes ± 0.5 s around the boundaries 0, 6 and 10:
        // scored reference 0.5–5.5 and 6.5–9.5 = 8 s, with 0.5 s missed,
        // 1.5 s confused and 0.5 s (10.5–11) false alarm.
        let (d, _) = der(&reference, &hypothesis, 0.5);
        assert!((d - 2.5 / 8.0).abs() < 1e-6, "{d}");
    }

    #[test]
    fn hungarian_small() {
        let cost = vec![
            vec![4.0, 1.0, 3.0],
            vec![2.0, 0.0, 5.0],
            vec![3.0, 2.0, 2.0],
        ];
        assert_eq!(hungarian(&cost), vec![1, 0, 2]);
    }

    #[test]
    fn turns_from_frames() {
        let labels = [None, Some(1), Some(1), None, Some(1), Some(0), Some(0)];
        let turns = renumber(frames_to_turns(&labels));
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[0].speaker, 0);
        assert_eq!(turns[2].speaker, 1);
        assert!((turns[0].start - 0.01).abs() < 1e-9 && (turns[0].end - 0.03).abs() < 1e-9);
    }
}
