//! Stage 2, transcribe: 16 kHz PCM → timestamped segments, with whisper.cpp (`whisper-rs`).
//!
//! What this stage guarantees:
//! - only speech reaches Whisper ([`crate::vad`]), so silence gives no text;
//! - no conditioning on previous text (a mistake cannot snowball), Whisper's temperature
//!   fallback on low-confidence windows, and a guard that collapses repetition loops;
//! - bracketed non-speech ("[Music]", "(silence)") is never emitted as text;
//! - times are seconds on the original recording, and each segment carries its mean token
//!   probability as a confidence;
//! - long recordings are transcribed in chunks of at most [`CHUNK_SECONDS`] of speech, so
//!   Whisper's working memory does not grow with the length of the file.

use crate::audio::SAMPLE_RATE;
use crate::error::{Error, Result};
use crate::models::Resolved;
use crate::types::Segment;
use crate::vad::{self, Span, TimeMap, VadSettings};
use std::path::Path;
use std::sync::Arc;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// Longest stretch of (joined) speech handed to one `whisper_full` call.
pub const CHUNK_SECONDS: f64 = 300.0;

/// How to transcribe.
#[derive(Debug, Clone)]
pub struct Settings {
    /// ISO 639-1 code to force, or `None` to detect per file.
    pub language: Option<String>,
    /// whisper.cpp threads for this file.
    pub threads: usize,
    /// Run Silero VAD first (default). Without it, Whisper sees the whole recording.
    pub vad: bool,
    pub vad_settings: VadSettings,
    /// Beam size; `None` is greedy decoding.
    pub beam_size: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            language: None,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            vad: true,
            vad_settings: VadSettings::default(),
            beam_size: None,
        }
    }
}

impl Settings {
    /// The settings that change the text, for the transcript cache key.
    pub fn cache_identity(&self) -> String {
        let v = &self.vad_settings;
        format!(
            "lang={};vad={};vt={};vms={};vsil={};vpad={};vmax={};beam={:?}",
            self.language.as_deref().unwrap_or("auto"),
            self.vad,
            v.threshold,
            v.min_speech_ms,
            v.min_silence_ms,
            v.pad_ms,
            v.max_speech_s,
            self.beam_size
        )
    }
}

/// What the recogniser produced for one recording.
#[derive(Debug, Clone, Default)]
pub struct Recognised {
    pub language: Option<String>,
    pub language_probability: Option<f32>,
    /// Seconds of speech that were transcribed.
    pub speech_seconds: f64,
    pub segments: Vec<Segment>,
    /// The speech VAD found (whole file without VAD), in samples: the diarizer's input.
    pub speech: Vec<Span>,
}

/// Reports progress as seconds of the original recording done.
pub type Progress = Arc<dyn Fn(f64) + Send + Sync>;

/// A loaded Whisper model (shared by all files of a batch) and the VAD model.
pub struct Engine {
    ctx: WhisperContext,
    pub model: Resolved,
    pub vad_model: Option<Resolved>,
    multilingual: bool,
}

impl Engine {
    /// Loads the model; `vad_model` is needed when `Settings::vad` is on.
    pub fn load(model: Resolved, vad_model: Option<Resolved>) -> Result<Engine> {
        silence_whisper_logs();
        let mut cp = WhisperContextParameters::default();
        cp.use_gpu(false);
        // Flash attention is slower on CPUs (whisper.cpp#2152; measured in BENCHMARKS.md).
        cp.flash_attn(false);
        let path = model.path.to_str().ok_or_else(|| {
            Error::model(
                &model.name,
                "the model path is not valid UTF-8",
                "move the model to a plain path",
            )
        })?;
        let ctx = WhisperContext::new_with_params(path, cp).map_err(|e| {
            Error::model(
                &model.name,
                format!("whisper.cpp could not load {}: {e}", model.path.display()),
                "the file may be damaged or not a whisper.cpp model: fetch it again or pass another --model",
            )
        })?;
        let multilingual = ctx.is_multilingual();
        Ok(Engine {
            ctx,
            model,
            vad_model,
            multilingual,
        })
    }

    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// Transcribes 16 kHz mono PCM. `source` names the file in errors.
    pub fn transcribe(
        &self,
        source: &Path,
        pcm: &[f32],
        settings: &Settings,
        progress: Progress,
    ) -> Result<Recognised> {
        let spans = if settings.vad {
            let vad_model = self.vad_model.as_ref().ok_or_else(|| {
                Error::model(
                    "silero-vad",
                    "VAD is on but no VAD model was loaded",
                    "pass --no-vad",
                )
            })?;
            vad::detect(
                &vad_model.path,
                pcm,
                settings.threads,
                settings.vad_settings,
            )?
        } else {
            vec![Span {
                start: 0,
                end: pcm.len(),
            }]
        };
        let mut rec = self.transcribe_spans(source, pcm, &spans, settings, progress)?;
        rec.speech = spans;
        Ok(rec)
    }

    /// Transcribes the given speech spans of `pcm` (joined, then mapped back to `pcm`'s time).
    pub fn transcribe_spans(
        &self,
        source: &Path,
        pcm: &[f32],
        spans: &[Span],
        settings: &Settings,
        progress: Progress,
    ) -> Result<Recognised> {
        let speech: usize = spans.iter().map(|s| s.len()).sum();
        let mut out = Recognised {
            speech_seconds: speech as f64 / SAMPLE_RATE as f64,
            ..Default::default()
        };
        if speech == 0 {
            progress(pcm.len() as f64 / SAMPLE_RATE as f64);
            return Ok(out);
        }
        // The joined speech is rendered one chunk at a time, never whole.
        let map = Arc::new(if settings.vad {
            TimeMap::from_spans(spans)
        } else {
            TimeMap::identity(pcm.len())
        });
        let joined_len = map.joined_len();
        let fail = |e: whisper_rs::WhisperError| Error::Transcribe {
            path: source.to_path_buf(),
            cause: e.to_string(),
        };
        let threads = settings.threads.max(1);
        let mut state = self.ctx.create_state().map_err(fail)?;

        // Language: forced, English-only model, or detected on the first 30 s of speech.
        let (language, probability) = match (&settings.language, self.multilingual) {
            (Some(l), _) => (l.clone(), None),
            (None, false) => ("en".to_string(), None),
            (None, true) => {
                let head = map.render(pcm, 0, joined_len.min(30 * SAMPLE_RATE as usize));
                state.pcm_to_mel(&head, threads).map_err(fail)?;
                let (id, probs) = state.lang_detect(0, threads).map_err(fail)?;
                let code = whisper_rs::get_lang_str(id).unwrap_or("en").to_string();
                (code, probs.get(id as usize).copied())
            }
        };
        out.language = Some(language.clone());
        out.language_probability = probability;

        for (a, b) in chunk_bounds(joined_len, &map, settings.vad) {
            let chunk = map.render(pcm, a, b);
            let mut params = match settings.beam_size {
                Some(n) => FullParams::new(SamplingStrategy::BeamSearch {
                    beam_size: n as i32,
                    patience: -1.0,
                }),
                None => FullParams::new(SamplingStrategy::Greedy { best_of: 1 }),
            };
            params.set_n_threads(threads as i32);
            params.set_language(Some(&language));
            params.set_no_context(true);
            params.set_suppress_nst(true);
            params.set_suppress_blank(true);
            params.set_no_speech_thold(0.6);
            params.set_print_progress(false);
            params.set_print_realtime(false);
            params.set_print_special(false);
            params.set_print_timestamps(false);
            let (p, m) = (progress.clone(), map.clone());
            let (t0, len) = (
                a as f64 / SAMPLE_RATE as f64,
                (b - a) as f64 / SAMPLE_RATE as f64,
            );
            params.set_progress_callback_safe(move |pct: i32| {
                p(m.to_original(t0 + len * pct.clamp(0, 100) as f64 / 100.0, true));
            });
            state.full(params, &chunk).map_err(fail)?;
            for seg in state.as_iter() {
                let text = seg.to_str_lossy().map_err(fail)?.trim().to_string();
                let mut probs = Vec::new();
                let eot = self.ctx.token_eot();
                for i in 0..seg.n_tokens() {
                    if let Some(tok) = seg.get_token(i) {
                        if tok.token_id() < eot {
                            probs.push(tok.token_probability());
                        }
                    }
                }
                if probs.is_empty() || is_non_speech(&text) {
                    continue;
                }
                let mean_p = probs.iter().sum::<f32>() / probs.len() as f32;
                let mean_logp =
                    probs.iter().map(|p| p.max(1e-6).ln()).sum::<f32>() / probs.len() as f32;
                if seg.no_speech_probability() > 0.6 && mean_logp < -1.0 {
                    continue; // Whisper itself thinks this is not speech, and is unsure of the words.
                }
                let text = collapse_repetitions(&text);
                let s = t0 + seg.start_timestamp() as f64 / 100.0;
                let e = t0 + seg.end_timestamp() as f64 / 100.0;
                let (start, end) = (map.to_original(s, false), map.to_original(e, true));
                out.segments.push(Segment {
                    start: Some(round_ms(start)),
                    end: Some(round_ms(end.max(start))),
                    speaker: None,
                    text,
                    confidence: Some((mean_p * 1000.0).round() / 1000.0),
                });
            }
        }
        drop_repeated_segments(&mut out.segments);
        progress(pcm.len() as f64 / SAMPLE_RATE as f64);
        Ok(out)
    }
}

fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// Splits the joined speech into chunks of at most [`CHUNK_SECONDS`], cutting only in the
/// silences between spans (or, without VAD, every [`CHUNK_SECONDS`]).
fn chunk_bounds(n: usize, map: &TimeMap, vad: bool) -> Vec<(usize, usize)> {
    let max = (CHUNK_SECONDS * SAMPLE_RATE as f64) as usize;
    if !vad {
        return (0..n).step_by(max).map(|a| (a, (a + max).min(n))).collect();
    }
    // Candidate cuts: the middle of each silence joining two spans.
    let cuts = map.gap_middles().into_iter();
    let mut bounds = Vec::new();
    let (mut a, mut last_ok) = (0, 0);
    for c in cuts.chain(std::iter::once(n)) {
        if c - a > max && last_ok > a {
            bounds.push((a, last_ok));
            a = last_ok;
        }
        last_ok = c;
    }
    bounds.push((a, n));
    bounds
}

/// "[Music]", "(silence)", "♪♪", "*laughs*": annotations, not words.
pub fn is_non_speech(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() || t.chars().all(|c| !c.is_alphanumeric()) {
        return true;
    }
    let wrapped = |o: char, c: char| {
        t.starts_with(o)
            && t.ends_with(c)
            && t[1..t.len() - c.len_utf8()]
                .chars()
                .all(|x| x != o && x != c)
    };
    wrapped('[', ']') || wrapped('(', ')') || wrapped('*', '*') || wrapped('♪', '♪')
}

/// Collapses a word n-gram (n = 1..=8) that repeats back to back more often than people do
/// (six times for one word, four for longer phrases) into a single occurrence. This is the
/// signature of Whisper's repetition loop ("I think I think I think …").
pub fn collapse_repetitions(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let norm: Vec<String> = words
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let mut keep = vec![true; words.len()];
    let mut changed = false;
    for n in 1..=8usize {
        let limit = if n == 1 { 6 } else { 4 };
        let mut i = 0;
        while i + n <= words.len() {
            if !keep[i] || norm[i].is_empty() {
                i += 1;
                continue;
            }
            let mut reps = 1;
            while i + (reps + 1) * n <= words.len()
                && (0..n).all(|k| norm[i + reps * n + k] == norm[i + k] && keep[i + reps * n + k])
            {
                reps += 1;
            }
            if reps >= limit {
                for k in keep.iter_mut().take(i + reps * n).skip(i + n) {
                    *k = false;
                }
                changed = true;
                i += reps * n;
            } else {
                i += 1;
            }
        }
    }
    if !changed {
        return text.to_string();
    }
    words
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(w, _)| *w)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Drops a segment whose text is the same as each of the two before it: the third and later
/// copies of a looping segment go, a genuine "Yes." "Yes." stays.
pub fn drop_repeated_segments(segments: &mut Vec<Segment>) {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric() || c.is_whitespace())
            .collect::<String>()
            .to_lowercase()
    };
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    for s in segments.drain(..) {
        let n = norm(&s.text);
        let k = out.len();
        if k >= 2 && norm(&out[k - 1].text) == n && norm(&out[k - 2].text) == n {
            continue;
        }
        out.push(s);
    }
    *segments = out;
}

/// whisper.cpp logs every layer it loads to stderr; a researcher should see our progress bars,
/// not that. `SOWHAT_DEBUG=1` keeps the logs.
pub fn silence_whisper_logs() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("SOWHAT_DEBUG").is_none() {
            // Without a `log` backend feature, whisper-rs's hooks discard the messages.
            whisper_rs::install_logging_hooks();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_collapse_but_normal_speech_stays() {
        assert_eq!(
            collapse_repetitions("I think I think I think I think I think it was fine"),
            "I think it was fine"
        );
        assert_eq!(collapse_repetitions("no no no"), "no no no");
        assert_eq!(
            collapse_repetitions("the the the the the the the the end"),
            "the end"
        );
        let normal = "It was slow, really slow, and then it crashed.";
        assert_eq!(collapse_repetitions(normal), normal);
    }

    #[test]
    fn repeated_segments_drop_after_two() {
        let seg = |t: &str| Segment {
            start: None,
            end: None,
            speaker: None,
            text: t.into(),
            confidence: None,
        };
        let mut v = vec![
            seg("Yes."),
            seg("Yes."),
            seg("yes"),
            seg("Yes."),
            seg("No."),
        ];
        drop_repeated_segments(&mut v);
        let texts: Vec<_> = v.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, vec!["Yes.", "Yes.", "No."]);
    }

    #[test]
    fn annotations_are_not_speech() {
        for t in [
            "[Music]",
            "(silence)",
            "[ Silence ]",
            "♪♪",
            "*laughs*",
            " ... ",
            "",
        ] {
            assert!(is_non_speech(t), "{t}");
        }
        for t in ["Thank you.", "(It was) fine", "I paid [twice]"] {
            assert!(!is_non_speech(t), "{t}");
        }
    }

    #[test]
    fn chunks_cut_in_gaps_and_respect_the_limit() {
        // 20 spans of 40 s with gaps: 800 s of speech → at least 3 chunks, none over 300 s.
        let sr = SAMPLE_RATE as usize;
        let spans: Vec<Span> = (0..20)
            .map(|i| Span {
                start: i * 50 * sr,
                end: i * 50 * sr + 40 * sr,
            })
            .collect();
        let pcm = vec![0.0f32; 1000 * sr];
        let (joined, map) = TimeMap::join(&pcm, &spans);
        let b = chunk_bounds(joined.len(), &map, true);
        assert!(b.len() >= 3, "{b:?}");
        assert_eq!(b.first().unwrap().0, 0);
        assert_eq!(b.last().unwrap().1, joined.len());
        for w in b.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
        for (a, z) in &b {
            assert!(z - a <= (CHUNK_SECONDS as usize) * sr, "{a}..{z}");
        }
    }
}
