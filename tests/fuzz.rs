//! Property tests in place of `cargo fuzz` (which needs a nightly compiler): every reader of a
//! researcher's files gets arbitrary bytes and near-valid files with random damage, and must
//! return a value or an error with a message, never panic. The transcript writers and readers
//! must also agree: what sowhat writes, it reads back the same.
//!
//! Failing cases proptest finds are saved under `proptest-regressions/` and replayed first on
//! every run; the cases found while these tests were written are spelled out at the bottom.

use proptest::prelude::*;
use sowhat::transcript::read::{decode_text, read_str, Format};
use sowhat::types::{Segment, Speaker, Transcript};

const FORMATS: [Format; 4] = [Format::Txt, Format::Vtt, Format::Srt, Format::Json];

/// A valid sample of each format, to damage.
fn seed(format: Format) -> String {
    let mut t = Transcript::new("a.m4a", "a");
    for (i, (who, text)) in [
        ("Interviewer", "How was the delivery?"),
        ("Rūta", "Vėlavo — it took nine days, & I <b>hated</b> it."),
        ("Интервьюер", "А оплата?"),
    ]
    .iter()
    .enumerate()
    {
        t.segments.push(Segment {
            start: Some(i as f64 * 3.5),
            end: Some(i as f64 * 3.5 + 3.0),
            speaker: Some(Speaker::Label(who.to_string())),
            text: text.to_string(),
            confidence: Some(0.9),
        });
    }
    match format {
        Format::Txt => sowhat::transcript::to_txt(&t),
        Format::Vtt => {
            // Teams-style cue settings, a NOTE and an entity too.
            let mut s = sowhat::transcript::to_vtt(&t);
            s = s.replacen("WEBVTT\n\n", "WEBVTT\n\nNOTE made by hand\n\n", 1);
            s.replace(
                " --> 00:00:03.000",
                " --> 00:00:03.000 align:start position:10%",
            ) + "00:00:11.000 --> 00:00:12.000\nTom &amp; Jerry\n\n"
        }
        Format::Srt => sowhat::transcript::to_srt(&t),
        Format::Json => sowhat::transcript::to_json(&t),
    }
}

/// Damage: each edit deletes, inserts or replaces at a position (by char).
fn damage(base: &str, edits: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for &(at, op, c) in edits {
        let at = if chars.is_empty() {
            0
        } else {
            at % (chars.len() + 1)
        };
        match op % 4 {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => chars.insert(at, c),
            2 if at < chars.len() => chars[at] = c,
            // Cut the file off here.
            3 => chars.truncate(at),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Characters that matter to the parsers, and any others.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            ':', '\n', '\r', '-', '>', '<', '[', ']', '(', ')', '.', ',', '0', '9', ' ', '\t', '&',
            ';', '"', '{', '}', '\u{feff}', 'v', '/', 'é', 'ą', 'ж', '\u{0}'
        ]),
        any::<char>(),
    ]
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, char)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), tricky_char()), 1..12)
}

fn format() -> impl Strategy<Value = Format> {
    prop::sample::select(FORMATS.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn transcript_readers_never_panic_on_damaged_files(f in format(), e in edits()) {
        let text = damage(&seed(f), &e);
        for g in FORMATS {
            // Ok or an error with a line and a message; a panic fails the test.
            if let Err(err) = read_str(&text, g, "x.txt", "x") {
                prop_assert!(!err.message.is_empty());
            }
        }
    }

    #[test]
    fn transcript_readers_never_panic_on_arbitrary_text(text in "\\PC{0,300}") {
        for g in FORMATS {
            let _ = read_str(&text, g, "x.txt", "x");
        }
    }

    #[test]
    fn text_decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(text) = decode_text(&bytes) {
            for g in FORMATS {
                let _ = read_str(&text, g, "x.txt", "x");
            }
        }
    }

    #[test]
    fn what_sowhat_writes_it_reads_back(
        turns in prop::collection::vec(
            (prop::sample::select(vec!["Interviewer", "P03", "Rūta K.", "Иван"]),
             // No `>`: SRT has no escaping, so `<b>` in speech would read back as a tag.
             "[A-Za-zĄąŽžЖж0-9 ,.?!'&<\"-]{1,60}"),
            1..8,
        )
    ) {
        let mut t = Transcript::new("a.m4a", "a");
        for (i, (who, text)) in turns.iter().enumerate() {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            t.segments.push(Segment {
                start: Some(i as f64 * 2.0),
                end: Some(i as f64 * 2.0 + 1.5),
                speaker: Some(Speaker::Label(who.to_string())),
                text: text.to_string(),
                confidence: None,
            });
        }
        for (g, written) in [
            (Format::Txt, sowhat::transcript::to_txt(&t)),
            (Format::Vtt, sowhat::transcript::to_vtt(&t)),
            (Format::Srt, sowhat::transcript::to_srt(&t)),
            (Format::Json, sowhat::transcript::to_json(&t)),
        ] {
            let back = read_str(&written, g, "a.m4a", "a")
                .map_err(|e| TestCaseError::fail(format!("{g:?} line {}: {}\n{written}", e.line, e.message)))?;
            let said = |t: &Transcript| -> Vec<(String, String)> {
                t.segments
                    .iter()
                    .map(|s| (
                        s.speaker.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                        s.text.split_whitespace().collect::<Vec<_>>().join(" "),
                    ))
                    .collect()
            };
            prop_assert_eq!(said(&back), said(&t), "{:?}:\n{}", g, written);
        }
    }

    #[test]
    fn codebook_parser_never_panics_and_names_a_line(e in edits()) {
        let text = damage(sowhat::codebook::DEFAULT_TOML, &e);
        if let Err(problems) = sowhat::codebook::parse(&text) {
            prop_assert!(!problems.is_empty());
            for p in &problems {
                prop_assert!(!p.message.is_empty(), "{:?}", problems);
            }
        }
    }

    #[test]
    fn codebook_parser_never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
        let _ = sowhat::codebook::parse(&text);
    }

    #[test]
    fn coded_quote_tables_and_qdpx_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), e in edits()) {
        let _ = sowhat::report::csv::read_quote_table(&bytes);
        let _ = sowhat::report::csv::read_mentions(&bytes);
        let _ = sowhat::report::qdpx::read_codings(&bytes);
        let table = damage("participant;quote;code;kind\nP1;\"It was slow, really\";Speed;pain\n", &e);
        let _ = sowhat::report::csv::read_quote_table(table.as_bytes());
    }

    #[test]
    fn participants_csv_never_panics(e in edits()) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("participants.csv");
        std::fs::write(&p, damage("file,id,plan,name\np01.m4a,P01,pro,Ann\n\"p 02.m4a\",P02,free,\"Bo, B.\"\n", &e)).unwrap();
        if let Err(err) = sowhat::analyze::read_participants(&p) {
            prop_assert!(err.to_string().contains("participants.csv"), "{}", err);
        }
    }

    #[test]
    fn redaction_never_panics_and_is_stable(text in "\\PC{0,200}", digits in "[0-9 +()./-]{0,30}") {
        let r = sowhat::redact::Redactor::new(&["Anna".to_string(), "Jonas Petraitis".to_string()]);
        let mut c = sowhat::redact::Counts::default();
        let input = format!("{text} {digits}");
        let once = r.text(&input, &mut c);
        let twice = r.text(&once, &mut c);
        prop_assert_eq!(&once, &twice);
    }
}

// Cases the properties above found, kept as plain tests.

#[test]
fn a_speaker_named_with_an_initial_is_a_speaker() {
    let t = read_str(
        "Rūta K.: a\nAnna K.: It was fine.\n",
        Format::Txt,
        "a.txt",
        "a",
    )
    .unwrap();
    assert_eq!(t.segments.len(), 2);
    assert_eq!(
        t.segments[0].speaker,
        Some(Speaker::Label("Rūta K.".into()))
    );
    // A sentence ending in a full stop is still not a speaker.
    let t = read_str("Anna: Fine. Then: we left.\n", Format::Txt, "a.txt", "a").unwrap();
    assert_eq!(t.segments[0].text, "Fine. Then: we left.");
}

#[test]
fn angle_brackets_that_are_not_tags_are_text() {
    let srt = "1\n00:00:01,000 --> 00:00:02,000\nInterviewer: <>\n\n2\n00:00:03,000 --> 00:00:04,000\nP1: I'd rate it <5, <i>maybe</i>\n\n";
    let t = read_str(srt, Format::Srt, "a.srt", "a").unwrap();
    assert_eq!(t.segments[0].text, "<>");
    assert_eq!(t.segments[1].text, "I'd rate it <5, maybe");
}

#[test]
fn a_toml_error_without_a_message_still_says_something() {
    // Damage found by the codebook property: TOML reports some errors with an empty message.
    let edits = [
        (1, 84, ':'),
        (395218626707143395, 6, ':'),
        (1935411927291503843, 37, '\0'),
        (2, 12, ':'),
        (1, 93, '\r'),
    ];
    let problems = sowhat::codebook::parse(&damage(sowhat::codebook::DEFAULT_TOML, &edits))
        .expect_err("damaged");
    assert!(
        problems.iter().all(|p| !p.message.is_empty()),
        "{problems:?}"
    );
}
