//! Converts the Silero VAD weights shipped as TorchScript (`silero_vad/data/silero_vad.jit`
//! in the PyPI `silero-vad` wheel) into the ggml VAD file that whisper.cpp loads.
//!
//! The output is byte-identical to the project's reference converter
//! (`shared/tools/silero_to_ggml.py` with `torchzip.py`), which in turn matches whisper.cpp's
//! `models/convert-silero-vad-to-ggml.py`.
//!
//! # Input: a TorchScript archive
//!
//! A `.jit` file is a zip archive with one top-level folder (`PREFIX/`):
//!
//! * `PREFIX/data.pkl` — a protocol-2 Python pickle of the scripted module. Every module is a
//!   `__torch__.…` class instance (`NEWOBJ`) whose attributes arrive as a dict (`BUILD`);
//!   submodules are nested the same way (a `Sequential`'s children are named `"0"`, `"1"`, …).
//!   A tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`, where
//!   `storage` is a persistent id `("storage", torch.FloatStorage, KEY, "cpu", numel)`.
//! * `PREFIX/data/KEY` — the raw little-endian bytes of storage `KEY`.
//! * code, debug info and `constants.pkl`, which the converter does not need.
//!
//! Walking the unpickled object and joining attribute names with dots gives names such as
//! `_model.encoder.0.reparam_conv.weight`. The archive holds a 16 kHz model (`_model.…`) and an
//! 8 kHz one (`_model_8k.…`); only the 16 kHz one is converted. The pickle is parsed with
//! `candle_core::pickle::Stack`; candle's higher-level readers (`read_all`,
//! `read_pth_tensor_info`) expect a plain `torch.save` state dict and find nothing in a
//! TorchScript module tree, so the tree is walked here.
//!
//! # Output: whisper.cpp's ggml VAD file
//!
//! All integers are little-endian `i32`:
//!
//! ```text
//! magic 0x67676d6c ("ggml")
//! len("silero-16k"), "silero-16k"
//! version major, minor, patch
//! window 512, context 64, encoder layers 4
//! 4 × (in channels, out channels, kernel size 3): 129→128, 128→64, 64→64, 64→128
//! LSTM input 128, LSTM hidden 128, final conv in 128, final conv out 1
//! 15 × tensor: n_dims, len(name), ftype (1 = f16, 0 = f32), n_dims × dim, name, data
//! ```
//!
//! Tensors come in the fixed order of `TENSORS` below. Their dims are the PyTorch shape with size-1
//! dims removed and then reversed (ggml lists the fastest-varying dim first), so the final conv
//! bias of shape `[1]` becomes a 0-dim tensor. The STFT basis `[258, 1, 256]` keeps its size-1
//! dim: `[256, 1, 258]`. Data is always the tensor's elements in PyTorch (row-major) order.
//! Convolution weights (encoder, final conv) and the STFT basis are stored as f16 (rounded to
//! nearest, ties to even), everything else as f32.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};

use candle_core::pickle::{Object, Stack};
use half::f16;

/// "ggml" read as a little-endian `i32`.
const GGML_MAGIC: i32 = 0x6767_6d6c;
/// Model type string whisper.cpp expects.
const MODEL_TYPE: &[u8] = b"silero-16k";
/// Samples per VAD window at 16 kHz.
const WINDOW_SAMPLES: i32 = 512;
/// Samples of the previous window prepended as context.
const CONTEXT_SAMPLES: i32 = 64;
/// (input channels, output channels) of the four encoder convolutions.
const ENCODER_CHANNELS: [(i32, i32); 4] = [(129, 128), (128, 64), (64, 64), (64, 128)];
/// Kernel size of every encoder convolution.
const KERNEL_SIZE: i32 = 3;
/// LSTM input size, LSTM hidden size, final conv input channels, final conv output channels.
const DECODER_DIMS: [i32; 4] = [128, 128, 128, 1];

/// How a tensor is written to the ggml file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// f32 data; size-1 dims dropped, then dims reversed.
    F32,
    /// f16 data (convolution weight); size-1 dims dropped, then dims reversed.
    F16,
    /// f16 data; all dims kept and reversed (the STFT basis).
    F16KeepDims,
}

/// One tensor of the output file.
struct TensorSpec {
    /// Dotted name in the TorchScript module, also written into the ggml file.
    name: &'static str,
    /// PyTorch shape the header above implies.
    shape: &'static [usize],
    layout: Layout,
}

/// The tensors of the ggml file, in file order, with the PyTorch shapes the header implies.
const TENSORS: [TensorSpec; 15] = [
    TensorSpec {
        name: "_model.encoder.0.reparam_conv.weight",
        shape: &[128, 129, 3],
        layout: Layout::F16,
    },
    TensorSpec {
        name: "_model.encoder.0.reparam_conv.bias",
        shape: &[128],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.encoder.1.reparam_conv.weight",
        shape: &[64, 128, 3],
        layout: Layout::F16,
    },
    TensorSpec {
        name: "_model.encoder.1.reparam_conv.bias",
        shape: &[64],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.encoder.2.reparam_conv.weight",
        shape: &[64, 64, 3],
        layout: Layout::F16,
    },
    TensorSpec {
        name: "_model.encoder.2.reparam_conv.bias",
        shape: &[64],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.encoder.3.reparam_conv.weight",
        shape: &[128, 64, 3],
        layout: Layout::F16,
    },
    TensorSpec {
        name: "_model.encoder.3.reparam_conv.bias",
        shape: &[128],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.decoder.rnn.weight_ih",
        shape: &[512, 128],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.decoder.rnn.weight_hh",
        shape: &[512, 128],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.decoder.rnn.bias_ih",
        shape: &[512],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.decoder.rnn.bias_hh",
        shape: &[512],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.decoder.decoder.2.weight",
        shape: &[1, 128, 1],
        layout: Layout::F16,
    },
    TensorSpec {
        name: "_model.decoder.decoder.2.bias",
        shape: &[1],
        layout: Layout::F32,
    },
    TensorSpec {
        name: "_model.stft.forward_basis_buffer",
        shape: &[258, 1, 256],
        layout: Layout::F16KeepDims,
    },
];

/// What [`silero_jit_to_ggml`] wrote.
#[derive(Debug, Clone)]
pub struct SileroSummary {
    /// Number of tensors written (15).
    pub tensors: usize,
    /// Total bytes written.
    pub bytes: u64,
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum SileroError {
    #[error("not a zip archive (expected Silero's TorchScript silero_vad.jit): {0}")]
    NotZip(#[source] zip::result::ZipError),
    #[error("no */data.pkl in the zip archive (not a TorchScript or PyTorch archive)")]
    NoDataPkl,
    #[error("cannot read {entry} from the archive: {source}")]
    Entry {
        entry: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("the archive stores tensors in {0} byte order; only little endian is supported")]
    ByteOrder(String),
    #[error("cannot parse data.pkl: {0}")]
    Pickle(String),
    #[error("missing tensor {0}")]
    MissingTensor(String),
    #[error("tensor {name} has shape {found:?}, expected {expected:?}")]
    BadShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("tensor {name} uses {storage}, only FloatStorage and HalfStorage are supported")]
    UnsupportedStorage { name: String, storage: String },
    #[error("tensor {name} reaches past the end of its storage")]
    StorageOutOfRange { name: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Converts Silero VAD TorchScript weights (silero_vad.jit) into whisper.cpp's ggml VAD format.
///
/// `version` is written into the header (e.g. `[6, 2, 3]` for silero-vad 6.2.3). The whole
/// file is assembled in memory and written with one `write_all`, so nothing is written when
/// the input is rejected.
///
/// # Errors
///
/// [`SileroError`] when `jit_zip` is not a zip archive, has no `data.pkl`, lacks one of the
/// 15 tensors or has one with an unexpected shape or storage type, or when writing fails.
pub fn silero_jit_to_ggml(
    jit_zip: &[u8],
    version: [i32; 3],
    out: &mut dyn Write,
) -> Result<SileroSummary, SileroError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(jit_zip)).map_err(SileroError::NotZip)?;
    let pkl_name = archive
        .file_names()
        .find(|name| name.ends_with("/data.pkl"))
        .map(str::to_owned)
        .ok_or(SileroError::NoDataPkl)?;
    let prefix = &pkl_name[..pkl_name.len() - "/data.pkl".len()];

    let byteorder_name = format!("{prefix}/byteorder");
    if archive.index_for_name(&byteorder_name).is_some() {
        let order = read_entry(&mut archive, &byteorder_name)?;
        let order = String::from_utf8_lossy(&order).trim().to_owned();
        if order != "little" {
            return Err(SileroError::ByteOrder(order));
        }
    }

    let pickle = read_entry(&mut archive, &pkl_name)?;
    let mut stack = Stack::empty();
    stack
        .read_loop(&mut pickle.as_slice())
        .map_err(pickle_error)?;
    let root = stack.finalize().map_err(pickle_error)?;
    let mut found = HashMap::new();
    collect_tensors(&root, "", &mut found)?;

    let mut file = Vec::new();
    write_header(&mut file, version);
    for spec in &TENSORS {
        let tensor = found
            .get(spec.name)
            .ok_or_else(|| SileroError::MissingTensor(spec.name.to_owned()))?;
        if tensor.size != spec.shape {
            return Err(SileroError::BadShape {
                name: spec.name.to_owned(),
                expected: spec.shape.to_vec(),
                found: tensor.size.clone(),
            });
        }
        let storage = read_entry(
            &mut archive,
            &format!("{prefix}/data/{}", tensor.storage_key),
        )?;
        let values = tensor.materialize(spec.name, &storage)?;
        write_tensor(&mut file, spec, &values);
    }

    out.write_all(&file)?;
    out.flush()?;
    Ok(SileroSummary {
        tensors: TENSORS.len(),
        bytes: file.len() as u64,
    })
}

/// Reads one whole entry of the archive.
fn read_entry(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
) -> Result<Vec<u8>, SileroError> {
    let mut entry = archive.by_name(name).map_err(|source| SileroError::Entry {
        entry: name.to_owned(),
        source,
    })?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Keeps candle's message but not the backtrace it appends when `RUST_BACKTRACE` is set.
fn pickle_error(err: candle_core::Error) -> SileroError {
    let message = match err {
        candle_core::Error::WithBacktrace { inner, .. } => inner.to_string(),
        other => other.to_string(),
    };
    SileroError::Pickle(message)
}

fn put_i32(file: &mut Vec<u8>, value: i32) {
    file.extend_from_slice(&value.to_le_bytes());
}

/// Writes the fixed header (everything before the first tensor).
fn write_header(file: &mut Vec<u8>, version: [i32; 3]) {
    put_i32(file, GGML_MAGIC);
    put_i32(file, MODEL_TYPE.len() as i32);
    file.extend_from_slice(MODEL_TYPE);
    for part in version {
        put_i32(file, part);
    }
    put_i32(file, WINDOW_SAMPLES);
    put_i32(file, CONTEXT_SAMPLES);
    put_i32(file, ENCODER_CHANNELS.len() as i32);
    for (cin, cout) in ENCODER_CHANNELS {
        put_i32(file, cin);
        put_i32(file, cout);
        put_i32(file, KERNEL_SIZE);
    }
    for dim in DECODER_DIMS {
        put_i32(file, dim);
    }
}

/// Writes one tensor record: n_dims, name length, ftype, dims (reversed), name, data.
fn write_tensor(file: &mut Vec<u8>, spec: &TensorSpec, values: &[f32]) {
    let dims: Vec<usize> = match spec.layout {
        Layout::F16KeepDims => spec.shape.iter().rev().copied().collect(),
        Layout::F32 | Layout::F16 => spec
            .shape
            .iter()
            .rev()
            .copied()
            .filter(|&d| d != 1)
            .collect(),
    };
    let half = spec.layout != Layout::F32;
    put_i32(file, dims.len() as i32);
    put_i32(file, spec.name.len() as i32);
    put_i32(file, i32::from(half));
    for dim in dims {
        put_i32(file, dim as i32);
    }
    file.extend_from_slice(spec.name.as_bytes());
    for &value in values {
        if half {
            file.extend_from_slice(&f16::from_f32(value).to_le_bytes());
        } else {
            file.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// A tensor found in data.pkl: where its elements live in which storage.
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    /// Storage file name under `PREFIX/data/`.
    storage_key: String,
    /// PyTorch storage class, e.g. `FloatStorage`.
    storage_type: String,
    /// Offset of the first element, in elements.
    offset: usize,
    size: Vec<usize>,
    /// Strides in elements.
    stride: Vec<usize>,
}

impl TensorRef {
    /// Gathers the tensor's elements in row-major order from its raw storage bytes.
    fn materialize(&self, name: &str, storage: &[u8]) -> Result<Vec<f32>, SileroError> {
        let elements: Vec<f32> = match self.storage_type.as_str() {
            "FloatStorage" => storage
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            "HalfStorage" => storage
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(SileroError::UnsupportedStorage {
                    name: name.to_owned(),
                    storage: other.to_owned(),
                })
            }
        };
        let out_of_range = || SileroError::StorageOutOfRange {
            name: name.to_owned(),
        };
        let count: usize = self.size.iter().product();
        let mut values = Vec::with_capacity(count);
        let mut index = vec![0usize; self.size.len()];
        for _ in 0..count {
            let mut at = self.offset;
            for (i, s) in index.iter().zip(&self.stride) {
                at = i
                    .checked_mul(*s)
                    .and_then(|step| at.checked_add(step))
                    .ok_or_else(out_of_range)?;
            }
            values.push(*elements.get(at).ok_or_else(out_of_range)?);
            // Advance the row-major multi-index, last dim fastest.
            for (i, dim) in index.iter_mut().zip(&self.size).rev() {
                *i += 1;
                if *i < *dim {
                    break;
                }
                *i = 0;
            }
        }
        Ok(values)
    }
}

/// Walks the unpickled module tree and records every tensor under its dotted name.
///
/// Mirrors `torchzip._collect`: dicts (module attributes, state dicts) contribute their keys,
/// objects restored with `BUILD` contribute their state dict, and lists/tuples contribute the
/// index of elements that are tensors, dicts or objects.
fn collect_tensors(
    obj: &Object,
    name: &str,
    out: &mut HashMap<String, TensorRef>,
) -> Result<(), SileroError> {
    if let Some(tensor) = tensor_ref(obj, name)? {
        out.insert(name.to_owned(), tensor);
        return Ok(());
    }
    match obj {
        Object::Dict(items) => {
            for (key, value) in items {
                if let Some(key) = key_string(key) {
                    collect_tensors(value, &join(name, &key), out)?;
                }
            }
        }
        Object::Build { args, .. } => {
            if matches!(**args, Object::Dict(_)) {
                collect_tensors(args, name, out)?;
            }
        }
        Object::Tuple(items) | Object::List(items) => {
            for (i, item) in items.iter().enumerate() {
                if matches!(
                    item,
                    Object::Dict(_) | Object::Build { .. } | Object::Reduce { .. }
                ) {
                    collect_tensors(item, &join(name, &i.to_string()), out)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Dict keys as Python's `str()` would print them (strings and integers only).
fn key_string(key: &Object) -> Option<String> {
    match key {
        Object::Unicode(s) => Some(s.clone()),
        Object::Int(i) => Some(i.to_string()),
        Object::Long(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Recognises `_rebuild_tensor_v2(storage, offset, size, stride, …)` (also the older
/// `_rebuild_tensor`) and `_rebuild_parameter(tensor, …)`; returns `None` for anything else.
fn tensor_ref(obj: &Object, name: &str) -> Result<Option<TensorRef>, SileroError> {
    let Object::Reduce { callable, args } = obj else {
        return Ok(None);
    };
    let Object::Class { class_name, .. } = &**callable else {
        return Ok(None);
    };
    let malformed = |what: &str| SileroError::Pickle(format!("tensor {name}: {what}"));
    match class_name.as_str() {
        "_rebuild_parameter" | "_rebuild_parameter_with_state" => match &**args {
            Object::Tuple(items) if !items.is_empty() => tensor_ref(&items[0], name),
            _ => Err(malformed("bad _rebuild_parameter arguments")),
        },
        "_rebuild_tensor_v2" | "_rebuild_tensor" => {
            let Object::Tuple(items) = &**args else {
                return Err(malformed("arguments are not a tuple"));
            };
            if items.len() < 4 {
                return Err(malformed("too few arguments"));
            }
            let Object::PersistentLoad(pid) = &items[0] else {
                return Err(malformed("storage is not a persistent id"));
            };
            // ("storage", storage class, key, location, numel)
            let (storage_type, storage_key) = match &**pid {
                Object::Tuple(p) if p.len() >= 3 => match (&p[1], key_string(&p[2])) {
                    (Object::Class { class_name, .. }, Some(key)) => (class_name.clone(), key),
                    _ => return Err(malformed("bad storage id")),
                },
                _ => return Err(malformed("bad storage id")),
            };
            let offset = as_usize(&items[1]).ok_or_else(|| malformed("bad storage offset"))?;
            let size = usize_tuple(&items[2]).ok_or_else(|| malformed("bad size"))?;
            let stride = usize_tuple(&items[3]).ok_or_else(|| malformed("bad stride"))?;
            if size.len() != stride.len() {
                return Err(malformed("size and stride differ in length"));
            }
            Ok(Some(TensorRef {
                storage_key,
                storage_type,
                offset,
                size,
                stride,
            }))
        }
        _ => Ok(None),
    }
}

fn as_usize(obj: &Object) -> Option<usize> {
    match obj {
        Object::Int(i) => usize::try_from(*i).ok(),
        Object::Long(i) => usize::try_from(*i).ok(),
        _ => None,
    }
}

fn usize_tuple(obj: &Object) -> Option<Vec<usize>> {
    match obj {
        Object::Tuple(items) | Object::List(items) => items.iter().map(as_usize).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    /// Emits a protocol-2 pickle shaped like a TorchScript `data.pkl`: a `__torch__` module
    /// object whose state dict holds `_model`, a module whose state dict maps the rest of each
    /// tensor name to a `_rebuild_tensor_v2` call on storage `KEY` (the tensor's index).
    fn pickle_module(tensors: &[(&str, Vec<usize>, Vec<usize>)]) -> Vec<u8> {
        fn text(p: &mut Vec<u8>, s: &str) {
            p.push(b'X'); // BINUNICODE
            p.extend_from_slice(&(s.len() as u32).to_le_bytes());
            p.extend_from_slice(s.as_bytes());
        }
        fn int(p: &mut Vec<u8>, i: usize) {
            p.push(b'J'); // BININT
            p.extend_from_slice(&(i as i32).to_le_bytes());
        }
        fn int_tuple(p: &mut Vec<u8>, values: &[usize]) {
            p.push(b'('); // MARK
            for &v in values {
                int(p, v);
            }
            p.push(b't'); // TUPLE
        }
        fn new_module(p: &mut Vec<u8>, module: &str, class: &str) {
            p.extend_from_slice(format!("c{module}\n{class}\n").as_bytes()); // GLOBAL
            p.extend_from_slice(b")\x81}("); // EMPTY_TUPLE NEWOBJ EMPTY_DICT MARK
        }
        let mut p = vec![0x80, 2]; // PROTO 2
        new_module(&mut p, "__torch__.vad", "Top");
        text(&mut p, "_model");
        new_module(&mut p, "__torch__.vad", "Inner");
        for (key, (name, size, stride)) in tensors.iter().enumerate() {
            text(&mut p, name.strip_prefix("_model.").unwrap());
            p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n(");
            p.extend_from_slice(b"(");
            text(&mut p, "storage");
            p.extend_from_slice(b"ctorch\nFloatStorage\n");
            text(&mut p, &key.to_string());
            text(&mut p, "cpu");
            int(&mut p, size.iter().product());
            p.extend_from_slice(b"tQ"); // TUPLE BINPERSID
            int(&mut p, 0);
            int_tuple(&mut p, size);
            int_tuple(&mut p, stride);
            p.extend_from_slice(b"\x89ccollections\nOrderedDict\n)RtR");
        }
        p.extend_from_slice(b"ub"); // SETITEMS BUILD (inner module)
        p.extend_from_slice(b"ub."); // SETITEMS BUILD (top module) STOP
        p
    }

    fn contiguous_strides(size: &[usize]) -> Vec<usize> {
        let mut strides = vec![1; size.len()];
        for i in (0..size.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * size[i + 1];
        }
        strides
    }

    /// A fake TorchScript archive holding the given tensors; element `i` of every tensor
    /// is `i as f32 * 0.5`.
    fn fake_jit(tensors: &[(&str, Vec<usize>)]) -> Vec<u8> {
        let with_strides: Vec<_> = tensors
            .iter()
            .map(|(name, size)| (*name, size.clone(), contiguous_strides(size)))
            .collect();
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("fake/data.pkl", opts).unwrap();
        zip.write_all(&pickle_module(&with_strides)).unwrap();
        zip.start_file("fake/byteorder", opts).unwrap();
        zip.write_all(b"little").unwrap();
        for (key, (_, size)) in tensors.iter().enumerate() {
            zip.start_file(format!("fake/data/{key}"), opts).unwrap();
            for i in 0..size.iter().product::<usize>() {
                zip.write_all(&(i as f32 * 0.5).to_le_bytes()).unwrap();
            }
        }
        zip.finish().unwrap().into_inner()
    }

    fn all_tensors() -> Vec<(&'static str, Vec<usize>)> {
        TENSORS.iter().map(|t| (t.name, t.shape.to_vec())).collect()
    }

    #[test]
    fn rejects_non_zip_input() {
        let err = silero_jit_to_ggml(b"definitely not a zip", [6, 2, 3], &mut Vec::new());
        assert!(matches!(err, Err(SileroError::NotZip(_))), "{err:?}");
    }

    #[test]
    fn rejects_zip_without_data_pkl() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("x/readme.txt", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hello").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let err = silero_jit_to_ggml(&bytes, [6, 2, 3], &mut Vec::new());
        assert!(matches!(err, Err(SileroError::NoDataPkl)), "{err:?}");
    }

    #[test]
    fn rejects_a_broken_pickle() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("x/data.pkl", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"\x80\x02(t").unwrap(); // PROTO 2, MARK, TUPLE, no STOP
        let bytes = zip.finish().unwrap().into_inner();
        let err = silero_jit_to_ggml(&bytes, [6, 2, 3], &mut Vec::new());
        match err {
            Err(SileroError::Pickle(message)) => assert!(!message.contains('\n'), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn converts_a_complete_fake_model() {
        let jit = fake_jit(&all_tensors());
        let mut out = Vec::new();
        let summary = silero_jit_to_ggml(&jit, [6, 2, 3], &mut out).unwrap();
        // The size depends only on the shapes, so it equals the real model's.
        assert_eq!(out.len(), 885_098);
        assert_eq!(summary.bytes, 885_098);
        assert_eq!(summary.tensors, 15);
        assert_eq!(&out[..4], b"lmgg");
        assert_eq!(&out[4..8], &10i32.to_le_bytes());
        assert_eq!(&out[8..18], b"silero-16k");
        assert_eq!(&out[18..22], &6i32.to_le_bytes());

        // First tensor record follows the 30-i32 header.
        let first = 18 + 3 * 4 + 3 * 4 + 4 * 3 * 4 + 4 * 4;
        let ints: Vec<i32> = out[first..first + 24]
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let name = TENSORS[0].name;
        assert_eq!(ints, [3, name.len() as i32, 1, 3, 129, 128]);
        let data = first + 24 + name.len();
        assert_eq!(&out[data..data + 2], &f16::from_f32(0.0).to_le_bytes());
        assert_eq!(&out[data + 2..data + 4], &f16::from_f32(0.5).to_le_bytes());

        // The last record: the STFT basis keeps its size-1 dim.
        let basis = 256 * 258 * 2;
        let name = TENSORS[14].name;
        let record = out.len() - basis - name.len() - 6 * 4;
        let ints: Vec<i32> = out[record..record + 24]
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(ints, [3, name.len() as i32, 1, 256, 1, 258]);
    }

    #[test]
    fn reports_a_missing_tensor_by_name() {
        let mut tensors = all_tensors();
        tensors.retain(|(name, _)| *name != "_model.decoder.rnn.bias_hh");
        let err = silero_jit_to_ggml(&fake_jit(&tensors), [6, 2, 3], &mut Vec::new());
        match err {
            Err(SileroError::MissingTensor(name)) => {
                assert_eq!(name, "_model.decoder.rnn.bias_hh");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reports_a_bad_shape_and_writes_nothing() {
        let mut tensors = all_tensors();
        tensors[1].1 = vec![127];
        let mut out = Vec::new();
        let err = silero_jit_to_ggml(&fake_jit(&tensors), [6, 2, 3], &mut out);
        assert!(
            matches!(&err, Err(SileroError::BadShape { found, .. }) if *found == [127]),
            "{err:?}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn materializes_strided_views_in_row_major_order() {
        let storage: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        // The transpose of the 2x3 matrix [[0, 1, 2], [3, 4, 5]].
        let t = TensorRef {
            storage_key: "0".into(),
            storage_type: "FloatStorage".into(),
            offset: 0,
            size: vec![3, 2],
            stride: vec![1, 3],
        };
        assert_eq!(
            t.materialize("t", &storage).unwrap(),
            [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
        );
        let scalar = TensorRef {
            offset: 4,
            size: vec![],
            stride: vec![],
            ..t.clone()
        };
        assert_eq!(scalar.materialize("s", &storage).unwrap(), [4.0]);
        let too_far = TensorRef { offset: 1, ..t };
        assert!(matches!(
            too_far.materialize("t", &storage),
            Err(SileroError::StorageOutOfRange { .. })
        ));
    }
}
