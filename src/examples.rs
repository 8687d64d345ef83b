//! The interviews the researcher's coded quotes come from, for their context.
//!
//! The learner ([`crate::tag::learn`]) reads each coded quote with the interviewer's prompt and
//! the participant's whole turn, found in the transcripts. When the coded interviews are among
//! those analysed, that is all. When they are not (the coded quotes of the first sessions teach
//! the sessions recorded since, or another study's coding teaches this one), their transcripts
//! are looked for: the files and folders given with `--examples-transcripts`, else the sources
//! inside a `.qdpx` examples file and the transcript files beside the examples file (its folder,
//! and a `transcripts` folder in it). A transcript
//! counts only when some coded quote is found in it, so unrelated files there are ignored. The
//! coded sessions' sentences then teach the learner (with their uncoded sentences as "no theme")
//! and are not tagged. A quote found nowhere is learned from alone, without its context.

use crate::analyze::ParticipantRow;
use crate::error::{Error, Result};
use crate::report::qdpx::SourceText;
use crate::tag::learn::{Coded, ExamplesFile, QuoteFinder};
use crate::transcript::read::{read_str, Format};
use crate::types::{Transcript, Utterance};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What [`coded_sessions`] found.
#[derive(Debug, Default)]
pub struct CodedSessions {
    /// The sentences of the coded interviews that are not among the analysed ones.
    pub utterances: Vec<Utterance>,
    /// The transcript files they come from (for a `.qdpx`, its sources' names).
    pub files: Vec<PathBuf>,
    /// Where those are, for the log: a folder, or the `.qdpx`.
    pub place: String,
    /// Coded quotes found in the analysed interviews.
    pub in_study: usize,
    /// Coded quotes found in `files`.
    pub beside: usize,
    /// Coded quotes found in neither.
    pub nowhere: usize,
}

impl CodedSessions {
    /// One line for the log: where the coded quotes were found.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} coded quotes: {} found in the interviews analysed",
            self.in_study + self.beside + self.nowhere,
            self.in_study
        );
        if !self.files.is_empty() {
            s.push_str(&format!(
                ", {} in {} other transcript{} ({})",
                self.beside,
                self.files.len(),
                if self.files.len() == 1 { "" } else { "s" },
                self.place
            ));
        }
        if self.nowhere > 0 {
            s.push_str(&format!(
                ", {} nowhere (learned without the question and turn around them; give their transcripts with --examples-transcripts)",
                self.nowhere
            ));
        }
        s
    }
}

/// Finds the transcripts of the coded quotes that `study` (the analysed sentences) does not
/// hold. `given` are the `--examples-transcripts` paths (files or folders); when empty, the
/// interviews inside the examples file (`examples.sources`, from a `.qdpx`), the folder of
/// `examples_file` and its `transcripts` folder are searched. A transcript named in `given`
/// that cannot be read is an error; one found beside the examples file is skipped. `rows` maps
/// file stems to participant ids, as for the analysed transcripts.
pub fn coded_sessions(
    examples_file: &Path,
    examples: &ExamplesFile,
    given: &[PathBuf],
    coded: &[Coded],
    study: &[Utterance],
    rows: &BTreeMap<String, ParticipantRow>,
) -> Result<CodedSessions> {
    let finder = QuoteFinder::new(study);
    let missing: Vec<&Coded> = coded
        .iter()
        .filter(|q| finder.find(q.participant.as_deref(), &q.text).is_empty())
        .collect();
    let mut out = CodedSessions {
        in_study: coded.len() - missing.len(),
        nowhere: missing.len(),
        ..CodedSessions::default()
    };
    // Paths the user named are checked even when nothing is missing: a typo should not pass.
    if missing.is_empty() && given.is_empty() {
        return Ok(out);
    }
    let listed = candidates(examples_file, given)?;
    if missing.is_empty() {
        return Ok(out);
    }
    let names: BTreeSet<&str> = study.iter().map(|u| u.source.as_str()).collect();
    let analysed: BTreeSet<PathBuf> = names.iter().map(|n| canonical(Path::new(n))).collect();
    let examples_file = canonical(examples_file);
    let candidates: Vec<PathBuf> = listed
        .into_iter()
        .filter(|p| {
            let c = canonical(p);
            c != examples_file && !analysed.contains(&c)
        })
        .collect();
    let mut transcripts = Vec::new();
    let mut from_qdpx: BTreeSet<String> = BTreeSet::new();
    let mut rows = rows.clone();
    if given.is_empty() {
        transcripts.extend(
            read_sources(&examples.sources, &mut rows)
                .into_iter()
                .filter(|t| {
                    !names.contains(t.source.as_str()) && !analysed.contains(Path::new(&t.source))
                })
                .inspect(|t| {
                    from_qdpx.insert(t.source.clone());
                }),
        );
    }
    for p in &candidates {
        match crate::transcript::read::read_file(p) {
            Ok(t) => transcripts.push(t),
            Err(e) if !given.is_empty() => return Err(e),
            Err(_) => {}
        }
    }
    let prepared = crate::analyze::prepare(transcripts, &rows, None);
    let theirs: Vec<Utterance> = prepared
        .iter()
        .flat_map(|p| crate::sentences::utterances(&p.transcript))
        .collect();
    let finder = QuoteFinder::new(&theirs);
    let mut keep: BTreeSet<&str> = BTreeSet::new();
    for q in &missing {
        let hits = finder.find(q.participant.as_deref(), &q.text);
        if let Some(&i) = hits.first() {
            out.beside += 1;
            out.nowhere -= 1;
            keep.insert(theirs[i].source.as_str());
        }
    }
    out.files = keep.iter().map(PathBuf::from).collect();
    let on_disk: Vec<PathBuf> = out
        .files
        .iter()
        .filter(|f| !from_qdpx.contains(f.to_string_lossy().as_ref()))
        .cloned()
        .collect();
    out.place = match (on_disk.len(), on_disk.len() < out.files.len()) {
        (0, _) => format!("inside {}", examples_file.display()),
        (_, false) => common_folder(&on_disk),
        (_, true) => format!(
            "{} and inside {}",
            common_folder(&on_disk),
            examples_file.display()
        ),
    };
    out.utterances = theirs
        .iter()
        .filter(|u| keep.contains(u.source.as_str()))
        .cloned()
        .collect();
    Ok(out)
}

/// The interviews inside a `.qdpx` project, read as plain-text transcripts ("Name: text"
/// lines), each named as in the project; a source with one case takes the case as its
/// participant id (through `rows`). Sources that do not read as transcripts are left out.
fn read_sources(
    sources: &[SourceText],
    rows: &mut BTreeMap<String, ParticipantRow>,
) -> Vec<Transcript> {
    let mut out = Vec::new();
    for s in sources {
        let key = crate::analyze::row_key(&s.name);
        let id = crate::fsutil::safe_id(&key);
        if let Ok(t) = read_str(&s.text, Format::Txt, &s.name, &id) {
            if let Some(case) = &s.case {
                rows.entry(key).or_insert_with(|| ParticipantRow {
                    id: crate::fsutil::safe_participant_id(case),
                    attributes: Default::default(),
                });
            }
            out.push(t);
        }
    }
    out
}

/// The transcript files to search: those given (folders walked), else the examples file's
/// folder and its `transcripts` folder (not deeper).
fn candidates(examples_file: &Path, given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if given.is_empty() {
        let dir = examples_file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        for d in [dir.to_path_buf(), dir.join("transcripts")] {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && crate::transcript::read::is_transcript_path(p))
                .collect();
            files.sort();
            out.extend(files);
        }
        return Ok(out);
    }
    for p in given {
        match std::fs::metadata(p) {
            Err(e) => {
                return Err(Error::input_fix(
                    p,
                    format!("cannot open: {e}"),
                    "check the path given to --examples-transcripts",
                ))
            }
            Ok(m) if m.is_dir() => {
                let mut all = Vec::new();
                crate::batch::walk_files(p, None, &mut all);
                out.extend(
                    all.into_iter()
                        .filter(|p| crate::transcript::read::is_transcript_path(p)),
                );
            }
            Ok(_) => out.push(p.clone()),
        }
    }
    Ok(out)
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The folder the files share, for a log line.
fn common_folder(files: &[PathBuf]) -> String {
    let dirs: BTreeSet<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    match dirs.len() {
        1 => dirs.iter().next().unwrap().display().to_string(),
        _ => format!("{} folders", dirs.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(participant: &str, text: &str) -> Coded {
        Coded {
            text: text.into(),
            participant: Some(participant.into()),
            themes: BTreeSet::from([0]),
            pain: false,
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn transcripts_beside_the_examples_file_give_the_quotes_their_context() {
        let dir = std::env::temp_dir().join(format!("sowhat-coded-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("transcripts")).unwrap();
        let examples = write(&dir, "gold.jsonl", "{}\n");
        write(
            &dir.join("transcripts"),
            "P1.txt",
            "Interviewer: How was the export?\nP1: The export button was hidden. I looked for ages.\n",
        );
        // Unrelated and unreadable files beside it are ignored.
        write(&dir, "notes.txt", "Nothing coded here.\n");
        write(&dir, "broken.json", "{ not json");
        let study = vec![Utterance::said("P2", "P2.txt", "Billing was fine.")];
        let quotes = vec![
            coded("P2", "Billing was fine."),
            coded("P1", "The export button was hidden."),
            coded("P3", "A quote from an interview nobody gave."),
        ];
        let found = coded_sessions(
            &examples,
            &ExamplesFile::default(),
            &[],
            &quotes,
            &study,
            &Default::default(),
        )
        .unwrap();
        assert_eq!((found.in_study, found.beside, found.nowhere), (1, 1, 1));
        assert_eq!(found.files.len(), 1, "{:?}", found.files);
        assert!(found.files[0].ends_with("transcripts/P1.txt"));
        // The whole session, with the interviewer's question as context.
        assert_eq!(found.utterances.len(), 2);
        assert!(found.utterances.iter().all(|u| u.participant == "P1"));
        assert_eq!(
            found.utterances[0].question.as_deref(),
            Some("How was the export?")
        );
        assert!(
            found.describe().contains("1 nowhere"),
            "{}",
            found.describe()
        );

        // Named with --examples-transcripts: a file that cannot be read is an error naming it.
        let err = coded_sessions(
            &examples,
            &ExamplesFile::default(),
            &[dir.join("broken.json")],
            &quotes,
            &study,
            &Default::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("broken.json"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_qdpx_brings_its_own_sources_and_cases() {
        let dir = std::env::temp_dir().join(format!("sowhat-coded-qdpx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let text = "Interviewer: How was the export?\nAnna: The export button was hidden. I looked for ages.\n";
        let start = text.find("The export").unwrap();
        let end = start + "The export button was hidden.".len();
        let qde = format!(
            r#"<Project xmlns="urn:QDA-XML:project:1.0" name="x">
 <CodeBook><Codes><Code guid="AAAAAAAA-0000-0000-0000-000000000001" name="Export" isCodable="true"/></Codes></CodeBook>
 <Cases><Case guid="EEEEEEEE-0000-0000-0000-000000000001" name="P07"><SourceRef targetGUID="BBBBBBBB-0000-0000-0000-000000000001"/></Case></Cases>
 <Sources>
  <TextSource guid="BBBBBBBB-0000-0000-0000-000000000001" name="anna.txt">
   <PlainTextContent>{text}</PlainTextContent>
   <PlainTextSelection guid="CCCCCCCC-0000-0000-0000-000000000001" startPosition="{start}" endPosition="{end}">
    <Coding guid="DDDDDDDD-0000-0000-0000-000000000001"><CodeRef targetGUID="AAAAAAAA-0000-0000-0000-000000000001"/></Coding>
   </PlainTextSelection>
  </TextSource>
 </Sources>
</Project>"#
        );
        let examples = write(&dir, "coded.qdpx", &qde);
        let read = crate::tag::learn::read_examples(&examples).unwrap();
        assert_eq!(read.quotes[0].participant.as_deref(), Some("P07"));
        assert_eq!(read.sources.len(), 1);
        let quotes = vec![coded("P07", &read.quotes[0].text)];
        let study = vec![Utterance::said("P2", "P2.txt", "Billing was fine.")];
        let found =
            coded_sessions(&examples, &read, &[], &quotes, &study, &Default::default()).unwrap();
        assert_eq!(
            (found.beside, found.nowhere),
            (1, 0),
            "{}",
            found.describe()
        );
        assert_eq!(found.files, vec![PathBuf::from("anna.txt")]);
        assert!(found.describe().contains("inside"), "{}", found.describe());
        assert!(found.utterances.iter().all(|u| u.participant == "P07"));
        assert_eq!(
            found.utterances[0].question.as_deref(),
            Some("How was the export?")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nothing_is_searched_when_every_quote_is_in_the_study() {
        let study = vec![Utterance::said(
            "P1",
            "P1.txt",
            "The export button was hidden.",
        )];
        let quotes = vec![coded("P1", "The export button was hidden.")];
        let gold = Path::new("/nonexistent/gold.jsonl");
        let none = ExamplesFile::default();
        let found = coded_sessions(gold, &none, &[], &quotes, &study, &Default::default()).unwrap();
        assert_eq!((found.in_study, found.beside, found.nowhere), (1, 0, 0));
        assert!(found.utterances.is_empty());
        // A path named with --examples-transcripts must exist all the same.
        let err = coded_sessions(
            gold,
            &none,
            &[PathBuf::from("/nonexistent/transcripts")],
            &quotes,
            &study,
            &Default::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("--examples-transcripts"), "{err}");
    }
}
