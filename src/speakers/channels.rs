//! Stereo recordings with one person per channel (phone and remote-call recorders do this).
//!
//! [`analyse`] tells such a recording from ordinary stereo: in 30 ms frames where someone
//! speaks, one channel is much louder than the other when each person has their own channel
//! (little leakage), while ordinary stereo has both channels at about the same level.

use crate::audio::{from_i16, SAMPLE_RATE};
use serde::{Deserialize, Serialize};

/// What the channels of a recording look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelLayout {
    /// One speaker per channel: transcribe each channel on its own.
    pub separate: bool,
    /// Median level difference between the louder and the quieter channel in frames with
    /// speech, in dB (high = little leakage).
    pub median_gap_db: f64,
    /// Share of speech frames in which each channel is the louder one.
    pub dominance: Vec<f64>,
}

/// Frames where one channel is this much louder count as that channel's.
const GAP_DB: f64 = 10.0;

/// Looks at per-channel 16 kHz PCM and decides whether each channel holds one speaker.
pub fn analyse(channels: &[Vec<i16>]) -> ChannelLayout {
    let none = ChannelLayout {
        separate: false,
        median_gap_db: 0.0,
        dominance: vec![],
    };
    if channels.len() < 2 {
        return none;
    }
    let frame = (SAMPLE_RATE as usize * 30) / 1000;
    let n = channels.iter().map(|c| c.len()).min().unwrap_or(0) / frame;
    if n == 0 {
        return none;
    }
    let db = |c: &[i16], i: usize| {
        let e: f64 = c[i * frame..(i + 1) * frame]
            .iter()
            .map(|v| (from_i16(*v) as f64).powi(2))
            .sum::<f64>()
            / frame as f64;
        10.0 * (e + 1e-10).log10()
    };
    let levels: Vec<Vec<f64>> = channels
        .iter()
        .map(|c| (0..n).map(|i| db(c, i)).collect())
        .collect();
    // Speech frames: the loudest channel within 30 dB of the recording's loud frames.
    let mut loud: Vec<f64> = (0..n)
        .map(|i| levels.iter().map(|l| l[i]).fold(f64::MIN, f64::max))
        .collect();
    let mut sorted = loud.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let p95 = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
    let active: Vec<usize> = (0..n)
        .filter(|&i| loud[i] > p95 - 30.0 && loud[i] > -60.0)
        .collect();
    loud.clear();
    if active.len() < 10 {
        return none;
    }
    let mut gaps = Vec::with_capacity(active.len());
    let mut wins = vec![0usize; channels.len()];
    for &i in &active {
        let mut by: Vec<(usize, f64)> = levels.iter().enumerate().map(|(c, l)| (c, l[i])).collect();
        by.sort_by(|a, b| b.1.total_cmp(&a.1));
        let gap = by[0].1 - by[1].1;
        gaps.push(gap);
        if gap >= GAP_DB {
            wins[by[0].0] += 1;
        }
    }
    gaps.sort_by(|a, b| a.total_cmp(b));
    let median = gaps[gaps.len() / 2];
    let dominance: Vec<f64> = wins
        .iter()
        .map(|w| *w as f64 / active.len() as f64)
        .collect();
    // Separate: speech is mostly in one channel at a time, and each channel has its own share.
    let separate = median >= GAP_DB && dominance.iter().filter(|d| **d >= 0.05).count() >= 2;
    ChannelLayout {
        separate,
        median_gap_db: (median * 10.0).round() / 10.0,
        dominance: dominance
            .iter()
            .map(|d| (d * 1000.0).round() / 1000.0)
            .collect(),
    }
}

/// Channel `which`, with the 30 ms frames silenced where another channel is at least 15 dB
/// louder: the other person's voice leaking into this microphone. Overlapping speech (both
/// loud) stays. One channel at a time, so a long recording is not copied whole twice.
pub fn gated(channels: &[Vec<i16>], which: usize) -> Vec<f32> {
    let frame = (SAMPLE_RATE as usize * 30) / 1000;
    let mut out: Vec<f32> = channels[which].iter().map(|v| from_i16(*v)).collect();
    let n = channels.iter().map(|c| c.len()).min().unwrap_or(0);
    let level = |c: &[i16]| {
        10.0 * ((c.iter().map(|v| (from_i16(*v) as f64).powi(2)).sum::<f64>()
            / c.len().max(1) as f64)
            + 1e-10)
            .log10()
    };
    let mut start = 0;
    while start < n {
        let end = (start + frame).min(n);
        let mine = level(&channels[which][start..end]);
        let top = channels
            .iter()
            .map(|c| level(&c[start..end]))
            .fold(f64::MIN, f64::max);
        if mine < top - 15.0 {
            out[start..end].iter_mut().for_each(|v| *v = 0.0);
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, f: f32, amp: f32) -> Vec<i16> {
        (0..n)
            .map(|i| {
                crate::audio::to_i16(
                    amp * (i as f32 * f * 2.0 * std::f32::consts::PI / 16_000.0).sin(),
                )
            })
            .collect()
    }

    #[test]
    fn alternating_talkers_on_their_own_channels_are_separate() {
        let s = 16_000;
        let (mut l, mut r) = (Vec::new(), Vec::new());
        for turn in 0..6 {
            let (a, b) = if turn % 2 == 0 {
                (0.3, 0.003)
            } else {
                (0.003, 0.3)
            };
            l.extend(tone(s, 220.0, a));
            r.extend(tone(s, 330.0, b));
        }
        let lay = analyse(&[l, r]);
        assert!(lay.separate, "{lay:?}");
        assert!(lay.dominance[0] > 0.4 && lay.dominance[1] > 0.4, "{lay:?}");
    }

    #[test]
    fn leakage_is_gated_but_overlap_kept() {
        let s = 16_000;
        let mut l = tone(s, 220.0, 0.3);
        l.extend(tone(s, 220.0, 0.003)); // second: only leakage on the left
        l.extend(tone(s, 220.0, 0.3)); // third: both talk
        let mut r = tone(s, 330.0, 0.003);
        r.extend(tone(s, 330.0, 0.3));
        r.extend(tone(s, 330.0, 0.3));
        let both = [l, r];
        let g = [gated(&both, 0), gated(&both, 1)];
        let e = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>();
        // Frames are 30 ms: skip the one frame that straddles each change of talker.
        assert_eq!(e(&g[0][s + 480..2 * s - 480]), 0.0);
        assert_eq!(e(&g[1][..s - 480]), 0.0);
        assert!(e(&g[0][2 * s..]) > 100.0 && e(&g[1][2 * s..]) > 100.0);
    }

    #[test]
    fn same_signal_on_both_channels_is_not() {
        let x = tone(16_000 * 4, 220.0, 0.3);
        let lay = analyse(&[x.clone(), x]);
        assert!(!lay.separate, "{lay:?}");
        // One silent channel is not two speakers either.
        let x = tone(16_000 * 4, 220.0, 0.3);
        let lay = analyse(&[x, vec![0; 16_000 * 4]]);
        assert!(!lay.separate, "{lay:?}");
    }
}
