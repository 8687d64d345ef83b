//! Quantises a whisper.cpp ggml f16 model to Q8_0: 8-bit weights with one f16 scale per block
//! of 32, about half the size and ~15 % faster on a CPU, with the same word error rate on our
//! evaluation clips (BENCHMARKS.md).
//!
//! Which tensors: every 2-D weight matrix whisper.cpp creates with the model's weight type
//! (attention, MLP, token embedding), i.e. every 2-D tensor except the positional embeddings and
//! the conv biases; conv kernels (3-D), biases and layer norms (1-D) are kept as they are. The
//! header's `ftype` becomes `GGML_FTYPE_MOSTLY_Q8_0` (7) plus the quantisation version (2) ×
//! 1000, as whisper.cpp's loader expects.
//!
//! Q8_0 block (34 bytes): f16 scale `d = max|x| / 127`, then 32 × i8 `round(x / d)`.

use std::io::Write;

/// ggml tensor type ids used here.
const GGML_TYPE_F32: i32 = 0;
const GGML_TYPE_F16: i32 = 1;
const GGML_TYPE_Q8_0: i32 = 8;
/// `GGML_FTYPE_MOSTLY_Q8_0 + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR`.
const FTYPE_Q8_0: i32 = 7 + 2 * 1000;
const QK8_0: usize = 32;

/// Tensors kept in their original type although they are 2-D.
const SKIP: &[&str] = &[
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
];

/// Why a model could not be quantised.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    #[error("not a whisper.cpp ggml model (bad magic)")]
    BadMagic,
    #[error("the model ends early at byte {0}")]
    Truncated(usize),
    #[error("the model is already quantised (ftype {0}); start from the f16 file")]
    NotF16(i32),
    #[error("tensor {name}: unsupported type {ttype}")]
    UnsupportedType { name: String, ttype: i32 },
    #[error("tensor {name}: rows of {cols} values are not a multiple of 32")]
    BadRow { name: String, cols: usize },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Summary of a quantisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantizeSummary {
    pub tensors: usize,
    pub quantised: usize,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], QuantizeError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or(QuantizeError::Truncated(self.buf.len()))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn i32(&mut self) -> Result<i32, QuantizeError> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// Reads an f16 ggml Whisper model from `model` and writes its Q8_0 version to `out`.
pub fn quantize_q8_0(model: &[u8], out: &mut dyn Write) -> Result<QuantizeSummary, QuantizeError> {
    let mut r = Reader { buf: model, pos: 0 };
    if r.i32()? != 0x6767_6d6c {
        return Err(QuantizeError::BadMagic);
    }
    let mut hparams = [0i32; 11];
    for h in hparams.iter_mut() {
        *h = r.i32()?;
    }
    if hparams[10] != 1 {
        return Err(QuantizeError::NotF16(hparams[10]));
    }
    let header_start = r.pos;
    // Mel filters: n_mel, n_fft, then n_mel × n_fft f32.
    let n_mel = r.i32()?.max(0) as usize;
    let n_fft = r.i32()?.max(0) as usize;
    r.take(n_mel * n_fft * 4)?;
    // Vocabulary: count, then (u32 length, bytes) each.
    let n_vocab = r.i32()?.max(0) as usize;
    for _ in 0..n_vocab {
        let len = r.i32()?.max(0) as usize;
        r.take(len)?;
    }
    let header_end = r.pos;

    out.write_all(&0x6767_6d6cu32.to_le_bytes())?;
    hparams[10] = FTYPE_Q8_0;
    for h in hparams {
        out.write_all(&h.to_le_bytes())?;
    }
    out.write_all(&model[header_start..header_end])?;

    let mut summary = QuantizeSummary {
        tensors: 0,
        quantised: 0,
    };
    while !r.done() {
        let n_dims = r.i32()?.max(0) as usize;
        let name_len = r.i32()?.max(0) as usize;
        let ttype = r.i32()?;
        let mut dims = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            dims.push(r.i32()?.max(0) as usize);
        }
        let name_bytes = r.take(name_len)?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let n: usize = dims.iter().product();
        let item = match ttype {
            GGML_TYPE_F32 => 4,
            GGML_TYPE_F16 => 2,
            _ => return Err(QuantizeError::UnsupportedType { name, ttype }),
        };
        let data = r.take(n * item)?;
        summary.tensors += 1;

        let quantise = n_dims == 2 && !SKIP.contains(&name.as_str());
        let out_type = if quantise { GGML_TYPE_Q8_0 } else { ttype };
        out.write_all(&(n_dims as i32).to_le_bytes())?;
        out.write_all(&(name_len as i32).to_le_bytes())?;
        out.write_all(&out_type.to_le_bytes())?;
        for d in &dims {
            out.write_all(&(*d as i32).to_le_bytes())?;
        }
        out.write_all(name_bytes)?;
        if !quantise {
            out.write_all(data)?;
            continue;
        }
        if dims[0] % QK8_0 != 0 {
            return Err(QuantizeError::BadRow {
                name,
                cols: dims[0],
            });
        }
        let values: Vec<f32> = if ttype == GGML_TYPE_F16 {
            data.chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()
        } else {
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        let mut q = Vec::with_capacity(n / QK8_0 * (2 + QK8_0));
        for block in values.chunks_exact(QK8_0) {
            write_block_q8_0(block, &mut q);
        }
        out.write_all(&q)?;
        summary.quantised += 1;
    }
    Ok(summary)
}

/// One Q8_0 block, as ggml's reference quantiser computes it.
fn write_block_q8_0(x: &[f32], out: &mut Vec<u8>) {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
    for v in x {
        out.push((v * id).round() as i8 as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_quantisation_matches_the_definition() {
        let x: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) / 8.0).collect(); // -2 .. 1.875
        let mut out = Vec::new();
        write_block_q8_0(&x, &mut out);
        assert_eq!(out.len(), 34);
        let d = half::f16::from_le_bytes([out[0], out[1]]).to_f32();
        assert!((d - 2.0 / 127.0).abs() < 1e-4);
        assert_eq!(out[2] as i8, -127);
        assert_eq!(out[2 + 16] as i8, 0);
        // Dequantised values are within half a step.
        for (j, v) in x.iter().enumerate() {
            assert!(((out[2 + j] as i8) as f32 * d - v).abs() <= d * 0.51, "{j}");
        }
    }

    #[test]
    fn rejects_non_models_and_quantised_input() {
        assert!(matches!(
            quantize_q8_0(b"nope", &mut Vec::new()),
            Err(QuantizeError::BadMagic)
        ));
        let mut m = 0x6767_6d6cu32.to_le_bytes().to_vec();
        for h in [1i32, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2007] {
            m.extend_from_slice(&h.to_le_bytes());
        }
        assert!(matches!(
            quantize_q8_0(&m, &mut Vec::new()),
            Err(QuantizeError::NotF16(2007))
        ));
    }
}
