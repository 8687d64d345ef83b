//! Kaldi-compatible log-mel filterbank features (80 bins, 16 kHz).
//!
//! Matches `torchaudio.compliance.kaldi.fbank(wave, num_mel_bins=80)` and
//! `kaldi-native-fbank` with their defaults, which is what CAM++
//! (3D-Speaker `speakerlab.process.processor.FBank`) was trained on:
//!
//! * 25 ms frames (400 samples), 10 ms shift (160 samples), `snip_edges = true`
//!   (only frames that fit entirely inside the signal);
//! * dither 0, DC offset removed per frame, pre-emphasis 0.97,
//!   povey window (`(0.5 - 0.5 cos(2πn/(N-1)))^0.85`);
//! * zero-padded to a 512-point FFT, power spectrum;
//! * 80 triangular mel filters between 20 Hz and 8 kHz (Kaldi's mel scale
//!   `1127 ln(1 + f/700)`, Nyquist bin unused);
//! * natural log, floored at `f32::EPSILON`; no energy coefficient.
//!
//! Samples are expected as f32 in [-1, 1] (as symphonia decodes them); this is
//! the same scale 3D-Speaker feeds (`torchaudio.load`), so no rescaling is done.
//! (Per-window mean normalisation, done by the CAM++ front end, would cancel a
//! constant gain anyway, except in bins that hit the log floor.)

use std::f64::consts::PI;
use std::sync::OnceLock;

pub const SAMPLE_RATE: usize = 16_000;
pub const NUM_BINS: usize = 80;
/// Frame length in samples (25 ms).
pub const FRAME_LEN: usize = 400;
/// Frame shift in samples (10 ms).
pub const FRAME_SHIFT: usize = 160;
const FFT_LEN: usize = 512;
const PREEMPH: f32 = 0.97;
const LOW_FREQ: f64 = 20.0;

/// Number of frames Kaldi produces for `n` samples with `snip_edges = true`.
pub fn num_frames(n: usize) -> usize {
    if n < FRAME_LEN {
        0
    } else {
        1 + (n - FRAME_LEN) / FRAME_SHIFT
    }
}

/// 80-dim log-mel filterbank, one row per 10 ms frame (see module docs).
pub fn fbank(samples: &[f32]) -> Vec<[f32; NUM_BINS]> {
    let tables = Tables::get();
    let n = num_frames(samples.len());
    let mut out = Vec::with_capacity(n);
    let mut frame = [0f32; FRAME_LEN];
    let mut re = [0f32; FFT_LEN];
    let mut im = [0f32; FFT_LEN];
    let mut power = [0f32; FFT_LEN / 2 + 1];
    for f in 0..n {
        frame.copy_from_slice(&samples[f * FRAME_SHIFT..f * FRAME_SHIFT + FRAME_LEN]);
        // Remove DC offset.
        let mean = frame.iter().map(|&x| x as f64).sum::<f64>() / FRAME_LEN as f64;
        for x in frame.iter_mut() {
            *x -= mean as f32;
        }
        // Pre-emphasis (Kaldi: x[0] -= c * x[0]).
        for i in (1..FRAME_LEN).rev() {
            frame[i] -= PREEMPH * frame[i - 1];
        }
        frame[0] -= PREEMPH * frame[0];
        // Window and zero-pad.
        for i in 0..FFT_LEN {
            re[i] = if i < FRAME_LEN {
                frame[i] * tables.window[i]
            } else {
                0.0
            };
            im[i] = 0.0;
        }
        fft(&mut re, &mut im, tables);
        for (k, p) in power.iter_mut().enumerate() {
            *p = re[k] * re[k] + im[k] * im[k];
        }
        let mut row = [0f32; NUM_BINS];
        for (m, filt) in tables.mel.iter().enumerate() {
            let e: f32 = filt
                .weights
                .iter()
                .zip(&power[filt.first..])
                .map(|(w, p)| w * p)
                .sum();
            row[m] = e.max(f32::EPSILON).ln();
        }
        out.push(row);
    }
    out
}

struct MelFilter {
    /// First FFT bin with a non-zero weight.
    first: usize,
    weights: Vec<f32>,
}

struct Tables {
    window: Vec<f32>,
    mel: Vec<MelFilter>,
    /// Twiddles for the radix-2 FFT: (cos, -sin) of 2πk/FFT_LEN, k < FFT_LEN/2.
    twiddle: Vec<(f32, f32)>,
    bitrev: Vec<usize>,
}

fn mel_scale(f: f64) -> f64 {
    1127.0 * (1.0 + f / 700.0).ln()
}

impl Tables {
    fn get() -> &'static Tables {
        static T: OnceLock<Tables> = OnceLock::new();
        T.get_or_init(Tables::new)
    }

    fn new() -> Tables {
        let window = (0..FRAME_LEN)
            .map(|i| {
                let a = 2.0 * PI / (FRAME_LEN - 1) as f64;
                (0.5 - 0.5 * (a * i as f64).cos()).powf(0.85) as f32
            })
            .collect();

        // Kaldi MelBanks: bins are equally spaced in mel between low and high freq.
        let nyquist = SAMPLE_RATE as f64 / 2.0;
        let (mel_low, mel_high) = (mel_scale(LOW_FREQ), mel_scale(nyquist));
        let delta = (mel_high - mel_low) / (NUM_BINS + 1) as f64;
        let bin_width = SAMPLE_RATE as f64 / FFT_LEN as f64;
        let mel = (0..NUM_BINS)
            .map(|b| {
                let left = mel_low + b as f64 * delta;
                let center = left + delta;
                let right = center + delta;
                let mut first = None;
                let mut weights = Vec::new();
                // Kaldi uses FFT bins 0..FFT_LEN/2 (the Nyquist bin gets no weight).
                for k in 0..FFT_LEN / 2 {
                    let m = mel_scale(bin_width * k as f64);
                    let w = if m > left && m < right {
                        if m <= center {
                            (m - left) / (center - left)
                        } else {
                            (right - m) / (right - center)
                        }
                    } else {
                        0.0
                    };
                    if w > 0.0 {
                        let first = *first.get_or_insert(k);
                        weights.resize(k - first, 0.0);
                        weights.push(w as f32);
                    }
                }
                MelFilter {
                    first: first.unwrap_or(0),
                    weights,
                }
            })
            .collect();

        let twiddle = (0..FFT_LEN / 2)
            .map(|k| {
                let a = -2.0 * PI * k as f64 / FFT_LEN as f64;
                (a.cos() as f32, a.sin() as f32)
            })
            .collect();
        let bits = FFT_LEN.trailing_zeros();
        let bitrev = (0..FFT_LEN)
            .map(|i| i.reverse_bits() >> (usize::BITS - bits))
            .collect();
        Tables {
            window,
            mel,
            twiddle,
            bitrev,
        }
    }
}

/// In-place iterative radix-2 complex FFT of length `FFT_LEN`.
fn fft(re: &mut [f32; FFT_LEN], im: &mut [f32; FFT_LEN], t: &Tables) {
    for i in 0..FFT_LEN {
        let j = t.bitrev[i];
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= FFT_LEN {
        let half = len / 2;
        let step = FFT_LEN / len;
        for start in (0..FFT_LEN).step_by(len) {
            for k in 0..half {
                let (wr, wi) = t.twiddle[k * step];
                let (a, b) = (start + k, start + k + half);
                let xr = re[b] * wr - im[b] * wi;
                let xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
        }
        len *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_snip_edges() {
        assert_eq!(num_frames(0), 0);
        assert_eq!(num_frames(399), 0);
        assert_eq!(num_frames(400), 1);
        assert_eq!(num_frames(559), 1);
        assert_eq!(num_frames(560), 2);
        assert_eq!(num_frames(24_000), 148); // 1.5 s window
        assert_eq!(fbank(&vec![0.0; 24_000]).len(), 148);
        assert!(fbank(&[0.0; 100]).is_empty());
    }

    #[test]
    fn silence_hits_log_floor() {
        let f = fbank(&vec![0.0; 1000]);
        for row in &f {
            for &v in row {
                assert!((v - f32::EPSILON.ln()).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn fft_matches_dft() {
        let t = Tables::get();
        let mut re = [0f32; FFT_LEN];
        let mut im = [0f32; FFT_LEN];
        for (i, r) in re.iter_mut().enumerate() {
            *r = ((i * 7919) % 97) as f32 / 97.0 - 0.5;
        }
        let orig = re;
        fft(&mut re, &mut im, t);
        for k in [0usize, 1, 5, 100, 256, 511] {
            let (mut sr, mut si) = (0f64, 0f64);
            for (n, &x) in orig.iter().enumerate() {
                let a = -2.0 * PI * (k * n) as f64 / FFT_LEN as f64;
                sr += x as f64 * a.cos();
                si += x as f64 * a.sin();
            }
            assert!(
                (sr - re[k] as f64).abs() < 1e-3 && (si - im[k] as f64).abs() < 1e-3,
                "bin {k}"
            );
        }
    }

    /// A 1 kHz tone must put its energy in the mel filter whose centre is
    /// closest to 1 kHz (in mel), and that filter must dominate by far.
    #[test]
    fn tone_lands_in_right_mel_bin() {
        let f0 = 1000.0f64;
        let x: Vec<f32> = (0..16_000)
            .map(|n| (0.5 * (2.0 * PI * f0 * n as f64 / 16_000.0).sin()) as f32)
            .collect();
        let feats = fbank(&x);
        assert_eq!(feats.len(), 98);
        let row = feats[50];
        let argmax = (0..NUM_BINS)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        let (lo, hi) = (mel_scale(LOW_FREQ), mel_scale(8000.0));
        let delta = (hi - lo) / 81.0;
        let expected = ((mel_scale(f0) - lo) / delta - 1.0).round() as usize;
        assert!(
            argmax.abs_diff(expected) <= 1,
            "argmax {argmax}, expected {expected}"
        );
        // Far-away bins are many nats lower.
        assert!(row[argmax] - row[70] > 5.0);
        assert!(row[argmax] - row[2] > 5.0);
    }
}
