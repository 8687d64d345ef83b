//! Converts a CTranslate2 (faster-whisper) Whisper model to whisper.cpp's ggml format.
//!
//! The output is byte-identical to the reference converter `shared/tools/ct2_to_ggml.py`,
//! which writes the layout of whisper.cpp's `models/convert-pt-to-ggml.py` with ftype 1
//! (float16 matrices).
//!
//! # Input: CTranslate2 `model.bin` (little-endian)
//!
//! ```text
//! u32     binary version (5 or newer)
//! string  spec name, must be "WhisperSpec"
//! u32     spec revision
//! u32     variable count, then per variable:
//!           string   name, e.g. "encoder/layer_0/self_attention/linear_0/weight"
//!           u8       rank, then rank x u32 dims (row-major, outermost first)
//!           u8       dtype: 0 f32, 1 i8, 2 i16, 3 i32, 4 f16
//!           u32      byte count, then the raw data
//! u32     alias count, then per alias: string alias, string target
//! ```
//!
//! A string is a u16 length that counts a trailing NUL, then that many bytes.
//! Names follow CTranslate2's `python/ctranslate2/specs/whisper_spec.py`; an alias makes a
//! second name for an existing variable (faster-whisper stores `decoder/projection/weight`
//! as an alias of `decoder/embeddings/weight`).
//!
//! `vocabulary.txt` has one token per line, in GPT-2's byte-level BPE spelling (every byte
//! is shown as a printable character, see [`bytes_to_unicode`]), followed by the special
//! tokens starting with `<|endoftext|>`.
//!
//! # Output: whisper.cpp ggml (all integers i32 little-endian)
//!
//! ```text
//! magic 0x67676d6c
//! 11 hyper-parameters: n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
//!                      n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype=1
//! n_mels, 201, then the n_mels x 201 mel filter bank as f32 (librosa, Slaney scale and norm)
//! token count, then per BPE token (those before <|endoftext|>): length, raw bytes
//! per tensor: n_dims, name length, ftype (0 f32, 1 f16), dims innermost first, name, data
//! ```
//!
//! Tensors use OpenAI's `state_dict` names and order. CTranslate2 fuses the self-attention
//! query/key/value projections and the cross-attention key/value projections; they are
//! split again here. Whisper's key projections have no bias (CTranslate2 stores zeros), so
//! the key biases are dropped. Matrices (rank >= 2) are written as f16, except the conv
//! biases (reshaped to `[n_state, 1]`) and the positional embeddings, which whisper.cpp
//! reads as f32; vectors are always f32.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufWriter, Write};

/// What [`ct2_to_ggml`] wrote.
#[derive(Debug, Clone)]
pub struct Ct2Summary {
    /// Number of tensors in the ggml file.
    pub tensors: usize,
    /// Total bytes written.
    pub bytes: u64,
    /// The eleven ggml hyper-parameters, in file order (see the module docs).
    pub hparams: [i32; 11],
}

/// Why a CTranslate2 model could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    /// `model.bin` ends before a field or a variable's data.
    #[error("CTranslate2 model.bin is truncated: {needed} bytes needed at offset {offset}, the file has {len}")]
    Truncated {
        offset: usize,
        needed: usize,
        len: usize,
    },
    /// The binary format version is older than 5.
    #[error("CTranslate2 binary version {0} is not supported (need 5 or newer)")]
    UnsupportedVersion(u32),
    /// The spec name is not `WhisperSpec`.
    #[error("not a Whisper model: CTranslate2 spec is {0:?}, expected \"WhisperSpec\"")]
    NotWhisper(String),
    /// A name in `model.bin` is not UTF-8.
    #[error("CTranslate2 model.bin has a string that is not UTF-8 at offset {0}")]
    BadString(usize),
    /// An alias names a variable that does not exist (yet).
    #[error("CTranslate2 alias {alias:?} points to unknown variable {target:?}")]
    BadAlias { alias: String, target: String },
    /// A variable the ggml layout needs is absent.
    #[error("CTranslate2 model has no variable {0}")]
    MissingVariable(String),
    /// A tensor is not float16/float32 (e.g. an int8-quantized model), or a scalar is not an integer.
    #[error("CTranslate2 variable {name} has unsupported dtype {dtype} ({expected})")]
    UnsupportedDtype {
        name: String,
        dtype: u8,
        expected: &'static str,
    },
    /// A variable's rank, dimensions or byte count do not fit the Whisper layout.
    #[error("CTranslate2 variable {name} has an unexpected shape {shape:?} ({reason})")]
    BadShape {
        name: String,
        shape: Vec<u32>,
        reason: &'static str,
    },
    /// A float32 value cannot be represented as float16.
    #[error("a value in {0} is too large for float16")]
    F16Overflow(String),
    /// `vocabulary.txt` has fewer lines than the model has tokens.
    #[error("vocabulary has {found} entries, the model has {expected}")]
    VocabularySize { found: usize, expected: usize },
    /// `vocabulary.txt` lacks `<|endoftext|>`, where the BPE tokens end.
    #[error("vocabulary has no <|endoftext|> token")]
    NoEndOfText,
    /// A BPE token is not spelled in GPT-2's byte alphabet.
    #[error("vocabulary token {index} ({token:?}) has a character outside GPT-2's byte alphabet")]
    BadToken { index: usize, token: String },
    /// `decoder/projection/weight` differs from the token embedding.
    #[error("output projection is not tied to the token embedding; whisper.cpp cannot load that")]
    UntiedProjection,
    /// Writing the output failed.
    #[error("writing the ggml model failed: {0}")]
    Io(#[from] io::Error),
}

/// Converts a CTranslate2 Whisper model to whisper.cpp's ggml f16 format.
///
/// `model_bin` is the whole `model.bin`, `vocabulary_txt` the whole `vocabulary.txt`.
/// Every problem except an I/O error or a float32 value too large for float16 is found before
/// the first byte is written. `out` is buffered internally and flushed at the end.
pub fn ct2_to_ggml(
    model_bin: &[u8],
    vocabulary_txt: &str,
    out: &mut dyn Write,
) -> Result<Ct2Summary, Ct2Error> {
    let vars = read_ct2(model_bin)?;
    let get = |name: &str| -> Result<&Var, Ct2Error> {
        vars.get(name)
            .ok_or_else(|| Ct2Error::MissingVariable(name.to_string()))
    };

    // Hyper-parameters.
    let n_enc = count_layers(&vars, "encoder/layer_");
    let n_dec = count_layers(&vars, "decoder/layer_");
    let embedding = get("decoder/embeddings/weight")?;
    let [n_vocab, n_state] = embedding.dims::<2>("decoder/embeddings/weight")?;
    let n_audio_ctx = get("encoder/position_encodings/encodings")?
        .dim(0, "encoder/position_encodings/encodings")?;
    let n_text_ctx = get("decoder/position_encodings/encodings")?
        .dim(0, "decoder/position_encodings/encodings")?;
    let n_mels = get("encoder/conv1/weight")?.dim(1, "encoder/conv1/weight")?;
    let hp_u = [
        n_vocab as i64,
        n_audio_ctx as i64,
        n_state as i64,
        get("encoder/num_heads")?.scalar("encoder/num_heads")?,
        n_enc as i64,
        n_text_ctx as i64,
        n_state as i64,
        get("decoder/num_heads")?.scalar("decoder/num_heads")?,
        n_dec as i64,
        n_mels as i64,
        1,
    ];
    let mut hparams = [0i32; 11];
    for (h, v) in hparams.iter_mut().zip(hp_u) {
        *h = i32::try_from(v).map_err(|_| Ct2Error::BadShape {
            name: "decoder/embeddings/weight".into(),
            shape: embedding.shape.clone(),
            reason: "a hyper-parameter does not fit in i32",
        })?;
    }

    // Tensors, in openai/whisper state_dict order.
    let mut plan = Plan {
        vars: &vars,
        tensors: Vec::new(),
    };
    plan.add_var(
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
    )?;
    for c in ["conv1", "conv2"] {
        plan.add_var(
            &format!("encoder.{c}.weight"),
            &format!("encoder/{c}/weight"),
        )?;
        let bias = plan.var(&format!("encoder/{c}/bias"))?.clone();
        plan.add(format!("encoder.{c}.bias"), bias, Some(vec![n_state, 1]));
    }
    for i in 0..n_enc {
        let (s, t) = (format!("encoder/layer_{i}"), format!("encoder.blocks.{i}"));
        plan.split(
            &format!("{t}.attn"),
            &format!("{s}/self_attention/linear_0"),
            &["query", "key", "value"],
        )?;
        plan.linear(
            &format!("{t}.attn.out"),
            &format!("{s}/self_attention/linear_1"),
        )?;
        plan.layer_norm(
            &format!("{t}.attn_ln"),
            &format!("{s}/self_attention/layer_norm"),
        )?;
        plan.linear(&format!("{t}.mlp.0"), &format!("{s}/ffn/linear_0"))?;
        plan.linear(&format!("{t}.mlp.2"), &format!("{s}/ffn/linear_1"))?;
        plan.layer_norm(&format!("{t}.mlp_ln"), &format!("{s}/ffn/layer_norm"))?;
    }
    plan.layer_norm("encoder.ln_post", "encoder/layer_norm")?;
    plan.add_var(
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
    )?;
    plan.add_var(
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
    )?;
    for i in 0..n_dec {
        let (s, t) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        plan.split(
            &format!("{t}.attn"),
            &format!("{s}/self_attention/linear_0"),
            &["query", "key", "value"],
        )?;
        plan.linear(
            &format!("{t}.attn.out"),
            &format!("{s}/self_attention/linear_1"),
        )?;
        plan.layer_norm(
            &format!("{t}.attn_ln"),
            &format!("{s}/self_attention/layer_norm"),
        )?;
        plan.linear(
            &format!("{t}.cross_attn.query"),
            &format!("{s}/attention/linear_0"),
        )?;
        plan.split(
            &format!("{t}.cross_attn"),
            &format!("{s}/attention/linear_1"),
            &["key", "value"],
        )?;
        plan.linear(
            &format!("{t}.cross_attn.out"),
            &format!("{s}/attention/linear_2"),
        )?;
        plan.layer_norm(
            &format!("{t}.cross_attn_ln"),
            &format!("{s}/attention/layer_norm"),
        )?;
        plan.linear(&format!("{t}.mlp.0"), &format!("{s}/ffn/linear_0"))?;
        plan.linear(&format!("{t}.mlp.2"), &format!("{s}/ffn/linear_1"))?;
        plan.layer_norm(&format!("{t}.mlp_ln"), &format!("{s}/ffn/layer_norm"))?;
    }
    plan.layer_norm("decoder.ln", "decoder/layer_norm")?;
    let tensors = plan.tensors;

    // whisper.cpp has no separate output projection: it reuses the token embedding.
    if let Some(proj) = vars.get("decoder/projection/weight") {
        if proj.data != embedding.data {
            return Err(Ct2Error::UntiedProjection);
        }
    }

    // Vocabulary: whisper.cpp reads only the BPE tokens and synthesizes the special ones.
    let tokens = read_vocabulary(vocabulary_txt, n_vocab as usize)?;

    // Check every tensor before writing anything.
    let mut outputs = Vec::with_capacity(tensors.len());
    for t in &tensors {
        let shape = t.shape.as_ref().unwrap_or(&t.var.shape);
        let ftype_f16 = shape.len() >= 2 && !F32_NAMES.contains(&t.name.as_str());
        let want = if ftype_f16 { DT_F16 } else { DT_F32 };
        t.var.check(&t.name, want)?;
        let mut dims = Vec::with_capacity(shape.len());
        for &d in shape.iter().rev() {
            dims.push(i32::try_from(d).map_err(|_| Ct2Error::BadShape {
                name: t.name.clone(),
                shape: shape.clone(),
                reason: "a dimension does not fit in i32",
            })?);
        }
        outputs.push((dims, want));
    }

    // Write.
    let mut w = CountingWriter {
        inner: BufWriter::with_capacity(1 << 20, out),
        bytes: 0,
    };
    w.i32(0x67676d6c)?;
    for h in hparams {
        w.i32(h)?;
    }
    w.i32(n_mels as i32)?;
    w.i32(N_FFT_BINS as i32)?;
    let mut mel = Vec::with_capacity(n_mels as usize * N_FFT_BINS * 4);
    for v in mel_filters(n_mels as usize) {
        mel.extend_from_slice(&v.to_le_bytes());
    }
    w.put(&mel)?;
    w.i32(tokens.len() as i32)?;
    for tok in &tokens {
        w.i32(tok.len() as i32)?;
        w.put(tok)?;
    }
    let mut scratch = Vec::new();
    for (t, (dims, want)) in tensors.iter().zip(outputs) {
        w.i32(dims.len() as i32)?;
        w.i32(t.name.len() as i32)?;
        w.i32(if want == DT_F16 { 1 } else { 0 })?;
        for d in dims {
            w.i32(d)?;
        }
        w.put(t.name.as_bytes())?;
        if t.var.dtype == want {
            w.put(t.var.data)?;
        } else {
            scratch.clear();
            convert(&t.name, &t.var, want, &mut scratch)?;
            w.put(&scratch)?;
        }
    }
    w.inner.flush()?;
    Ok(Ct2Summary {
        tensors: tensors.len(),
        bytes: w.bytes,
        hparams,
    })
}

const DT_F32: u8 = 0;
const DT_I8: u8 = 1;
const DT_I16: u8 = 2;
const DT_I32: u8 = 3;
const DT_F16: u8 = 4;

/// Bins of a 400-point FFT (Whisper's STFT): 400 / 2 + 1.
const N_FFT_BINS: usize = 201;

/// Tensors that whisper.cpp reads as f32 even though they have two dimensions.
const F32_NAMES: [&str; 4] = [
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
];

/// Bytes per element of a CTranslate2 dtype.
fn item_size(dtype: u8) -> Option<usize> {
    match dtype {
        DT_F32 | DT_I32 => Some(4),
        DT_I8 => Some(1),
        DT_I16 | DT_F16 => Some(2),
        _ => None,
    }
}

/// One CTranslate2 variable: its shape, dtype and raw little-endian bytes.
#[derive(Debug, Clone)]
struct Var<'a> {
    shape: Vec<u32>,
    dtype: u8,
    data: &'a [u8],
}

impl<'a> Var<'a> {
    fn shape_error(&self, name: &str, reason: &'static str) -> Ct2Error {
        Ct2Error::BadShape {
            name: name.to_string(),
            shape: self.shape.clone(),
            reason,
        }
    }

    /// The shape of a variable that must have rank `N`.
    fn dims<const N: usize>(&self, name: &str) -> Result<[u32; N], Ct2Error> {
        self.shape
            .as_slice()
            .try_into()
            .map_err(|_| self.shape_error(name, "wrong rank"))
    }

    /// Dimension `i`, which must exist.
    fn dim(&self, i: usize, name: &str) -> Result<u32, Ct2Error> {
        self.shape
            .get(i)
            .copied()
            .ok_or_else(|| self.shape_error(name, "too few dimensions"))
    }

    /// The value of an integer scalar (CTranslate2 stores e.g. `num_heads` as i16).
    fn scalar(&self, name: &str) -> Result<i64, Ct2Error> {
        let d = self.data;
        let v = match (self.dtype, d.len()) {
            (DT_I8, 1) => d[0] as i8 as i64,
            (DT_I16, 2) => i16::from_le_bytes([d[0], d[1]]) as i64,
            (DT_I32, 4) => i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64,
            (DT_I8 | DT_I16 | DT_I32, _) => {
                return Err(self.shape_error(name, "not a single integer"))
            }
            _ => {
                return Err(Ct2Error::UnsupportedDtype {
                    name: name.to_string(),
                    dtype: self.dtype,
                    expected: "need an integer",
                })
            }
        };
        Ok(v)
    }

    /// Checks that the variable can be written as `want` (f16 or f32) and that its byte
    /// count matches its shape.
    fn check(&self, name: &str, want: u8) -> Result<(), Ct2Error> {
        if self.dtype != want && self.dtype != DT_F16 && self.dtype != DT_F32 {
            return Err(Ct2Error::UnsupportedDtype {
                name: name.to_string(),
                dtype: self.dtype,
                expected: "need float16 or float32; int8/int16 models are not supported",
            });
        }
        let size = item_size(self.dtype).unwrap_or(1) as u128;
        let count: u128 = self.shape.iter().map(|&d| d as u128).product();
        if count * size != self.data.len() as u128 {
            return Err(self.shape_error(name, "byte count does not match the shape"));
        }
        Ok(())
    }

    /// Rows `[start, stop)` along dimension 0 (data is row-major).
    fn rows(&self, start: usize, stop: usize, name: &str) -> Result<Var<'a>, Ct2Error> {
        let n0 = self.dim(0, name)? as usize;
        let row = self.data.len().checked_div(n0).unwrap_or(0);
        if row * n0 != self.data.len() || n0 == 0 {
            return Err(self.shape_error(name, "cannot split into rows"));
        }
        let data = self
            .data
            .get(start * row..stop * row)
            .ok_or_else(|| self.shape_error(name, "too few rows to split"))?;
        let mut shape = vec![(stop - start) as u32];
        shape.extend_from_slice(&self.shape[1..]);
        Ok(Var {
            shape,
            dtype: self.dtype,
            data,
        })
    }
}

/// Converts f16 data to f32 or back, appending little-endian bytes to `out`.
///
/// Mirrors Python's `struct` module: f16 -> f32 is exact; f32 -> f16 rounds to nearest
/// even and fails on finite values that would overflow; NaNs become the canonical quiet
/// NaN with the sign kept.
fn convert(name: &str, var: &Var, want: u8, out: &mut Vec<u8>) -> Result<(), Ct2Error> {
    if var.dtype == DT_F16 && want == DT_F32 {
        out.reserve(var.data.len() * 2);
        for c in var.data.chunks_exact(2) {
            let h = half::f16::from_bits(u16::from_le_bytes([c[0], c[1]]));
            let f = if h.is_nan() {
                f32::from_bits(0x7fc0_0000 | (u32::from(h.is_sign_negative()) << 31))
            } else {
                h.to_f32()
            };
            out.extend_from_slice(&f.to_le_bytes());
        }
    } else if var.dtype == DT_F32 && want == DT_F16 {
        out.reserve(var.data.len() / 2);
        for c in var.data.chunks_exact(4) {
            let f = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let h = if f.is_nan() {
                half::f16::from_bits(0x7e00 | (u16::from(f.is_sign_negative()) << 15))
            } else {
                let h = half::f16::from_f32(f);
                if h.is_infinite() && f.is_finite() {
                    return Err(Ct2Error::F16Overflow(name.to_string()));
                }
                h
            };
            out.extend_from_slice(&h.to_bits().to_le_bytes());
        }
    } else {
        out.extend_from_slice(var.data);
    }
    Ok(())
}

/// A cursor over `model.bin`.
struct Reader<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Ct2Error> {
        let bytes = self
            .buf
            .get(self.off..)
            .and_then(|rest| rest.get(..n))
            .ok_or(Ct2Error::Truncated {
                offset: self.off,
                needed: n,
                len: self.buf.len(),
            })?;
        self.off += n;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, Ct2Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Ct2Error> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Ct2Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A u16 length (counting a trailing NUL) and that many bytes; the last byte is dropped.
    fn string(&mut self) -> Result<String, Ct2Error> {
        let start = self.off;
        let n = self.u16()? as usize;
        let bytes = self.take(n)?;
        let text = &bytes[..n.saturating_sub(1)];
        String::from_utf8(text.to_vec()).map_err(|_| Ct2Error::BadString(start))
    }
}

/// Parses a CTranslate2 `model.bin` into its variables (aliases included, as copies).
fn read_ct2(buf: &[u8]) -> Result<HashMap<String, Var<'_>>, Ct2Error> {
    let mut r = Reader { buf, off: 0 };
    let version = r.u32()?;
    if version < 5 {
        return Err(Ct2Error::UnsupportedVersion(version));
    }
    let spec = r.string()?;
    if spec != "WhisperSpec" {
        return Err(Ct2Error::NotWhisper(spec));
    }
    let _revision = r.u32()?;
    let mut vars = HashMap::new();
    for _ in 0..r.u32()? {
        let name = r.string()?;
        let rank = r.u8()?;
        let shape = (0..rank).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
        let dtype = r.u8()?;
        let n_bytes = r.u32()? as usize;
        let data = r.take(n_bytes)?;
        vars.insert(name, Var { shape, dtype, data });
    }
    for _ in 0..r.u32()? {
        let alias = r.string()?;
        let target = r.string()?;
        let var = match vars.get(&target) {
            Some(v) => v.clone(),
            None => return Err(Ct2Error::BadAlias { alias, target }),
        };
        vars.insert(alias, var);
    }
    Ok(vars)
}

/// Number of distinct `<prefix><digits>` components, e.g. `encoder/layer_3`.
fn count_layers(vars: &HashMap<String, Var>, prefix: &str) -> usize {
    vars.keys()
        .filter_map(|k| k.strip_prefix(prefix))
        .map(|rest| rest.split('/').next().unwrap_or(""))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .collect::<HashSet<_>>()
        .len()
}

/// A tensor to write: ggml name, source variable, and an optional shape override.
struct Tensor<'a> {
    name: String,
    var: Var<'a>,
    shape: Option<Vec<u32>>,
}

/// Builds the list of output tensors from CTranslate2 variables.
struct Plan<'v, 'a> {
    vars: &'v HashMap<String, Var<'a>>,
    tensors: Vec<Tensor<'a>>,
}

impl<'a> Plan<'_, 'a> {
    fn var(&self, name: &str) -> Result<&Var<'a>, Ct2Error> {
        self.vars
            .get(name)
            .ok_or_else(|| Ct2Error::MissingVariable(name.to_string()))
    }

    fn add(&mut self, name: String, var: Var<'a>, shape: Option<Vec<u32>>) {
        self.tensors.push(Tensor { name, var, shape });
    }

    fn add_var(&mut self, dst: &str, src: &str) -> Result<(), Ct2Error> {
        let var = self.var(src)?.clone();
        self.add(dst.to_string(), var, None);
        Ok(())
    }

    /// `dst.weight` / `dst.bias` from CTranslate2's `src/gamma` / `src/beta`.
    fn layer_norm(&mut self, dst: &str, src: &str) -> Result<(), Ct2Error> {
        self.add_var(&format!("{dst}.weight"), &format!("{src}/gamma"))?;
        self.add_var(&format!("{dst}.bias"), &format!("{src}/beta"))
    }

    /// `dst.weight` / `dst.bias` from `src/weight` / `src/bias`.
    fn linear(&mut self, dst: &str, src: &str) -> Result<(), Ct2Error> {
        self.add_var(&format!("{dst}.weight"), &format!("{src}/weight"))?;
        self.add_var(&format!("{dst}.bias"), &format!("{src}/bias"))
    }

    /// Splits a fused projection into equal row blocks `dst.<part>.weight` / `.bias`;
    /// key projections get no bias.
    fn split(&mut self, dst: &str, src: &str, parts: &[&str]) -> Result<(), Ct2Error> {
        let (wn, bn) = (format!("{src}/weight"), format!("{src}/bias"));
        let w = self.var(&wn)?.clone();
        let b = self.var(&bn)?.clone();
        let n = w.dim(0, &wn)? as usize / parts.len();
        for (j, part) in parts.iter().enumerate() {
            self.add(
                format!("{dst}.{part}.weight"),
                w.rows(j * n, (j + 1) * n, &wn)?,
                None,
            );
            if *part != "key" {
                self.add(
                    format!("{dst}.{part}.bias"),
                    b.rows(j * n, (j + 1) * n, &bn)?,
                    None,
                );
            }
        }
        Ok(())
    }
}

/// GPT-2's byte -> character table: printable Latin-1 bytes map to themselves, the other
/// 68 bytes to U+0100.. in byte order. Byte-level BPE vocabularies are spelled with it.
fn bytes_to_unicode() -> [char; 256] {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xa1..=0xac | 0xae..=0xff);
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        table[b as usize] = if printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(next - 1).unwrap_or('\0')
        };
    }
    table
}

/// Splits `vocabulary.txt` like Python's text mode (`\r\n` and `\r` end lines too), checks
/// the size, and returns the raw bytes of the BPE tokens before `<|endoftext|>`.
fn read_vocabulary(text: &str, n_vocab: usize) -> Result<Vec<Vec<u8>>, Ct2Error> {
    let text = if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let vocab: Vec<&str> = text.split('\n').take(n_vocab).collect();
    if vocab.len() != n_vocab {
        return Err(Ct2Error::VocabularySize {
            found: vocab.len(),
            expected: n_vocab,
        });
    }
    let n_base = vocab
        .iter()
        .position(|t| *t == "<|endoftext|>")
        .ok_or(Ct2Error::NoEndOfText)?;
    let mut decode: HashMap<char, u8> = HashMap::with_capacity(256);
    for (b, c) in bytes_to_unicode().into_iter().enumerate() {
        decode.insert(c, b as u8);
    }
    vocab[..n_base]
        .iter()
        .enumerate()
        .map(|(index, tok)| {
            tok.chars()
                .map(|c| decode.get(&c).copied())
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| Ct2Error::BadToken {
                    index,
                    token: tok.to_string(),
                })
        })
        .collect()
}

/// librosa.filters.mel(sr=16000, n_fft=400, n_mels) with the Slaney mel scale and area
/// normalisation, row-major `n_mels x 201`.
///
/// Computed in f64 with exactly the reference's operations and order, then rounded to f32,
/// so the bytes match (a 1-ulp difference in `exp`/`ln` does not change any f32 value).
fn mel_filters(n_mels: usize) -> Vec<f32> {
    let n_fft = 400.0_f64;
    let sr = 16000.0_f64;
    let val = 1.0 / (n_fft * (1.0 / sr));
    let fftfreqs: Vec<f64> = (0..N_FFT_BINS).map(|i| i as f64 * val).collect();
    let f_sp = 200.0 / 3.0;
    let max_mel = 45.245640471924965; // hz_to_mel(8000)
    let step = (max_mel - 0.0) / (n_mels + 1) as f64;
    let mut mels: Vec<f64> = (0..n_mels + 2).map(|i| i as f64 * step).collect();
    mels[n_mels + 1] = max_mel;
    let (min_log_hz, min_log_mel, logstep) = (1000.0, 1000.0 / f_sp, 6.4_f64.ln() / 27.0);
    let freqs: Vec<f64> = mels
        .iter()
        .map(|&m| {
            if m >= min_log_mel {
                min_log_hz * (logstep * (m - min_log_mel)).exp()
            } else {
                f_sp * m
            }
        })
        .collect();
    let mut out = Vec::with_capacity(n_mels * N_FFT_BINS);
    for i in 0..n_mels {
        let d0 = freqs[i + 1] - freqs[i];
        let d1 = freqs[i + 2] - freqs[i + 1];
        let enorm = 2.0 / (freqs[i + 2] - freqs[i]);
        for &f in &fftfreqs {
            let lower = -(freqs[i] - f) / d0;
            let upper = (freqs[i + 2] - f) / d1;
            // Python's min(lower, upper): the first unless the second is smaller, which keeps
            // the sign of a zero exactly as the reference does.
            let v = if upper < lower { upper } else { lower };
            // `v >= 0.0` is true for -0.0, so -0.0 * enorm stays -0.0 like librosa/numpy.
            out.push(((if v >= 0.0 { v } else { 0.0 }) * enorm) as f32);
        }
    }
    out
}

/// Buffers writes to the caller's writer and counts the bytes.
struct CountingWriter<'a> {
    inner: BufWriter<&'a mut dyn Write>,
    bytes: u64,
}

impl CountingWriter<'_> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.bytes += b.len() as u64;
        Ok(())
    }

    fn i32(&mut self, v: i32) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends a CTranslate2 string (u16 length counting the NUL, bytes, NUL).
    fn put_str(buf: &mut Vec<u8>, s: &str) {
        buf.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
        buf.push(0);
    }

    fn put_var(buf: &mut Vec<u8>, name: &str, shape: &[u32], dtype: u8, data: &[u8]) {
        put_str(buf, name);
        buf.push(shape.len() as u8);
        for d in shape {
            buf.extend_from_slice(&d.to_le_bytes());
        }
        buf.push(dtype);
        buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
        buf.extend_from_slice(data);
    }

    fn header(spec: &str) -> Vec<u8> {
        let mut buf = 6u32.to_le_bytes().to_vec();
        put_str(&mut buf, spec);
        buf.extend_from_slice(&1u32.to_le_bytes());
        buf
    }

    #[test]
    fn rejects_wrong_spec() {
        let mut buf = header("TransformerSpec");
        buf.extend_from_slice(&[0; 8]);
        let err = ct2_to_ggml(&buf, "", &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Ct2Error::NotWhisper(ref s) if s == "TransformerSpec"));
        assert!(err.to_string().contains("not a Whisper model"));
    }

    #[test]
    fn rejects_old_version_and_truncation() {
        let err = ct2_to_ggml(&4u32.to_le_bytes(), "", &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Ct2Error::UnsupportedVersion(4)));
        let buf = header("WhisperSpec");
        let err = ct2_to_ggml(&buf[..buf.len() - 2], "", &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Ct2Error::Truncated { .. }), "{err}");
    }

    #[test]
    fn parses_variables_and_aliases() {
        let mut buf = header("WhisperSpec");
        buf.extend_from_slice(&2u32.to_le_bytes());
        put_var(
            &mut buf,
            "encoder/num_heads",
            &[],
            DT_I16,
            &8i16.to_le_bytes(),
        );
        put_var(&mut buf, "a/weight", &[2, 1], DT_F16, &[0, 0x3c, 0, 0x40]);
        buf.extend_from_slice(&1u32.to_le_bytes());
        put_str(&mut buf, "b/weight");
        put_str(&mut buf, "a/weight");
        let vars = read_ct2(&buf).unwrap();
        assert_eq!(vars.len(), 3);
        assert_eq!(vars["encoder/num_heads"].scalar("n").unwrap(), 8);
        assert_eq!(vars["b/weight"].shape, vec![2, 1]);
        assert_eq!(vars["b/weight"].data, vars["a/weight"].data);
        let second = vars["a/weight"].rows(1, 2, "a/weight").unwrap();
        assert_eq!(second.shape, vec![1, 1]);
        assert_eq!(second.data, &[0, 0x40]);

        // A Whisper spec without the expected variables names the first one missing.
        let err = ct2_to_ggml(&buf, "", &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CTranslate2 model has no variable decoder/embeddings/weight"
        );
    }

    #[test]
    fn converts_f16_to_f32_and_back() {
        let f16s = Var {
            shape: vec![3],
            dtype: DT_F16,
            data: &[0x00, 0x3c, 0x00, 0xc0, 0x01, 0x7e],
        };
        let mut out = Vec::new();
        convert("x", &f16s, DT_F32, &mut out).unwrap();
        let vals: Vec<u32> = out
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(vals, [1.0f32.to_bits(), (-2.0f32).to_bits(), 0x7fc0_0000]);

        let big = 70000.0f32.to_le_bytes();
        let f32s = Var {
            shape: vec![1],
            dtype: DT_F32,
            data: &big,
        };
        assert!(matches!(
            convert("x", &f32s, DT_F16, &mut Vec::new()),
            Err(Ct2Error::F16Overflow(_))
        ));
    }

    #[test]
    fn mel_filter_bank_first_values() {
        let mel = mel_filters(80);
        assert_eq!(mel.len(), 80 * 201);
        // Bit patterns written by the reference converter (librosa's values as f32).
        let bits: Vec<u32> = [0, 1, 2, 202, 203]
            .iter()
            .map(|&i| mel[i].to_bits())
            .collect();
        assert_eq!(
            bits,
            [0x8000_0000, 0x3ccb_aca4, 0, 0x3b02_7873, 0x3cbb_5d95]
        );
    }

    #[test]
    fn bytes_to_unicode_round_trip() {
        let table = bytes_to_unicode();
        assert_eq!(table[b'A' as usize], 'A');
        assert_eq!(table[b' ' as usize], 'Ġ');
        assert_eq!(table[b'\n' as usize], 'Ċ');
        assert_eq!(table[0xad], '\u{143}');
        let distinct: HashSet<char> = table.iter().copied().collect();
        assert_eq!(distinct.len(), 256);

        let vocab = "ĠHello\nĊ\n<|endoftext|>\n<|startoftranscript|>\n";
        let tokens = read_vocabulary(vocab, 4).unwrap();
        assert_eq!(tokens, vec![b" Hello".to_vec(), b"\n".to_vec()]);
        assert!(matches!(
            read_vocabulary(vocab, 6),
            Err(Ct2Error::VocabularySize {
                found: 5,
                expected: 6
            })
        ));
        assert!(matches!(
            read_vocabulary("日\n<|endoftext|>", 2),
            Err(Ct2Error::BadToken { index: 0, .. })
        ));
    }
}
