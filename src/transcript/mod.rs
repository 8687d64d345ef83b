//! Transcript files, both ways: [`read`] imports `.txt`, `.vtt`, `.srt`, Word `.docx`
//! ([`docx`]) and sowhat `.json` (whatever Zoom, Teams, Otter, Rev, Word or a typist
//! produced); [`write`] writes json, txt
//! (`[hh:mm:ss] Speaker: text`), srt and vtt (with `<v Name>` voice tags).

pub mod docx;
pub mod read;
pub mod write;

pub use read::{is_transcript_path, read_file, read_str};
pub use write::{clock, stamp, to_json, to_srt, to_txt, to_vtt, write_all, FORMATS};
