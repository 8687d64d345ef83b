//! The analysis half of the pipeline, end to end: transcripts → roles → sentences → tags →
//! emergent themes → "so what?" filter → stories → [`Insights`].
//!
//! Each step is a call into its own module; this file only wires them together and keeps the
//! bookkeeping (participant ids, `participants.csv`, what failed).

use crate::codebook::{self, Codebook};
use crate::error::{Error, Result};
use crate::filter::{self, ThemeInfo};
use crate::report::markdown::plural;
use crate::speakers::roles;
use crate::tag::{discover, e5, learn, Mode, Tagger};
use crate::types::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `sowhat analyze` (and the analysis half of `sowhat run`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub codebook: Option<PathBuf>,
    /// `--interviewer NAME`: the speaker label to treat as the interviewer.
    pub interviewer: Option<String>,
    /// The rows of `participants.csv` (file, id, attribute columns), by file stem.
    pub participants: BTreeMap<String, ParticipantRow>,
    /// Coded quotes to learn from.
    pub examples: Option<PathBuf>,
    /// `--examples-transcripts`: the coded interviews' transcripts, when not among the inputs.
    pub examples_transcripts: Vec<PathBuf>,
    pub min_prevalence: Option<f64>,
    pub top: Option<usize>,
    pub title: Option<String>,
    /// Keywords only (no embedding model).
    pub keywords_only: bool,
    /// No emergent-theme discovery.
    pub no_discover: bool,
}

/// A transcript with the decision about who is who in it.
pub struct Prepared {
    pub transcript: Transcript,
    pub roles: roles::RoleDecision,
}

/// Loads the codebook named by `--codebook`, or the built-in one.
pub fn load_codebook(path: Option<&Path>) -> Result<Codebook> {
    match path {
        None => Ok(codebook::default_codebook()),
        Some(p) => {
            let text = std::fs::read(p)
                .map_err(|e| Error::input_fix(p, format!("cannot open: {e}"), "check the path"))
                .and_then(|b| {
                    crate::transcript::read::decode_text(&b)
                        .map_err(|why| Error::input_fix(p, why, "save the codebook as UTF-8 text"))
                })?;
            codebook::parse(&text).map_err(|problems| {
                let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                Error::input_fix(
                    p,
                    format!("the codebook has problems:\n  {}", list.join("\n  ")),
                    "fix them (`sowhat codebook check FILE` lists them) or start from `sowhat codebook init FILE`",
                )
            })
        }
    }
}

/// How a recording or transcript finds its `participants.csv` row: its file stem, lower case.
pub(crate) fn row_key(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// One row of `participants.csv`.
#[derive(Debug, Clone, Default)]
pub struct ParticipantRow {
    pub id: String,
    pub attributes: BTreeMap<String, String>,
}

/// Reads `participants.csv`: a `file` column (file name, with or without extension), an `id`
/// column, and any attribute columns. Keys are file stems, lower case.
pub fn read_participants(path: &Path) -> Result<BTreeMap<String, ParticipantRow>> {
    let mut bytes = std::fs::read(path)
        .map_err(|e| Error::input_fix(path, format!("cannot open: {e}"), "check the path"))?;
    if crate::spreadsheet::is_spreadsheet(path) {
        bytes = crate::spreadsheet::to_csv(&bytes, &["file"])
            .map_err(|why| Error::input_fix(path, why, "or save the sheet as CSV (UTF-8)"))?;
    }
    let text = crate::transcript::read::decode_text(&bytes)
        .map_err(|why| Error::input_fix(path, why, "save it as UTF-8 CSV"))?;
    let delim = if text
        .lines()
        .next()
        .map(|l| l.matches(';').count() > l.matches(',').count())
        .unwrap_or(false)
    {
        b';'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| {
            Error::input_fix(
                path,
                format!("no header line: {e}"),
                "the first line names the columns: file,id,…",
            )
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.to_ascii_lowercase().as_str()))
    };
    let file_col = col(&["file", "filename", "recording", "source"]).ok_or_else(|| {
        Error::input_fix(
            path,
            "no `file` column",
            "name the column with the recording's file name `file`",
        )
    })?;
    let id_col = col(&["id", "participant", "participant_id"]);
    let mut out = BTreeMap::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec
            .map_err(|e| Error::input_fix(path, format!("line {}: {e}", i + 2), "fix that line"))?;
        let file = rec.get(file_col).unwrap_or("").trim();
        if file.is_empty() {
            continue;
        }
        let stem = row_key(file);
        let id = id_col
            .and_then(|c| rec.get(c))
            .map(crate::fsutil::safe_participant_id)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| crate::fsutil::safe_id(&stem));
        let mut attributes = BTreeMap::new();
        for (c, h) in headers.iter().enumerate() {
            if c == file_col || Some(c) == id_col || h.is_empty() {
                continue;
            }
            if let Some(v) = rec.get(c).map(str::trim).filter(|v| !v.is_empty()) {
                attributes.insert(h.clone(), v.to_string());
            }
        }
        out.insert(stem, ParticipantRow { id, attributes });
    }
    Ok(out)
}

/// Gives every transcript's speakers roles and participant ids.
pub fn prepare(
    transcripts: Vec<Transcript>,
    rows: &BTreeMap<String, ParticipantRow>,
    interviewer: Option<&str>,
) -> Vec<Prepared> {
    transcripts
        .into_iter()
        .map(|mut t| {
            let stem = row_key(&t.source);
            // The participant id: participants.csv, else the file name as written ("P03").
            let pid = rows.get(&stem).map(|r| r.id.clone()).unwrap_or_else(|| {
                let own = Path::new(&t.source)
                    .file_stem()
                    .map(|s| crate::fsutil::safe_participant_id(&s.to_string_lossy()))
                    .unwrap_or_default();
                if own.is_empty() {
                    t.id.clone()
                } else {
                    own
                }
            });
            let decision = roles::assign(&mut t, &pid, interviewer);
            Prepared {
                transcript: t,
                roles: decision,
            }
        })
        .collect()
}

/// Runs the analysis on prepared transcripts. `log` receives progress lines.
pub fn analyze(
    prepared: &[Prepared],
    failures: Vec<Failure>,
    opts: &Options,
    log: &dyn Fn(&str),
) -> Result<Insights> {
    let codebook = load_codebook(opts.codebook.as_deref())?;
    let mut rules = codebook.rules.clone();
    if let Some(p) = opts.min_prevalence {
        rules.min_prevalence = p;
    }
    if let Some(t) = opts.top {
        rules.top = t;
    }

    // Participants: one per participant id, in interview order.
    let mut participants: Vec<Participant> = Vec::new();
    let mut order: Vec<(String, Vec<String>)> = Vec::new();
    for p in prepared {
        let t = &p.transcript;
        let stem = row_key(&t.source);
        let attrs = opts
            .participants
            .get(&stem)
            .map(|r| r.attributes.clone())
            .unwrap_or_default();
        let mut ids: Vec<String> = Vec::new();
        for s in &t.segments {
            if let Some(Speaker::Participant(id)) = &s.speaker {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        for id in &ids {
            if !participants.iter().any(|x| &x.id == id) {
                participants.push(Participant {
                    id: id.clone(),
                    source: t.source.clone(),
                    language: t.language.clone(),
                    attributes: attrs.clone(),
                });
            }
        }
        order.push((t.source.clone(), ids));
    }

    let utterances: Vec<Utterance> = prepared
        .iter()
        .flat_map(|p| crate::sentences::utterances(&p.transcript))
        .collect();
    log(&format!(
        "{} from {}",
        plural(
            utterances.len(),
            "participant sentence",
            "participant sentences"
        ),
        plural(prepared.len(), "interview", "interviews")
    ));

    // The embedding model, unless keywords only were asked for.
    let embedder = if opts.keywords_only {
        None
    } else {
        Some(load_embedder()?)
    };
    let examples = match &opts.examples {
        Some(p) => learn::read_examples(p).map_err(|why| {
            Error::input_fix(
                p,
                why,
                "give coded quotes as JSONL (quote, tag), a quote table (CSV, .xlsx, .ods) or a .qdpx project",
            )
        })?,
        None => learn::ExamplesFile::default(),
    };
    let mode = if opts.keywords_only {
        Mode::KeywordOnly
    } else {
        Mode::Combined
    };
    // Examples whose codes are not the codebook's are a problem of the examples file, not of
    // the model.
    let coded = match (&opts.examples, &embedder) {
        (Some(p), Some(_)) => {
            learn::resolve(&codebook, &examples.quotes).map_err(|why| Error::input(p, why))?
        }
        _ => Vec::new(),
    };
    let n_coded = coded.len();
    // The coded interviews that are not among these, for the coded quotes' context.
    let context = match &opts.examples {
        Some(p) if !coded.is_empty() => {
            let found = crate::examples::coded_sessions(
                p,
                &examples,
                &opts.examples_transcripts,
                &coded,
                &utterances,
                &opts.participants,
            )?;
            log(&found.describe());
            found
        }
        _ => crate::examples::CodedSessions::default(),
    };
    let model_error = |e: String| {
        Error::model(
            "e5-small",
            e,
            "run `sowhat models fetch e5-small e5-tokenizer`",
        )
    };
    let mut tagger =
        Tagger::with_coded(&codebook, embedder.as_ref(), coded, mode).map_err(model_error)?;
    let started = std::time::Instant::now();
    if !context.utterances.is_empty() {
        // Learned from the coded interviews with these; only these are tagged.
        let study: Vec<Utterance> = utterances
            .iter()
            .chain(&context.utterances)
            .cloned()
            .collect();
        tagger.learn(&study).map_err(model_error)?;
    }
    let tagged = tagger.tag(&utterances).map_err(model_error)?;
    log(&format!(
        "tagged {} sentences in {:.1} s: {} mentions",
        utterances.len(),
        started.elapsed().as_secs_f64(),
        tagged.mentions.len()
    ));
    let sentences = |n: usize| crate::report::markdown::plural(n, "sentence", "sentences");
    for &(t, n) in &tagged.unanchored {
        log(&format!(
            "\u{201c}{}\u{201d}: not given to {} near it only in meaning, as no participant used \
             any of its keywords",
            codebook.themes[t].name,
            sentences(n),
        ));
    }
    let unnamed = (!tagged.unanchored.is_empty()).then(|| {
        let list: Vec<String> = (tagged.unanchored.iter())
            .map(|&(t, n)| {
                format!(
                    "\u{201c}{}\u{201d} ({})",
                    codebook.themes[t].name,
                    sentences(n)
                )
            })
            .collect();
        format!(
            "No participant used any keyword of these codebook themes, so the sentences close to \
             them only in meaning were not given them: {}.",
            list.join(", ")
        )
    });
    let mut mentions = tagged.mentions;

    let mut infos: Vec<ThemeInfo> = codebook
        .themes
        .iter()
        .map(|t| ThemeInfo {
            id: t.id.clone(),
            name: t.name.clone(),
            kind: t.kind,
            origin: Origin::Codebook,
            description: t.description.clone(),
        })
        .collect();

    // Emergent themes from what no theme claimed.
    if !opts.no_discover && !tagged.vectors.is_empty() && !tagged.untagged.is_empty() {
        let idx = &tagged.untagged;
        let texts: Vec<&str> = idx.iter().map(|&i| utterances[i].text.as_str()).collect();
        let vecs: Vec<Vec<f32>> = idx.iter().map(|&i| tagged.vectors[i].clone()).collect();
        let people: Vec<&str> = idx
            .iter()
            .map(|&i| utterances[i].participant.as_str())
            .collect();
        let found = discover::discover(&texts, &vecs, &people, &discover::Options::default());
        for (n, d) in found.iter().enumerate() {
            let id = format!("emergent-{}", n + 1);
            infos.push(ThemeInfo {
                id: id.clone(),
                name: crate::report::markdown::capitalise(&d.label),
                kind: ThemeKind::Neutral,
                origin: Origin::Discovered,
                description: format!(
                    "Found in sentences no codebook theme claimed; distinctive words: {}. Most typical: \u{201c}{}\u{201d}",
                    d.keywords.join(", "),
                    texts[d.central]
                ),
            });
            for &m in &d.members {
                let u = &utterances[idx[m]];
                let a = tagger.pain.assess(&u.text);
                mentions.push(Mention {
                    participant: u.participant.clone(),
                    source: u.source.clone(),
                    text: u.text.clone(),
                    start: u.start,
                    end: u.end,
                    theme: id.clone(),
                    kind: ThemeKind::Neutral,
                    score: (crate::tag::e5::cosine(&vecs[m], &vecs[d.central]) * 100.0).round()
                        / 100.0,
                    method: Method::Embedding,
                    pain: a.severity,
                    cues: a.cues,
                });
            }
        }
        log(&format!(
            "{} emerging themes in {} untagged sentences",
            found.len(),
            idx.len()
        ));
    }

    let ids: Vec<String> = participants.iter().map(|p| p.id.clone()).collect();
    let attributes: BTreeMap<String, BTreeMap<String, String>> = participants
        .iter()
        .map(|p| (p.id.clone(), p.attributes.clone()))
        .collect();
    let themes = filter::apply(&mentions, &infos, &ids, &attributes, &rules);
    let saturation = crate::story::saturation(&order, &themes, &mentions);
    let mut stories = crate::story::stories(&themes, &mentions, &participants, &saturation);
    // Quote confidence from the transcript segment it came from.
    let conf: BTreeMap<(String, String), f32> = utterances
        .iter()
        .filter_map(|u| {
            u.confidence
                .map(|c| ((u.source.clone(), u.text.clone()), c))
        })
        .collect();
    for s in &mut stories {
        for q in &mut s.quotes {
            q.confidence = conf.get(&(q.source.clone(), q.text.clone())).copied();
        }
    }
    mentions.sort_by(|a, b| {
        a.source
            .cmp(&b.source)
            .then(a.start.unwrap_or(0.0).total_cmp(&b.start.unwrap_or(0.0)))
            .then(a.theme.cmp(&b.theme))
    });

    let mut languages: BTreeMap<String, usize> = BTreeMap::new();
    for p in prepared {
        if let Some(l) = &p.transcript.language {
            *languages.entry(l.clone()).or_default() += 1;
        }
    }
    let mut languages: Vec<(String, usize)> = languages.into_iter().collect();
    languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut method_note = rules.describe();
    if opts.keywords_only {
        method_note.push_str(" Themes were found by keywords only (no embedding model).");
    }
    if n_coded > 0 {
        method_note.push_str(&format!(
            " Themes were also learned from {n_coded} coded quotes"
        ));
        match context.files.len() {
            0 => method_note.push('.'),
            n => method_note.push_str(&format!(
                ", {} of them from {n} coded interview{} not in this brief.",
                context.beside,
                if n == 1 { "" } else { "s" }
            )),
        }
    }
    Ok(Insights {
        schema: INSIGHTS_SCHEMA.to_string(),
        study: Study {
            title: opts
                .title
                .clone()
                .unwrap_or_else(|| "Interview findings".to_string()),
            generated: now_rfc3339(),
            tool: format!("sowhat {}", env!("CARGO_PKG_VERSION")),
            codebook: codebook.name.clone(),
            interviews: prepared.len(),
            languages: languages.into_iter().map(|(l, _)| l).collect(),
            rules: method_note,
            redaction: None,
            unnamed,
        },
        participants,
        themes,
        stories,
        mentions,
        saturation,
        failures,
    })
}

/// Loads multilingual-e5-small from the model cache.
pub fn load_embedder() -> Result<e5::Embedder> {
    let model = crate::models::resolve_named(crate::models::TEXT_MODEL)?;
    let tok = crate::models::resolve_named(crate::models::TEXT_TOKENIZER)?;
    e5::Embedder::load(&model, &tok).map_err(|e| {
        Error::model(
            crate::models::TEXT_MODEL,
            e,
            "run `sowhat models fetch --force e5-small e5-tokenizer`",
        )
    })
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
