//! Every container and codec a researcher's recordings come in decodes to the same audio.
//! The files are made from jfk.flac with ffmpeg (skipped, with a message, where ffmpeg is
//! missing); mp3, m4a, mp4, ogg/vorbis, wav and flac must decode natively (symphonia), with
//! ffmpeg made unavailable, and opus/webm through ffmpeg.

mod common;

use common::*;
use sowhat::audio::{self, DecodeOptions};
use std::path::Path;
use std::process::Command;

/// 20 ms energy envelope: robust to lossy coding.
fn envelope(x: &[f32]) -> Vec<f32> {
    x.chunks(320)
        .map(|c| c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32)
        .collect()
}

/// Best correlation of two envelopes over shifts of up to ±200 ms (codec delays).
fn similarity(a: &[f32], b: &[f32]) -> f32 {
    let corr = |x: &[f32], y: &[f32]| {
        let n = x.len().min(y.len());
        let (x, y) = (&x[..n], &y[..n]);
        let (mx, my) = (
            x.iter().sum::<f32>() / n as f32,
            y.iter().sum::<f32>() / n as f32,
        );
        let cov: f32 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let vx: f32 = x.iter().map(|a| (a - mx).powi(2)).sum();
        let vy: f32 = y.iter().map(|b| (b - my).powi(2)).sum();
        cov / (vx * vy).sqrt().max(1e-12)
    };
    (0..=10)
        .flat_map(|s| [corr(&a[s..], b), corr(a, &b[s..])])
        .fold(f32::MIN, f32::max)
}

fn ffmpeg(src: &Path, args: &[&str], dst: &Path) -> bool {
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(src)
        .args(args)
        .arg(dst)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `path` decodes to 11 s of audio whose envelope matches `reference`.
fn same_audio(reference: &[f32], path: &Path, ext: &str) {
    let pcm =
        audio::decode(path, DecodeOptions::default()).unwrap_or_else(|e| panic!("{ext}: {e}"));
    assert!(
        (pcm.duration() - 11.0).abs() < 0.15,
        "{ext}: {} s",
        pcm.duration()
    );
    let s = similarity(&envelope(reference), &envelope(&pcm.samples));
    assert!(s > 0.97, "{ext}: envelope similarity {s}");
}

#[test]
fn common_formats_decode_to_the_same_audio() {
    let src = eval_audio("jfk.flac");
    let reference = audio::decode(&src, DecodeOptions::default()).unwrap();
    assert!((reference.duration() - 11.0).abs() < 0.01);
    let have_ffmpeg = Command::new("ffmpeg").arg("-version").output().is_ok();
    if !have_ffmpeg {
        eprintln!("ffmpeg is not installed: only flac was checked (scripts/test.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let native: &[(&str, &[&str])] = &[
        ("mp3", &["-c:a", "libmp3lame", "-b:a", "64k"]),
        ("m4a", &["-c:a", "aac", "-b:a", "64k"]),
        ("mp4", &["-c:a", "aac", "-b:a", "64k"]),
        ("ogg", &["-c:a", "libvorbis", "-q:a", "3"]),
        ("wav", &["-c:a", "pcm_s24le", "-ar", "44100"]),
    ];
    let via_ffmpeg: &[(&str, &[&str])] = &[
        ("opus", &["-c:a", "libopus", "-b:a", "32k"]),
        ("webm", &["-c:a", "libopus", "-b:a", "32k"]),
    ];
    // Natively: make ffmpeg unreachable for the decoder (this test binary runs alone).
    std::env::set_var("SOWHAT_FFMPEG", "/nonexistent/ffmpeg");
    for (ext, args) in native {
        let p = dir.path().join(format!("jfk.{ext}"));
        assert!(ffmpeg(&src, args, &p), "ffmpeg could not make {ext}");
        same_audio(&reference.samples, &p, ext);
    }
    // opus and webm: a clear error without ffmpeg, the same audio with it.
    for (ext, args) in via_ffmpeg {
        let p = dir.path().join(format!("jfk.{ext}"));
        assert!(ffmpeg(&src, args, &p), "ffmpeg could not make {ext}");
        std::env::set_var("SOWHAT_FFMPEG", "/nonexistent/ffmpeg");
        let e = audio::decode(&p, DecodeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("jfk.{ext}")) && e.contains("install ffmpeg"),
            "{e}"
        );
        std::env::remove_var("SOWHAT_FFMPEG");
        same_audio(&reference.samples, &p, ext);
    }
}
