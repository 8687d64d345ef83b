//! Stage 1, decode: any common audio file → 16 kHz mono `f32` PCM (and per-channel PCM when
//! the speaker stage asks for it).
//!
//! Decoding is `symphonia` (wav, mp3, flac, ogg/vorbis, m4a/aac, mp4, mkv); resampling is
//! `rubato`'s FFT resampler, streamed chunk by chunk so only the 16 kHz output is held in
//! memory (a 2-hour 48 kHz stereo recording never exists in memory at its source rate).
//! Formats symphonia cannot decode (opus in ogg/webm, most video codecs' audio) go through
//! `ffmpeg` when it is installed.

use crate::error::{Error, Result};
use rubato::{FftFixedIn, Resampler};
use std::path::Path;
use std::process::Command;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// The sample rate Whisper, Silero and CAM++ all expect.
pub const SAMPLE_RATE: u32 = 16_000;

/// File extensions sowhat treats as recordings when it walks a folder.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "mp3", "m4a", "aac", "mp4", "m4v", "mov", "flac", "ogg", "oga", "opus", "webm", "mkv",
    "wma", "aif", "aiff", "caf", "3gp", "amr",
];

/// Whether a path looks like a recording, by its extension.
pub fn is_audio_path(path: &Path) -> bool {
    crate::fsutil::has_extension(path, AUDIO_EXTENSIONS)
}

/// Decoded audio at 16 kHz.
#[derive(Debug, Clone, Default)]
pub struct Pcm {
    /// Mono downmix, 16 kHz.
    pub samples: Vec<f32>,
    /// One vector per source channel, 16 kHz, as 16-bit PCM (see [`from_i16`]); empty unless
    /// asked for and the source has more than one channel.
    pub channels: Vec<Vec<i16>>,
    /// The source's sample rate and channel count.
    pub source_rate: u32,
    pub source_channels: usize,
    /// Things the user should know that did not stop decoding (e.g. a truncated file).
    pub warnings: Vec<String>,
}

impl Pcm {
    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / SAMPLE_RATE as f64
    }
}

/// Decoding options.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions {
    /// Keep each channel (for stereo recordings with one speaker per channel).
    pub keep_channels: bool,
}

/// Decodes `path` to 16 kHz PCM. Falls back to `ffmpeg` for formats symphonia lacks.
pub fn decode(path: &Path, opts: DecodeOptions) -> Result<Pcm> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::input_fix(
            path,
            format!("cannot open: {e}"),
            "check the path and that you may read it",
        )
    })?;
    if meta.is_dir() {
        return Err(Error::input(path, "is a folder, not an audio file"));
    }
    if meta.len() == 0 {
        return Err(Error::input_fix(
            path,
            "the file is empty (0 bytes)",
            "copy or export the recording again",
        ));
    }
    match decode_symphonia(path, opts) {
        Ok(pcm) => finish(path, pcm),
        Err(Unsupported(why)) => match ffmpeg_path() {
            Some(ffmpeg) => finish(path, decode_ffmpeg(&ffmpeg, path, opts, &why)?),
            None => Err(Error::input_fix(
                path,
                format!("cannot decode: {why}"),
                "install ffmpeg (apt install ffmpeg / brew install ffmpeg) so sowhat can read this format, or convert the file to wav, mp3, m4a or flac",
            )),
        },
        Err(Failed(e)) => Err(e),
    }
}

fn finish(path: &Path, pcm: Pcm) -> Result<Pcm> {
    if pcm.samples.is_empty() {
        return Err(Error::input_fix(
            path,
            "contains no audio (0 seconds could be decoded)",
            "the file may be truncated or damaged: copy or export it again",
        ));
    }
    Ok(pcm)
}

/// Why symphonia did not produce audio: a format it does not know (try ffmpeg), or a real failure.
enum SymFail {
    Unsupported(String),
    Failed(Error),
}
use SymFail::{Failed, Unsupported};

fn decode_symphonia(path: &Path, opts: DecodeOptions) -> std::result::Result<Pcm, SymFail> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failed(Error::input(path, format!("cannot open: {e}"))))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| Unsupported(format!("not a recognised audio format ({e})")))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL && t.codec_params.sample_rate.is_some())
        .ok_or_else(|| Unsupported("no audio track".into()))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| Unsupported(format!("unsupported codec ({e})")))?;
    let rate = params.sample_rate.unwrap_or(SAMPLE_RATE);
    let expected_frames = params.n_frames;
    let mut channels = params.channels.map(|c| c.count()).unwrap_or(0);

    let mut sink: Option<Sink> = None;
    let mut sample_buf: Option<SampleBuffer<f32>> = None;
    let mut frames_in: u64 = 0;
    let mut warnings = Vec::new();
    let mut decode_errors = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                warnings.push(format!("stopped reading early: {e}"));
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::DecodeError(_)) => {
                decode_errors += 1;
                continue;
            }
            Err(SymError::IoError(_)) => break,
            Err(e) => return Err(Failed(Error::input(path, format!("decoding failed: {e}")))),
        };
        let spec = *decoded.spec();
        if channels == 0 {
            channels = spec.channels.count();
        }
        let frames = decoded.frames();
        if frames == 0 {
            continue;
        }
        let buf = match &mut sample_buf {
            Some(b) if b.capacity() >= frames * spec.channels.count() => b,
            _ => {
                sample_buf = Some(SampleBuffer::new(decoded.capacity() as u64, spec));
                sample_buf.as_mut().unwrap()
            }
        };
        buf.copy_interleaved_ref(decoded);
        let sink = match &mut sink {
            Some(s) => s,
            None => {
                sink = Some(
                    Sink::new(
                        spec.rate,
                        spec.channels.count(),
                        opts.keep_channels,
                        expected_frames,
                    )
                    .map_err(|e| Failed(Error::input(path, e)))?,
                );
                sink.as_mut().unwrap()
            }
        };
        sink.push_interleaved(buf.samples())
            .map_err(|e| Failed(Error::input(path, e)))?;
        frames_in += frames as u64;
    }
    if decode_errors > 0 {
        warnings.push(format!(
            "{decode_errors} damaged packet(s) skipped; the transcript may have gaps"
        ));
    }
    if let Some(n) = expected_frames {
        if n > 0 && frames_in + (rate as u64 / 10) < n {
            warnings.push(format!(
                "the file looks truncated: {:.1} s of the {:.1} s its header announces could be decoded",
                frames_in as f64 / rate as f64,
                n as f64 / rate as f64
            ));
        }
    }
    let mut pcm = match sink {
        Some(s) => s.finish().map_err(|e| Failed(Error::input(path, e)))?,
        None => Pcm::default(),
    };
    pcm.source_rate = rate;
    pcm.source_channels = channels;
    pcm.warnings = warnings;
    Ok(pcm)
}

/// Streams interleaved source samples into 16 kHz mono (and per-channel) output.
///
/// Memory: the mono mix is kept as `f32` (what Whisper and Silero read), kept channels as
/// `i16` (half the size; they are only needed for one channel at a time later), and the
/// output vectors are sized from the header's frame count, so they do not over-allocate by
/// doubling.
struct Sink {
    channels: usize,
    keep_channels: bool,
    /// Resamples the mono mix, and each channel when kept: `1 + channels` lanes, or 1.
    resampler: Option<FftFixedIn<f32>>,
    /// Input waiting for a full resampler chunk, one vector per lane.
    pending: Vec<Vec<f32>>,
    /// Output: the mono mix, and the kept channels.
    mono: Vec<f32>,
    chans: Vec<Vec<i16>>,
    /// Output frames still to drop at the start (the resampler's delay).
    skip: usize,
    rate: u32,
    /// Source frames pushed so far.
    frames_in: u64,
}

/// A sample as 16-bit PCM.
pub fn to_i16(v: f32) -> i16 {
    (v.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

/// A 16-bit PCM sample as `f32`.
pub fn from_i16(v: i16) -> f32 {
    v as f32 / 32767.0
}

impl Sink {
    fn new(
        rate: u32,
        channels: usize,
        keep_channels: bool,
        expected_frames: Option<u64>,
    ) -> std::result::Result<Self, String> {
        let keep_channels = keep_channels && channels > 1;
        let lanes = if keep_channels { 1 + channels } else { 1 };
        let resampler = if rate == SAMPLE_RATE {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(rate as usize, SAMPLE_RATE as usize, 4096, 2, lanes)
                    .map_err(|e| format!("cannot resample from {rate} Hz: {e}"))?,
            )
        };
        let skip = resampler.as_ref().map(|r| r.output_delay()).unwrap_or(0);
        // Room for the whole output (plus the resampler's delay and last chunk), capped so a
        // lying header cannot make us reserve absurd amounts.
        let cap = expected_frames
            .map(|n| (n as f64 * SAMPLE_RATE as f64 / rate as f64) as usize + skip + 8192)
            .unwrap_or(0)
            .min(SAMPLE_RATE as usize * 3600 * 6);
        Ok(Sink {
            channels,
            keep_channels,
            resampler,
            pending: vec![Vec::new(); lanes],
            mono: Vec::with_capacity(cap),
            chans: if keep_channels {
                (0..channels).map(|_| Vec::with_capacity(cap)).collect()
            } else {
                Vec::new()
            },
            skip,
            rate,
            frames_in: 0,
        })
    }

    fn push_interleaved(&mut self, samples: &[f32]) -> std::result::Result<(), String> {
        let c = self.channels.max(1);
        let scale = 1.0 / c as f32;
        self.frames_in += (samples.len() / c) as u64;
        for frame in samples.chunks_exact(c) {
            self.pending[0].push(frame.iter().sum::<f32>() * scale);
            if self.keep_channels {
                for (ch, v) in frame.iter().enumerate() {
                    self.pending[1 + ch].push(*v);
                }
            }
        }
        self.drain(false)
    }

    /// Appends resampled lanes to the output, dropping the resampler's delay first.
    fn emit<V: AsRef<[f32]>>(&mut self, lanes: &[V]) {
        let n = lanes.first().map(|l| l.as_ref().len()).unwrap_or(0);
        let from = self.skip.min(n);
        self.skip -= from;
        self.mono.extend_from_slice(&lanes[0].as_ref()[from..]);
        for (out, lane) in self.chans.iter_mut().zip(&lanes[1..]) {
            out.extend(lane.as_ref()[from..].iter().map(|v| to_i16(*v)));
        }
    }

    fn drain(&mut self, last: bool) -> std::result::Result<(), String> {
        if self.resampler.is_none() {
            // 16 kHz already: everything pending goes straight out.
            let lanes = std::mem::take(&mut self.pending);
            self.emit(&lanes);
            self.pending = vec![Vec::new(); lanes.len()];
            return Ok(());
        }
        loop {
            let r = self.resampler.as_mut().expect("checked above");
            let need = r.input_frames_next();
            let have = self.pending[0].len();
            let res = if have >= need {
                let chunk: Vec<&[f32]> = self.pending.iter().map(|p| &p[..need]).collect();
                let res = r.process(&chunk, None).map_err(|e| e.to_string())?;
                for p in self.pending.iter_mut() {
                    p.drain(..need);
                }
                res
            } else if last && have > 0 {
                let chunk: Vec<&[f32]> = self.pending.iter().map(|p| &p[..]).collect();
                let res = r
                    .process_partial(Some(&chunk), None)
                    .map_err(|e| e.to_string())?;
                for p in self.pending.iter_mut() {
                    p.clear();
                }
                res
            } else {
                return Ok(());
            };
            self.emit(&res);
        }
    }

    fn finish(mut self) -> std::result::Result<Pcm, String> {
        self.drain(true)?;
        if let Some(r) = &mut self.resampler {
            // Flush the resampler's delay line so the last samples come out.
            let res = r
                .process_partial::<&[f32]>(None, None)
                .map_err(|e| e.to_string())?;
            self.emit(&res);
        }
        let want = (self.frames_in as f64 * SAMPLE_RATE as f64 / self.rate as f64).round() as usize;
        self.mono.truncate(want);
        self.mono.shrink_to_fit();
        for c in self.chans.iter_mut() {
            c.truncate(want);
            c.shrink_to_fit();
        }
        Ok(Pcm {
            samples: self.mono,
            channels: self.chans,
            ..Default::default()
        })
    }
}

fn ffmpeg_path() -> Option<std::path::PathBuf> {
    let name = std::env::var_os("SOWHAT_FFMPEG").unwrap_or_else(|| "ffmpeg".into());
    let ok = Command::new(&name)
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then(|| name.into())
}

/// Decodes with the `ffmpeg` program, asking it for 16 kHz float PCM on stdout.
fn decode_ffmpeg(ffmpeg: &Path, path: &Path, opts: DecodeOptions, why: &str) -> Result<Pcm> {
    let channels = if opts.keep_channels { 2 } else { 1 };
    let out = Command::new(ffmpeg)
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args([
            "-vn",
            "-f",
            "f32le",
            "-acodec",
            "pcm_f32le",
            "-ar",
            "16000",
            "-ac",
        ])
        .arg(channels.to_string())
        .arg("-")
        .output()
        .map_err(|e| Error::input(path, format!("cannot run ffmpeg: {e}")))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let first = msg.lines().last().unwrap_or("").trim();
        return Err(Error::input_fix(
            path,
            format!("not an audio file sowhat can read ({why}; ffmpeg: {first})"),
            "check that the file is a recording and plays in a media player; export it again as wav, mp3, m4a or flac",
        ));
    }
    let floats: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut pcm = Pcm {
        source_rate: 0,
        source_channels: channels,
        ..Default::default()
    };
    if channels == 1 {
        pcm.samples = floats;
    } else {
        let left: Vec<f32> = floats.iter().step_by(2).copied().collect();
        let right: Vec<f32> = floats.iter().skip(1).step_by(2).copied().collect();
        pcm.samples = left
            .iter()
            .zip(&right)
            .map(|(a, b)| 0.5 * (a + b))
            .collect();
        pcm.channels = vec![
            left.iter().map(|v| to_i16(*v)).collect(),
            right.iter().map(|v| to_i16(*v)).collect(),
        ];
    }
    Ok(pcm)
}

/// Writes 16 kHz mono PCM as a 16-bit wav (used by tests and `--keep-audio` style debugging).
pub fn write_wav_16k(path: &Path, samples: &[f32]) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(44 + samples.len() * 2);
    let data_len = (samples.len() * 2) as u32;
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    bytes.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        bytes.extend_from_slice(&to_i16(*s).to_le_bytes());
    }
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, secs: f32, freq: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn resampling_keeps_length_and_pitch() {
        for rate in [8_000u32, 22_050, 44_100, 48_000] {
            let src = tone(rate, 2.0, 440.0);
            let mut sink = Sink::new(rate, 1, false, None).unwrap();
            for chunk in src.chunks(1000) {
                sink.push_interleaved(chunk).unwrap();
            }
            let pcm = sink.finish().unwrap();
            let n = pcm.samples.len() as i64;
            assert!((n - 32_000).abs() <= 2, "{rate} Hz: {n} samples");
            // 440 Hz at 16 kHz: count zero crossings over the middle second.
            let mid = &pcm.samples[8000..24000];
            let zc = mid.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
            assert!((438..=442).contains(&zc), "{rate} Hz: {zc} crossings");
        }
    }

    #[test]
    fn stereo_keeps_channels_apart() {
        let l = tone(48_000, 1.0, 300.0);
        let inter: Vec<f32> = l.iter().flat_map(|v| [*v, 0.0]).collect();
        let mut sink = Sink::new(48_000, 2, true, Some(48_000)).unwrap();
        sink.push_interleaved(&inter).unwrap();
        let pcm = sink.finish().unwrap();
        assert_eq!(pcm.channels.len(), 2);
        assert_eq!(pcm.channels[0].len(), pcm.samples.len());
        let e = |v: &[i16]| v.iter().map(|x| from_i16(*x).powi(2)).sum::<f32>();
        let m: f32 = pcm.samples.iter().map(|x| x * x).sum();
        assert!(e(&pcm.channels[0]) > 1000.0 * e(&pcm.channels[1]).max(1e-9));
        assert!((m / e(&pcm.channels[0]) - 0.25).abs() < 0.02);
    }

    #[test]
    fn wav_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.wav");
        write_wav_16k(&p, &tone(16_000, 1.0, 200.0)).unwrap();
        let pcm = decode(&p, DecodeOptions::default()).unwrap();
        assert_eq!(pcm.samples.len(), 16_000);
        assert_eq!(pcm.source_rate, 16_000);
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.mp3");
        std::fs::write(&empty, b"").unwrap();
        let e = decode(&empty, DecodeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty.mp3") && e.contains("empty"), "{e}");

        let text = dir.path().join("notes.mp3");
        std::fs::write(
            &text,
            "these are my interview notes, not audio\n".repeat(50),
        )
        .unwrap();
        let e = decode(&text, DecodeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("notes.mp3"), "{e}");

        let missing = dir.path().join("missing.wav");
        let e = decode(&missing, DecodeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing.wav") && e.contains("cannot open"),
            "{e}"
        );

        let zero = dir.path().join("zero.wav");
        write_wav_16k(&zero, &[]).unwrap();
        let e = decode(&zero, DecodeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("zero.wav") && e.contains("no audio"), "{e}");
    }
}
