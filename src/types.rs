//! The data that flows between pipeline stages.
//!
//! Every stage of sowhat takes one of these types and returns another, and every type is a
//! `serde` type, so any stage's output can be written to disk, inspected, and fed to the next
//! stage later (see DESIGN.md, "Pipeline stages and their types"):
//!
//! ```text
//! audio ─► Pcm ─► Transcript ─► (roles) Transcript ─► Utterance ─► Mention ─► ThemeStats ─► Story
//! ```
//!
//! Field names here are part of the `insights.json` and transcript JSON contracts: rename
//! nothing without bumping the schema versions below.

use serde::{Deserialize, Serialize};

/// Schema tag of a transcript written as JSON.
pub const TRANSCRIPT_SCHEMA: &str = "sowhat.transcript/1";
/// Schema tag of `insights.json`.
pub const INSIGHTS_SCHEMA: &str = "sowhat.insights/1";

/// Seconds from the start of a recording.
pub type Seconds = f64;

/// A transcript of one recording (or one imported transcript file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    #[serde(default = "transcript_schema")]
    pub schema: String,
    /// Where it came from, as the user named it (relative paths stay relative).
    pub source: String,
    /// Stable, filesystem-safe id of the recording (from the file name).
    pub id: String,
    /// ISO 639-1 code, detected or forced; `None` when unknown (imported text).
    pub language: Option<String>,
    /// Length of the recording in seconds, when known.
    pub duration: Option<Seconds>,
    /// How the transcript was made (model, settings); `None` for imported transcripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    pub segments: Vec<Segment>,
}

fn transcript_schema() -> String {
    TRANSCRIPT_SCHEMA.to_string()
}

impl Transcript {
    pub fn new(source: impl Into<String>, id: impl Into<String>) -> Self {
        Transcript {
            schema: TRANSCRIPT_SCHEMA.to_string(),
            source: source.into(),
            id: id.into(),
            language: None,
            duration: None,
            provenance: None,
            segments: Vec::new(),
        }
    }

    /// All text, one segment a line (handy for word error rates and quick looks).
    pub fn plain_text(&self) -> String {
        let parts: Vec<&str> = self.segments.iter().map(|s| s.text.trim()).collect();
        parts.join(" ")
    }
}

/// How a transcript was produced, so a reader can judge it and a cache can key on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `sowhat <version>`.
    pub tool: String,
    /// Model name or file name (never an absolute path of the researcher's machine).
    pub model: String,
    /// Whether Silero VAD chose the speech that was transcribed.
    pub vad: bool,
    /// Language the user forced, or `auto`.
    pub language_setting: String,
    /// Probability of the detected language, when it was detected.
    pub language_probability: Option<f32>,
    /// Seconds of speech VAD kept (of `Transcript::duration`).
    pub speech_seconds: Option<Seconds>,
    /// A stereo recording with one speaker per channel, transcribed channel by channel.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub channels_separate: bool,
    /// Wall-clock seconds the transcription took.
    pub elapsed_seconds: Option<f64>,
}

/// One stretch of speech by one speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start, in seconds; `None` for transcripts without times.
    pub start: Option<Seconds>,
    pub end: Option<Seconds>,
    /// Who speaks, when known.
    pub speaker: Option<Speaker>,
    /// Verbatim text.
    pub text: String,
    /// Mean token probability (0–1) from the recogniser; `None` for imported text.
    pub confidence: Option<f32>,
}

/// Who is speaking. A raw label (`Speaker::Label`) comes from a transcript file, a stereo
/// channel or a diarization cluster; the roles stage turns it into `Interviewer` or
/// `Participant` with a study-wide id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", content = "id", rename_all = "snake_case")]
pub enum Speaker {
    /// A label not yet given a role: "Moderator", "SPEAKER_01", "left", …
    Label(String),
    Interviewer,
    /// A participant id that follows the person through the study: "P03", "P03b".
    Participant(String),
}

impl Speaker {
    /// How the speaker is shown in transcripts and briefs.
    pub fn display(&self) -> &str {
        match self {
            Speaker::Label(s) | Speaker::Participant(s) => s,
            Speaker::Interviewer => "Interviewer",
        }
    }
}

/// A participant in the study (one row of `insights.json` `participants`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub source: String,
    pub language: Option<String>,
    /// Attribute columns from `participants.csv` (segment, plan, country, …).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// One sentence said by a participant: the unit that gets tagged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    pub participant: String,
    pub source: String,
    /// Verbatim sentence.
    pub text: String,
    pub start: Option<Seconds>,
    pub end: Option<Seconds>,
    /// The interviewer's prompt this sentence answers: their segments since a participant last
    /// spoke, joined (context for tagging). None before the interviewer first speaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The participant's whole turn (segment) the sentence comes from: context for tagging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<String>,
    /// Recogniser confidence of the segment it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

impl Utterance {
    /// A sentence with no times and no context (prompt, turn, confidence): fill those in with
    /// struct update syntax where they matter.
    pub fn said(participant: &str, source: &str, text: &str) -> Utterance {
        Utterance {
            participant: participant.into(),
            source: source.into(),
            text: text.into(),
            start: None,
            end: None,
            question: None,
            turn: None,
            confidence: None,
        }
    }
}

/// The kind of a theme (codebook `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeKind {
    Pain,
    Delight,
    Request,
    Neutral,
}

impl ThemeKind {
    /// Whether the pain in a theme's sentences measures the theme. Praise does not hurt: a pain
    /// cue in a praise sentence ("it works, but the export is slow") is a mixed remark that the
    /// sentence's own pain flag keeps, not a measure of the praise. A request keeps the hurt of
    /// what is missing.
    pub fn has_severity(self) -> bool {
        self != ThemeKind::Delight
    }

    /// The codebook's word for it (`kind = "pain"`), also in the brief, CSV and QDPX exports.
    pub fn as_str(self) -> &'static str {
        match self {
            ThemeKind::Pain => "pain",
            ThemeKind::Delight => "delight",
            ThemeKind::Request => "request",
            ThemeKind::Neutral => "neutral",
        }
    }

    /// The kind a codebook word names (exactly as [`ThemeKind::as_str`] writes it).
    pub fn parse(word: &str) -> Option<ThemeKind> {
        [
            ThemeKind::Pain,
            ThemeKind::Delight,
            ThemeKind::Request,
            ThemeKind::Neutral,
        ]
        .into_iter()
        .find(|k| k.as_str() == word)
    }
}

/// Which classifier found a mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Keyword,
    Embedding,
    Both,
    /// Learned from the researcher's own coded examples.
    Examples,
}

/// Pain severity on Nielsen's 0–4 scale (DESIGN.md, "so what?").
pub type Severity = u8;

/// An utterance tagged with a theme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    pub participant: String,
    pub source: String,
    pub text: String,
    pub start: Option<Seconds>,
    pub end: Option<Seconds>,
    pub theme: String,
    pub kind: ThemeKind,
    /// Classifier score, 0–1.
    pub score: f32,
    pub method: Method,
    /// Severity 0–4 of this sentence.
    pub pain: Severity,
    /// Which cues fired (keywords, pain cues), so each score can be explained.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cues: Vec<String>,
}

/// Keep or drop, from the "so what?" filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    Drop,
}

/// Where a theme came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Codebook,
    Discovered,
}

/// A theme with its numbers and the verdict of the "so what?" filter (`insights.json` `themes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeStats {
    pub id: String,
    pub name: String,
    pub kind: ThemeKind,
    pub origin: Origin,
    /// The codebook's description, or for a discovered theme its distinctive words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Distinct participants with a mention.
    pub participants: Vec<String>,
    /// participants ÷ participants in the study.
    pub prevalence: f64,
    pub mentions: usize,
    /// Strongest evidence, 0–4 (the highest severity at least one participant reached).
    pub severity: Severity,
    /// prevalence × severity.
    pub priority: f64,
    pub verdict: Verdict,
    /// The rule that kept or dropped it, in plain words.
    pub reason: String,
    /// Kept on one participant's critical evidence alone (severity ≥ 3): say so in the brief.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub single_source: bool,
    /// Participants per attribute value (`participants.csv` columns), e.g. plan → {pro: 3}.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub segments: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
}

/// How sure the brief is of a story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

/// A verbatim quote with where it was said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub participant: String,
    pub source: String,
    pub text: String,
    pub start: Option<Seconds>,
    pub end: Option<Seconds>,
    /// Severity 0–4 of the quoted sentence.
    #[serde(default)]
    pub pain: Severity,
    /// Recogniser confidence of the quoted speech, when it was transcribed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

/// An insight story about one kept theme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Story {
    pub theme: String,
    pub headline: String,
    pub observation: String,
    pub implication: String,
    pub confidence: Confidence,
    /// Why that confidence, in plain words ("7 of 12 participants, saturated, clear audio").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub confidence_reason: String,
    pub quotes: Vec<Quote>,
}

/// Facts about the study a brief is about.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Study {
    /// Title shown on the brief (default: the input folder's name).
    pub title: String,
    /// When the brief was made (UTC, RFC 3339).
    pub generated: String,
    /// `sowhat <version>`.
    pub tool: String,
    /// Codebook name.
    pub codebook: String,
    /// Interviews (recordings or transcript files) analysed.
    pub interviews: usize,
    /// Languages of the interviews, most frequent first.
    pub languages: Vec<String>,
    /// Thresholds the filter used, in plain words ("keep at ≥ 30 % of participants, …").
    pub rules: String,
    /// What `--redact` replaced, in plain words; `None` when the outputs are not redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<String>,
    /// Codebook themes that sentence similarity alone gave nothing because no participant used
    /// any of their keywords, in plain words; `None` when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unnamed: Option<String>,
}

/// New themes per interview, in the order the interviews were given (Guest et al.).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Saturation {
    pub steps: Vec<SaturationStep>,
    /// Did the last interviews still add themes? In plain words.
    pub statement: String,
    /// True when the last interviews (about a third, at least two) added no kept theme.
    pub saturated: bool,
}

/// One interview's contribution to the theme count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaturationStep {
    pub source: String,
    pub participants: Vec<String>,
    /// Theme ids first mentioned in this interview.
    pub new_themes: Vec<String>,
    /// Themes seen so far, this interview included.
    pub total: usize,
}

/// An input that could not be used, for the brief's and the terminal's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub source: String,
    pub error: String,
}

/// Everything the report writers need (`insights.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insights {
    pub schema: String,
    #[serde(default)]
    pub study: Study,
    pub participants: Vec<Participant>,
    /// Every theme with at least one mention, kept ones first, by priority.
    pub themes: Vec<ThemeStats>,
    /// Kept themes' stories, best first (the brief shows the top 3–7).
    pub stories: Vec<Story>,
    pub mentions: Vec<Mention>,
    #[serde(default)]
    pub saturation: Saturation,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
}

impl Default for Insights {
    /// An empty analysis: no participants, themes or stories yet.
    fn default() -> Self {
        Insights {
            schema: INSIGHTS_SCHEMA.to_string(),
            study: Study::default(),
            participants: Vec::new(),
            themes: Vec::new(),
            stories: Vec::new(),
            mentions: Vec::new(),
            saturation: Saturation::default(),
            failures: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaker_serialises_with_role_tag() {
        let s = serde_json::to_string(&Speaker::Participant("P01".into())).unwrap();
        assert_eq!(s, r#"{"role":"participant","id":"P01"}"#);
        let i = serde_json::to_string(&Speaker::Interviewer).unwrap();
        assert_eq!(i, r#"{"role":"interviewer"}"#);
        let back: Speaker = serde_json::from_str(&s).unwrap();
        assert_eq!(back, Speaker::Participant("P01".into()));
    }

    #[test]
    fn transcript_round_trips_through_json() {
        let mut t = Transcript::new("a.wav", "a");
        t.segments.push(Segment {
            start: Some(1.5),
            end: Some(2.0),
            speaker: Some(Speaker::Label("left".into())),
            text: "Hello.".into(),
            confidence: Some(0.9),
        });
        let json = serde_json::to_string(&t).unwrap();
        let back: Transcript = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert!(json.contains(TRANSCRIPT_SCHEMA));
    }
}
