//! Voice activity: which parts of a recording hold speech (Silero VAD, run by whisper.cpp).
//!
//! whisper.cpp 1.8.3 ignores `FullParams::enable_vad` inside `whisper_full` (whisper.cpp#3402),
//! so sowhat runs the VAD itself: it finds the speech spans, joins them with 0.1 s of silence
//! into one buffer that Whisper transcribes, and maps every timestamp back to the original
//! recording with a [`TimeMap`]. Transcribing the joined audio in one go keeps Whisper's text
//! quality (transcribing each span alone degrades it); silence and noise never reach Whisper,
//! which is what stops it from inventing "Thank you." over a quiet room.

use crate::audio::SAMPLE_RATE;
use crate::error::{Error, Result};
use std::path::Path;
use whisper_rs::{WhisperVadContext, WhisperVadContextParams, WhisperVadParams};

/// Silence put between joined speech spans, in samples (0.1 s).
pub const JOIN_GAP: usize = (SAMPLE_RATE / 10) as usize;

/// Silence put instead where the recording paused for [`LONG_PAUSE`] or more (1 s). Whisper's
/// segment times are only good to a few tenths of a second; with 0.1 s between two spans that
/// are minutes apart, a sentence starting right after the join could be stamped minutes early.
/// A second of silence makes Whisper end and start segments inside the gap, where the map
/// sends each to its own side.
pub const LONG_JOIN_GAP: usize = SAMPLE_RATE as usize;

/// A pause this long in the recording (samples, 3 s) is joined with [`LONG_JOIN_GAP`].
pub const LONG_PAUSE: usize = 3 * SAMPLE_RATE as usize;

/// A stretch of speech, in samples of the 16 kHz recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Settings of the speech detector.
#[derive(Debug, Clone, Copy)]
pub struct VadSettings {
    /// Speech probability above which a frame is speech.
    pub threshold: f32,
    /// Shorter speech is dropped (clicks, coughs).
    pub min_speech_ms: i32,
    /// Shorter pauses do not end a span.
    pub min_silence_ms: i32,
    /// Padding kept around each span so word edges are not cut.
    pub pad_ms: i32,
    /// Longer spans are split at a pause.
    pub max_speech_s: f32,
}

impl Default for VadSettings {
    fn default() -> Self {
        VadSettings {
            threshold: 0.5,
            min_speech_ms: 250,
            min_silence_ms: 300,
            pad_ms: 200,
            max_speech_s: 30.0,
        }
    }
}

/// Finds speech spans in 16 kHz PCM with the Silero model at `model`.
pub fn detect(model: &Path, pcm: &[f32], threads: usize, s: VadSettings) -> Result<Vec<Span>> {
    if pcm.is_empty() {
        return Ok(Vec::new());
    }
    crate::transcribe::silence_whisper_logs();
    let mut cp = WhisperVadContextParams::new();
    cp.set_n_threads(threads.max(1) as i32);
    cp.set_use_gpu(false);
    let path = model.to_str().ok_or_else(|| {
        Error::model(
            "silero-vad",
            "the model path is not valid UTF-8",
            "set SOWHAT_MODELS to a plain path",
        )
    })?;
    let mut ctx = WhisperVadContext::new(path, cp).map_err(|e| {
        Error::model(
            "silero-vad",
            format!("cannot load {}: {e}", model.display()),
            "run `sowhat models fetch silero-vad --force`",
        )
    })?;
    let mut vp = WhisperVadParams::new();
    vp.set_threshold(s.threshold);
    vp.set_min_speech_duration(s.min_speech_ms);
    vp.set_min_silence_duration(s.min_silence_ms);
    vp.set_speech_pad(s.pad_ms);
    vp.set_max_speech_duration(s.max_speech_s);
    vp.set_samples_overlap(0.0);
    let segs = ctx.segments_from_samples(vp, pcm).map_err(|e| {
        Error::model(
            "silero-vad",
            format!("speech detection failed: {e}"),
            "try --no-vad",
        )
    })?;
    // whisper.cpp reports centiseconds.
    let to_sample = |cs: f32| ((cs as f64 / 100.0) * SAMPLE_RATE as f64).round().max(0.0) as usize;
    let mut spans: Vec<Span> = segs
        .map(|seg| Span {
            start: to_sample(seg.start).min(pcm.len()),
            end: to_sample(seg.end).min(pcm.len()),
        })
        .filter(|s| !s.is_empty())
        .collect();
    spans.sort_by_key(|s| s.start);
    Ok(merge_overlaps(spans))
}

/// Merges spans that overlap or touch (padding can make neighbours overlap).
pub fn merge_overlaps(spans: Vec<Span>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// Maps times in joined speech (spans back to back with [`JOIN_GAP`] between) to times in the
/// original recording.
#[derive(Debug, Clone, Default)]
pub struct TimeMap {
    /// (start in joined buffer, span in the original), in order.
    pieces: Vec<(usize, Span)>,
}

impl TimeMap {
    /// The map for `spans` joined back to back with [`JOIN_GAP`] of silence between them
    /// ([`LONG_JOIN_GAP`] after a long pause). Nothing is copied: [`TimeMap::render`] builds
    /// any stretch of the joined audio on demand, so a long recording never exists twice in
    /// memory.
    pub fn from_spans(spans: &[Span]) -> TimeMap {
        let mut pieces = Vec::with_capacity(spans.len());
        let mut at = 0;
        for (i, s) in spans.iter().enumerate() {
            if i > 0 {
                let pause = s.start.saturating_sub(spans[i - 1].end);
                at += if pause >= LONG_PAUSE {
                    LONG_JOIN_GAP
                } else {
                    JOIN_GAP
                };
            }
            pieces.push((at, *s));
            at += s.len();
        }
        TimeMap { pieces }
    }

    /// Length of the joined audio, in samples.
    pub fn joined_len(&self) -> usize {
        self.pieces.last().map(|(j, s)| j + s.len()).unwrap_or(0)
    }

    /// Samples `[a, b)` of the joined audio, taken from `pcm` (silence in the gaps).
    pub fn render(&self, pcm: &[f32], a: usize, b: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; b.saturating_sub(a)];
        for (js, span) in &self.pieces {
            let (ps, pe) = (*js, js + span.len());
            let (lo, hi) = (ps.max(a), pe.min(b));
            if lo < hi {
                let src = &pcm[span.start + (lo - ps)..span.start + (hi - ps)];
                out[lo - a..hi - a].copy_from_slice(src);
            }
        }
        out
    }

    /// Joins `spans` of `pcm` into one buffer with short silences between, and the map back
    /// (for tests: the pipeline renders chunk by chunk with [`TimeMap::render`]).
    #[cfg(test)]
    pub fn join(pcm: &[f32], spans: &[Span]) -> (Vec<f32>, TimeMap) {
        let map = TimeMap::from_spans(spans);
        (map.render(pcm, 0, map.joined_len()), map)
    }

    /// The identity map for `len` samples (no VAD).
    pub fn identity(len: usize) -> TimeMap {
        TimeMap {
            pieces: vec![(0, Span { start: 0, end: len })],
        }
    }

    /// The middle of each joining gap, in joined samples: where chunks may be cut.
    pub fn gap_middles(&self) -> Vec<usize> {
        self.pieces
            .windows(2)
            .map(|w| {
                let prev_end = w[0].0 + w[0].1.len();
                prev_end + (w[1].0 - prev_end) / 2
            })
            .collect()
    }

    /// Original time (seconds) of joined time `t` (seconds). A time inside a joining gap snaps
    /// to the end of the span before it when `is_end`, else to the start of the span after it.
    pub fn to_original(&self, t: f64, is_end: bool) -> f64 {
        let x = (t * SAMPLE_RATE as f64).max(0.0);
        let sr = SAMPLE_RATE as f64;
        // Last piece starting at or before x.
        let i = self.pieces.partition_point(|(js, _)| (*js as f64) <= x);
        if i == 0 {
            return self
                .pieces
                .first()
                .map(|(_, s)| s.start as f64 / sr)
                .unwrap_or(t);
        }
        let (js, span) = self.pieces[i - 1];
        let off = x - js as f64;
        if off <= span.len() as f64 {
            return (span.start as f64 + off) / sr;
        }
        // In the gap after piece i-1.
        if is_end || i == self.pieces.len() {
            span.end as f64 / sr
        } else {
            self.pieces[i].1.start as f64 / sr
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_and_map_back() {
        let pcm: Vec<f32> = (0..160_000).map(|i| i as f32).collect(); // 10 s
        let spans = [
            Span {
                start: 16_000,
                end: 32_000,
            }, // 1–2 s
            Span {
                start: 64_000,
                end: 96_000,
            }, // 4–6 s: a 2 s pause, joined with the short gap
        ];
        let (joined, map) = TimeMap::join(&pcm, &spans);
        assert_eq!(joined.len(), 16_000 + JOIN_GAP + 32_000);
        assert_eq!(joined[0], 16_000.0);
        assert_eq!(joined[16_000 + JOIN_GAP], 64_000.0);
        assert!((map.to_original(0.5, false) - 1.5).abs() < 1e-9);
        // 1.1 s (past the first span's 1 s) + 0.1 s gap = second span, 0 s in → 4 s.
        assert!((map.to_original(1.1, false) - 4.0).abs() < 1e-9);
        assert!((map.to_original(1.6, false) - 4.5).abs() < 1e-9);
        // Inside the gap: an end snaps back, a start snaps forward.
        assert!((map.to_original(1.05, true) - 2.0).abs() < 1e-9);
        assert!((map.to_original(1.05, false) - 4.0).abs() < 1e-9);
        // Past the end stays at the last span's end.
        assert!((map.to_original(99.0, true) - 6.0).abs() < 1e-9);
        assert_eq!(map.gap_middles(), vec![16_000 + JOIN_GAP / 2]);
        // Rendering a stretch equals slicing the joined buffer.
        assert_eq!(map.joined_len(), joined.len());
        assert_eq!(
            map.render(&pcm, 15_000, 20_000),
            joined[15_000..20_000].to_vec()
        );
    }

    #[test]
    fn a_long_pause_gets_a_second_of_silence() {
        // Speech at 1–2 s and 3 601–3 602 s: an hour apart.
        let spans = [
            Span {
                start: 16_000,
                end: 32_000,
            },
            Span {
                start: 3_601 * 16_000,
                end: 3_602 * 16_000,
            },
        ];
        let map = TimeMap::from_spans(&spans);
        assert_eq!(map.joined_len(), 16_000 + LONG_JOIN_GAP + 16_000);
        // Whisper stamping the second sentence up to half a second early still lands in the
        // gap, so it keeps its own time instead of moving an hour back.
        assert!((map.to_original(1.5, false) - 3_601.0).abs() < 1e-9);
        assert!((map.to_original(1.0 + 1.0 + 0.25, false) - 3_601.25).abs() < 1e-9);
        assert_eq!(map.gap_middles(), vec![16_000 + LONG_JOIN_GAP / 2]);
    }

    #[test]
    fn overlapping_spans_merge() {
        let m = merge_overlaps(vec![
            Span { start: 0, end: 10 },
            Span { start: 5, end: 20 },
            Span { start: 30, end: 40 },
        ]);
        assert_eq!(
            m,
            vec![Span { start: 0, end: 20 }, Span { start: 30, end: 40 }]
        );
    }
}
