//! The analysis half on real transcripts (../shared/eval/serdif-dev) and on constructed ones:
//! who is quoted, what the brief contains, and that every output is safe and valid.

mod common;

use common::{participant_ids, sowhat, stderr};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn serdif() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/serdif-dev")
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Folds whitespace, for "verbatim" comparisons across line wrapping.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `sowhat analyze` on the nine serdif-dev sessions with their codebook, once per test binary.
fn serdif_run() -> &'static (tempfile::TempDir, Value) {
    static R: std::sync::OnceLock<(tempfile::TempDir, Value)> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = sowhat(
            &[
                "analyze",
                serdif().join("transcripts").to_str().unwrap(),
                "--codebook",
                serdif().join("codebook.toml").to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "-q",
            ],
            &dir.path().join("c"),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let v = read_json(&out.join("insights.json"));
        (dir, v)
    })
}

#[test]
fn interviewer_speech_is_never_a_participant_mention() {
    let (_, v) = serdif_run();
    let mut moderator = std::collections::HashSet::new();
    let mut participant = std::collections::HashSet::new();
    for e in std::fs::read_dir(serdif().join("transcripts"))
        .unwrap()
        .flatten()
    {
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            if let Some(t) = line.strip_prefix("Moderator:") {
                moderator.insert(squash(t));
            } else if let Some(t) = line.strip_prefix("Participant:") {
                participant.insert(squash(t));
            }
        }
    }
    let mentions = v["mentions"].as_array().unwrap();
    assert!(mentions.len() > 300, "{} mentions", mentions.len());
    for m in mentions {
        let text = squash(m["text"].as_str().unwrap());
        assert!(
            participant.iter().any(|p| p.contains(&text)),
            "mention not from a participant line: {text}"
        );
        assert!(
            !moderator.iter().any(|q| q == &text),
            "the moderator's words were quoted: {text}"
        );
    }
    let ids = participant_ids(v);
    assert_eq!(ids.len(), 9, "{ids:?}");
}

#[test]
fn every_theme_has_a_verdict_and_a_reason_and_stories_quote_different_people() {
    let (_, v) = serdif_run();
    let themes = v["themes"].as_array().unwrap();
    assert!(themes.len() >= 8);
    for t in themes {
        let reason = t["reason"].as_str().unwrap();
        let verdict = t["verdict"].as_str().unwrap();
        assert!(
            reason.starts_with(if verdict == "keep" { "kept" } else { "dropped" }),
            "{reason}"
        );
        assert!(reason.contains(" of 9 participants"), "{reason}");
    }
    let stories = v["stories"].as_array().unwrap();
    assert!(!stories.is_empty());
    for s in stories {
        let q = s["quotes"].as_array().unwrap();
        assert!(!q.is_empty() && q.len() <= 3);
        let who: std::collections::HashSet<&str> = q
            .iter()
            .map(|q| q["participant"].as_str().unwrap())
            .collect();
        assert_eq!(who.len(), q.len(), "quotes from one participant twice: {s}");
    }
}

#[test]
fn outputs_are_all_written_and_valid() {
    let (dir, v) = serdif_run();
    let out = dir.path().join("out");
    for f in [
        "brief.md",
        "brief.html",
        "insights.json",
        "mentions.csv",
        "project.qdpx",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert_eq!(v["schema"], "sowhat.insights/1");
    // mentions.csv round-trips to the same mentions.
    let csv = std::fs::read(out.join("mentions.csv")).unwrap();
    assert!(
        csv.starts_with(&[0xEF, 0xBB, 0xBF]),
        "Excel needs the UTF-8 BOM"
    );
    let back = sowhat::report::csv::read_mentions(&csv).unwrap();
    let mentions = v["mentions"].as_array().unwrap();
    assert_eq!(back.len(), mentions.len());
    for (a, b) in back.iter().zip(mentions) {
        assert_eq!(a.text, b["text"].as_str().unwrap());
        assert_eq!(a.theme, b["theme"].as_str().unwrap());
    }
    // project.qdpx validates against the REFI-QDA schema when xmllint is there.
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/refi/Project.xsd");
    let has_xmllint = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok();
    if has_xmllint && xsd.exists() {
        let bytes = std::fs::read(out.join("project.qdpx")).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut qde = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("project.qde").unwrap(), &mut qde).unwrap();
        let p = dir.path().join("project.qde");
        std::fs::write(&p, qde).unwrap();
        let o = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(&p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    } else {
        eprintln!("xmllint not installed: qdpx schema check skipped (scripts/test.sh installs it)");
    }
    // No absolute paths of this machine in the brief.
    let md = std::fs::read_to_string(out.join("brief.md")).unwrap();
    let html = std::fs::read_to_string(out.join("brief.html")).unwrap();
    let root = std::fs::canonicalize(serdif()).unwrap();
    for text in [&md, &html] {
        assert!(
            !text.contains(root.to_str().unwrap()),
            "absolute path in the brief"
        );
    }
}

#[test]
fn html_in_a_transcript_comes_out_escaped_and_quotes_are_verbatim_with_times() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let line = "[00:01:02] Participant: The delivery was late <script>alert('x')</script> and I will cancel my account.\n";
    for i in 1..=3 {
        std::fs::write(
            input.join(format!("p{i}.txt")),
            format!("[00:00:50] Interviewer: How was the delivery?\n{line}[00:01:30] Participant: I waited three weeks for the parcel and nobody told me anything.\n"),
        )
        .unwrap();
    }
    let out = dir.path().join("out");
    let o = sowhat(
        &[
            "analyze",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--keywords-only",
            "-q",
        ],
        &dir.path().join("c"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("brief.html")).unwrap();
    assert!(
        !html.contains("<script>alert"),
        "unescaped script in brief.html"
    );
    assert!(
        html.contains("&lt;script&gt;"),
        "the text should still be shown, escaped"
    );
    let v = read_json(&out.join("insights.json"));
    let stories = v["stories"].as_array().unwrap();
    assert!(!stories.is_empty(), "{v}");
    for s in stories {
        for q in s["quotes"].as_array().unwrap() {
            let text = q["text"].as_str().unwrap();
            let src = q["source"].as_str().unwrap();
            let transcript = std::fs::read_to_string(src).unwrap();
            assert!(
                transcript.contains(text),
                "{text:?} is not verbatim in {src}"
            );
            let start = q["start"].as_f64().unwrap();
            assert!((62.0..120.0).contains(&start), "quote time {start}");
        }
    }
    assert!(v["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| !m["text"].as_str().unwrap().contains("How was")));
}

#[test]
fn codebook_commands_show_init_and_check_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let o = sowhat(&["codebook", "show"], &c);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("[[theme]]"));
    let f = dir.path().join("mine.toml");
    assert!(sowhat(&["codebook", "init", f.to_str().unwrap()], &c)
        .status
        .success());
    let o = sowhat(&["codebook", "check", f.to_str().unwrap()], &c);
    assert!(o.status.success(), "{}", stderr(&o));
    let text =
        std::fs::read_to_string(&f)
            .unwrap()
            .replacen("kind = \"pain\"", "kind = \"painful\"", 1);
    std::fs::write(&f, text).unwrap();
    let o = sowhat(&["codebook", "check", f.to_str().unwrap()], &c);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("line ") && e.contains("painful"), "{e}");
}

#[test]
fn an_interviewer_name_no_transcript_has_is_a_warning_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = sowhat(
        &[
            "analyze",
            serdif().join("transcripts/P1.txt").to_str().unwrap(),
            "--keywords-only",
            "--interviewer",
            "Nobody",
            "-o",
            out.to_str().unwrap(),
            "-q",
        ],
        &dir.path().join("c"),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            r#"warning: P1.txt: no speaker "Nobody" (its speakers: "Moderator", "Participant")"#
        ),
        "{err}"
    );
    // The labelled moderator is still the interviewer.
    assert_eq!(
        participant_ids(&read_json(&out.join("insights.json"))),
        ["P1"]
    );
}

/// Small transcripts (file name, text) written to a study folder in a temporary directory.
fn study_of(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("study");
    std::fs::create_dir(&study).unwrap();
    for (name, text) in files {
        std::fs::write(study.join(name), text).unwrap();
    }
    (dir, study)
}

/// `sowhat analyze` of `study` into `dir/out_name` with `extra` arguments (it must succeed):
/// the output folder, insights.json and what it printed to stderr.
fn analyze_study(
    dir: &Path,
    study: &Path,
    out_name: &str,
    extra: &[&str],
) -> (PathBuf, Value, String) {
    let out = dir.join(out_name);
    let mut args = vec![
        "analyze",
        study.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = sowhat(&args, &dir.join("c"));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let v = read_json(&out.join("insights.json"));
    (out, v, err)
}

/// The texts of the mentions of `theme`.
fn texts_of(v: &Value, theme: &str) -> Vec<String> {
    v["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["theme"] == theme)
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

/// A default-codebook theme that no participant names in its keywords gets no sentences by
/// meaning alone (e5 puts talk of chart "values" near "Price and value"), and the log says so;
/// one participant naming it brings those sentences back.
#[test]
fn a_theme_nobody_names_gets_nothing_by_meaning_alone() {
    let ada = "Interviewer: What do you see on this chart?\n\
        Ada: This red value looks pretty high compared to the other values.\n\
        Ada: When the wind comes from the north-east the values tend to be higher.\n\
        Ada: The button to open the chart was hard to find.\n\
        Interviewer: And this one?\n\
        Ada: With south-eastern winds the value was much lower.\n";
    let bo = "Interviewer: What do you see on this chart?\n\
        Bo: Red is a high value and blue a low value, I am guessing.\n\
        Bo: The values here are much higher than in the other table.\n\
        Bo: I clicked the wrong button at first.\n";
    let (dir, study) = study_of(&[("ada.txt", ada), ("bo.txt", bo)]);
    let run = |name: &str| {
        let (out, v, err) = analyze_study(dir.path(), &study, name, &[]);
        let brief = std::fs::read_to_string(out.join("brief.md")).unwrap();
        let noted = v["study"]["unnamed"]
            .as_str()
            .is_some_and(|u| u.contains("\u{201c}Price and value\u{201d} (4 sentences)"))
            && brief.contains("\u{201c}Price and value\u{201d} (4 sentences)");
        (texts_of(&v, "price"), err, noted)
    };
    let (price, err, noted) = run("unnamed");
    assert!(price.is_empty(), "{price:?}");
    assert!(
        noted,
        "the brief and insights.json say which theme went unnamed"
    );
    assert!(
        err.contains("\u{201c}Price and value\u{201d}: ")
            && err.contains("as no participant used any of its keywords"),
        "{err}"
    );
    std::fs::write(
        study.join("bo.txt"),
        format!("{bo}Bo: I never looked at the price of the licence.\n"),
    )
    .unwrap();
    let (price, _, noted) = run("named");
    assert!(!noted);
    assert!(
        price
            .iter()
            .any(|t| t.contains("values here are much higher")),
        "{price:?}"
    );
}

/// A request by meaning needs the form of one: narrating a task ("Now I select the date and
/// press next") lies near the default codebook's wishes ("It would be great if I could pick
/// the delivery time slot myself") but asks for nothing; a wish without a wish keyword still
/// counts.
#[test]
fn narrating_a_task_is_no_wish_and_a_wish_is_one_in_any_language() {
    let (dir, study) = study_of(&[
        (
            "a.txt",
            "Interviewer: What would make the app better for you?\n\
             Ada: Maybe a dark mode for the evenings.\n\
             Ada: I want to see all my orders on one page.\n\
             Ada: Now I select the date and press next.\n\
             Interviewer: And in the shop?\n\
             Ada: So I go to the basket and choose the delivery slot.\n",
        ),
        (
            "b.txt",
            "Interviewer: Ką norėtumėte pakeisti?\n\
             Rūta: Gal galima būtų pridėti tamsų režimą vakarams.\n\
             Rūta: Dabar pasirenku datą ir spaudžiu toliau.\n\
             Interviewer: Co byście zmienili?\n\
             Ola: Może tryb ciemny na wieczory.\n\
             Ola: Teraz wybieram datę i klikam dalej.\n\
             Interviewer: Что бы вы изменили?\n\
             Иван: Хочу видеть все заказы на одной странице.\n\
             Иван: Сейчас выбираю дату и нажимаю дальше.\n",
        ),
    ]);
    let (_, v, _) = analyze_study(dir.path(), &study, "out", &["-q"]);
    let wishes = texts_of(&v, "wishes");
    for said in [
        "Maybe a dark mode for the evenings.",
        "Хочу видеть все заказы на одной странице.",
    ] {
        assert!(
            wishes.iter().any(|w| w == said),
            "{said:?} is a wish: {wishes:?}"
        );
    }
    for said in [
        "Now I select the date and press next.",
        "So I go to the basket and choose the delivery slot.",
        "Сейчас выбираю дату и нажимаю дальше.",
    ] {
        assert!(
            !wishes.iter().any(|w| w == said),
            "{said:?} is no wish: {wishes:?}"
        );
    }
}

/// The wish form is asked only of languages the lexicon knows: German requests, in a German
/// codebook, still go to its request theme by meaning, English button names and all.
#[test]
fn requests_in_a_language_the_lexicon_does_not_know_still_count() {
    let (dir, study) = study_of(&[
        (
            "a.txt",
            r#"Interviewer: Wie war Ihre letzte Bestellung?
Anna: Die Lieferung kam drei Tage zu spät.
Anna: Der Fahrer war aber sehr freundlich.
Interviewer: Was würden Sie sich wünschen?
Anna: Ein Lieferfenster am Abend wäre toll.
Anna: Ich hätte gern eine SMS, bevor der Fahrer kommt.
"#,
        ),
        (
            "b.txt",
            r#"Interviewer: Wie war Ihre letzte Bestellung?
Ben: Mein Paket ist nie angekommen.
Ben: Die App ist aber schnell und übersichtlich.
Interviewer: Was würden Sie sich wünschen?
Ben: Eine Live-Karte mit dem Fahrer.
Ben: Eine Erinnerung am Vortag.
Interviewer: Und im Shop?
Ben: Dann klicke ich auf den Button Add to cart.
"#,
        ),
    ]);
    let codebook = dir.path().join("de.toml");
    std::fs::write(&codebook, r#"[codebook]
name = "Lieferdienst"

[[theme]]
id = "lieferung"
name = "Lieferung verspätet"
kind = "pain"
description = "Bestellungen kommen zu spät oder gar nicht an."
examples = ["Das Paket kam eine Woche zu spät.", "Meine Bestellung ist nie angekommen.", "Der Fahrer hat das Paket einfach vor die Tür gelegt."]

[[theme]]
id = "wunsch"
name = "Wünsche und Vorschläge"
kind = "request"
description = "Was sich Kunden wünschen: neue Funktionen, Optionen, Verbesserungen."
examples = ["Es wäre toll, wenn ich das Lieferfenster selbst wählen könnte.", "Eine Sendungsverfolgung in Echtzeit würde sehr helfen.", "Ich hätte gern eine Erinnerung am Vortag."]

[[theme]]
id = "lob"
name = "Lob"
kind = "delight"
description = "Was gut funktioniert und Kunden freut."
examples = ["Die Fahrer sind immer freundlich.", "Die App ist übersichtlich und schnell.", "Ich bin sehr zufrieden mit dem Service."]
"#).unwrap();
    let (_, v, _) = analyze_study(
        dir.path(),
        &study,
        "out",
        &["--codebook", codebook.to_str().unwrap(), "-q"],
    );
    let requests = texts_of(&v, "wunsch");
    let lexicon = sowhat::tag::pain::Lexicon::builtin();
    for said in [
        "Ein Lieferfenster am Abend wäre toll.",
        "Ich hätte gern eine SMS, bevor der Fahrer kommt.",
    ] {
        assert!(
            !lexicon.wishes(said),
            "{said:?} has no form the lexicon knows"
        );
        assert!(requests.iter().any(|r| r == said), "{said:?}: {requests:?}");
    }
}

/// Keywords that do not speak the study's language anchor nothing: an English-keyword codebook
/// on Lithuanian interviews still tags by meaning (`ANCHOR_MIN_SHARE`).
#[test]
fn keywords_in_another_language_do_not_silence_meaning() {
    let (dir, study) = study_of(&[
        (
            "a.txt",
            r#"Interviewer: Kaip sekėsi su paskutiniu užsakymu?
Rūta: Siuntinys atkeliavo savaite vėliau.
Rūta: Kurjeris paliko dėžę lietuje.
Interviewer: O kas patiko?
Rūta: Programėlė greita ir aiški.
"#,
        ),
        (
            "b.txt",
            r#"Interviewer: Kaip sekėsi su paskutiniu užsakymu?
Jonas: Mano užsakymas taip ir neatkeliavo.
Jonas: Laukiau dvi savaites.
Interviewer: O kas patiko?
Jonas: Darbuotojai buvo labai malonūs.
"#,
        ),
    ]);
    let codebook = dir.path().join("en.toml");
    std::fs::write(&codebook, r#"[codebook]
name = "Delivery (English keywords)"

[[theme]]
id = "delivery"
name = "Late delivery"
kind = "pain"
description = "Orders that arrive late or never arrive."
keywords = ["late", "delay*", "never arrived", "courier"]
examples = ["The parcel came a week late.", "My order never arrived.", "The courier left it in the rain."]

[[theme]]
id = "praise"
name = "Praise"
kind = "delight"
description = "What works well and pleases customers."
keywords = ["great", "love", "friendly"]
examples = ["The staff were very friendly.", "The app is quick and clear.", "I am very happy with the service."]
"#).unwrap();
    let (_, v, err) = analyze_study(
        dir.path(),
        &study,
        "out",
        &["--codebook", codebook.to_str().unwrap()],
    );
    assert!(!err.contains("not given to"), "{err}");
    assert!(
        v["mentions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["theme"] == "delivery" && m["method"] == "embedding"),
        "{}",
        v["mentions"]
    );
}

/// Examples coded with another codebook are the examples file's problem: the error names it
/// and the way out, not the embedding model, and nothing is written.
#[test]
fn examples_from_another_codebook_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (out, examples) = (dir.path().join("out"), dir.path().join("coded.jsonl"));
    std::fs::write(
        &examples,
        "{\"quote\": \"It was fine.\", \"tag\": \"Not a code here\"}\n",
    )
    .unwrap();
    let o = sowhat(
        &[
            "analyze",
            serdif().join("transcripts/P1.txt").to_str().unwrap(),
            "--codebook",
            serdif().join("codebook.toml").to_str().unwrap(),
            "--examples",
            examples.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-q",
        ],
        &dir.path().join("c"),
    );
    let err = stderr(&o);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("coded.jsonl: none of the example codes match a codebook theme"),
        "{err}"
    );
    assert!(err.contains("--codebook FILE"), "{err}");
    assert!(!err.contains("models fetch"), "{err}");
    assert!(!out.join("insights.json").exists());
}

/// `sowhat eval` on serdif-dev (embedding mode) with `extra` arguments: the report's rows.
fn serdif_eval(dir: &Path, extra: &[&str]) -> Value {
    let (rows, _) = eval_on(
        dir,
        &serdif().join("transcripts"),
        &serdif().join("gold.jsonl"),
        extra,
    );
    rows
}

/// `sowhat eval` of `transcripts` against `gold` with serdif-dev's codebook (embedding mode):
/// the report's rows and what it printed to stderr.
fn eval_on(dir: &Path, transcripts: &Path, gold: &Path, extra: &[&str]) -> (Value, String) {
    let report = dir.join("report.json");
    let codebook = serdif().join("codebook.toml");
    let mut args = vec![
        "eval",
        transcripts.to_str().unwrap(),
        "--gold",
        gold.to_str().unwrap(),
        "--codebook",
        codebook.to_str().unwrap(),
        "--mode",
        "embedding",
        "--json",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = sowhat(&args, &dir.join("c"));
    assert!(o.status.success(), "{}", stderr(&o));
    (read_json(&report), stderr(&o))
}

/// The lines of serdif-dev's gold quotes of these participants.
fn gold_of(participants: &[&str]) -> String {
    let gold = std::fs::read_to_string(serdif().join("gold.jsonl")).unwrap();
    gold.lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            participants.contains(&v["participant"].as_str().unwrap())
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The report row whose name starts with `prefix`.
fn eval_row(rows: &Value, prefix: &str) -> Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} row in {rows}"))
        .clone()
}

/// The quality report on serdif-dev: the codebook alone beats plain nearest-prototype matching
/// (theme accuracy 0.30, pain F1 0.60 with the same embeddings, issue 4) through the
/// interviewer's prompt, self-training and the pain lean, and learning from the other sessions'
/// coded quotes does better still. The bounds sit a little under the measured figures
/// (BENCHMARKS.md), so a broken stage fails.
#[test]
fn quality_report_on_serdif_beats_nearest_prototype() {
    let dir = tempfile::tempdir().unwrap();
    let rows = serdif_eval(dir.path(), &["--cross-validate"]);
    let row = |prefix: &str| eval_row(&rows, prefix);
    let num = |r: &Value, k: &str| r[k].as_f64().unwrap();
    // Without the 63 quotes that hold the codebook's own examples: 0.26 / 0.53 before
    // self-training and the lean, 0.33 before the interviewer's prompt (0.41 now).
    let unseen = row("embedding only, without the 63 quotes holding codebook examples");
    assert!(num(&unseen, "theme_accuracy") >= 0.39, "{unseen}");
    assert!(num(&unseen, "pain_f1") >= 0.64, "{unseen}");
    let codebook = row("embedding only");
    assert_eq!(num(&codebook, "quotes"), 735.0);
    // 0.37 before the interviewer's prompt and the description facets, 0.446 before the
    // hubness correction of the prototypes, 0.450 (macro-F1 0.416) now.
    assert!(num(&codebook, "theme_accuracy") >= 0.44, "{codebook}");
    assert!(num(&codebook, "theme_macro_f1") >= 0.40, "{codebook}");
    // Pain: 0.641 with each sentence's own lean, 0.661 with the talk around it, 0.663 when a
    // sentence that denies a problem is no longer flagged for its neighbours.
    assert!(num(&codebook, "pain_f1") >= 0.65, "{codebook}");
    let learned = row("learned");
    // Softmax over the themes: 0.51 / macro-F1 0.41 with ridge on one-hot themes, 0.55 / 0.48
    // with softmax, 0.57 / 0.54 with the codebook's own scores among the features, 0.588 with
    // the codebook's clear verdicts where the learned model abstains, 0.611 / 0.565 with the
    // study's words among the features. The floor still leaves uncoded-looking sentences alone
    // (0.86 of all sentences themed, the researcher 0.78; 0.96 if every prototype verdict
    // counted).
    assert!(num(&learned, "theme_accuracy") >= 0.6, "{learned}");
    assert!(num(&learned, "theme_macro_f1") >= 0.54, "{learned}");
    assert!(num(&learned, "all_coverage") <= 0.9, "{learned}");
    // 0.655 with the pain threshold matched to the researcher's rate over all sentences, 0.68
    // over the sentences they coded.
    assert!(num(&learned, "pain_f1") >= 0.665, "{learned}");
    // Calibrated to the researcher's own pain rate among coded sentences: 0.35 of all sentences
    // (the researcher 0.29; 0.58 when tuned for F1 on the coded quotes).
    assert!(num(&learned, "all_pain_share") <= 0.4, "{learned}");
    // Code by code: all 20 codes are used in the quotes; each is scored over its own quotes,
    // and their F1s average to the macro-F1.
    let codes = learned["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 20, "{learned}");
    let support: f64 = codes.iter().map(|c| num(c, "quotes")).sum();
    assert!(
        support >= 735.0,
        "every coded quote counts for its codes: {support}"
    );
    let mean = codes.iter().map(|c| num(c, "f1")).sum::<f64>() / 20.0;
    assert!((mean - num(&learned, "theme_macro_f1")).abs() < 1e-9);
}

/// What researchers do: code two interviews by hand and let sowhat code the rest. Taught by
/// P1–P2's quotes, the learned model alone scored 0.39 (below the codebook alone, 0.45); with
/// the codebook's clear verdicts where it abstains, 0.434; with the study's words among the
/// features, 0.459 (BENCHMARKS.md). Pain F1 0.613, and 0.634 with the codebook's pain lean
/// among the pain model's features.
#[test]
fn two_coded_sessions_teach_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("p1p2.jsonl");
    std::fs::write(&examples, gold_of(&["P1", "P2"])).unwrap();
    let rows = serdif_eval(dir.path(), &["--examples", examples.to_str().unwrap()]);
    let learned = eval_row(&rows, "learned");
    let acc = learned["theme_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.445, "{learned}");
    assert!(
        learned["theme_coverage"].as_f64().unwrap() >= 0.9,
        "{learned}"
    );
    assert!(learned["pain_f1"].as_f64().unwrap() >= 0.625, "{learned}");
}

/// Coded interviews need not be among those tagged: the quotes of P1–P3, coded earlier, teach
/// P4–P9, and their transcripts beside the examples file give each quote its question and
/// turn. Measured: theme accuracy 0.559 on P4–P9 (as with all nine sessions given), 0.510 with
/// the quotes alone; pain F1 0.663, 0.686 with the codebook's pain lean among the pain model's
/// features (the codebook alone: 0.689 on P4–P9).
#[test]
fn coded_interviews_beside_the_examples_file_teach_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (coded, new) = (dir.path().join("coded"), dir.path().join("new"));
    std::fs::create_dir_all(coded.join("transcripts")).unwrap();
    std::fs::create_dir_all(&new).unwrap();
    for n in 1..=9 {
        let name = format!("P{n}.txt");
        let to = if n <= 3 {
            coded.join("transcripts")
        } else {
            new.clone()
        };
        std::fs::copy(serdif().join("transcripts").join(&name), to.join(&name)).unwrap();
    }
    let examples = coded.join("gold.jsonl");
    std::fs::write(&examples, gold_of(&["P1", "P2", "P3"])).unwrap();
    let gold = dir.path().join("p4-p9.jsonl");
    std::fs::write(&gold, gold_of(&["P4", "P5", "P6", "P7", "P8", "P9"])).unwrap();
    let (rows, err) = eval_on(
        dir.path(),
        &new,
        &gold,
        &["--examples", examples.to_str().unwrap()],
    );
    assert!(
        err.contains("0 found in the interviews analysed, 331 in 3 other transcripts"),
        "{err}"
    );
    let learned = eval_row(&rows, "learned");
    assert_eq!(learned["quotes"].as_f64().unwrap(), 404.0);
    assert!(
        learned["theme_accuracy"].as_f64().unwrap() >= 0.54,
        "{learned}"
    );
    // Calibrated to the coded sessions' pain rate, which needs their whole transcripts: 0.37 of
    // all sentences flagged (0.40 with the quotes alone).
    assert!(
        learned["all_pain_share"].as_f64().unwrap() <= 0.385,
        "{learned}"
    );
    assert!(learned["pain_f1"].as_f64().unwrap() >= 0.675, "{learned}");
}

/// A Word transcript is analysed like a text one, beside it in the same folder; a PDF named on
/// the command line fails alone, with what to do, and the rest is written (exit code 1).
#[test]
fn word_transcripts_are_read_and_a_pdf_fails_alone() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let said = "The parcel was two weeks late and nobody told me anything.";
    std::fs::write(
        input.join("anna.txt"),
        format!("Interviewer: How was the delivery?\nAnna: {said}\n"),
    )
    .unwrap();
    let para = |s: &str| format!("<w:p><w:r><w:t xml:space=\"preserve\">{s}</w:t></w:r></w:p>");
    let body = [
        para("Interview with Ben, 3 May"),
        para("Interviewer (00:00:05):"),
        para("How was the delivery?"),
        para("Ben (00:00:09):"),
        para(said),
        para("Interviewer (00:00:15): And then?"),
    ]
    .concat();
    let docx = |body: &str| {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        z.start_file(
            "word/document.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        write!(
            z,
            "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
        )
        .unwrap();
        z.finish().unwrap().into_inner()
    };
    std::fs::write(input.join("ben.docx"), docx(&body)).unwrap();
    // The discussion guide beside the interviews is no interview.
    let guide = [
        para("Discussion guide"),
        para("Warm-up: tell me about yourself."),
        para("Ask how the delivery went and whether the parcel was late."),
    ]
    .concat();
    std::fs::write(input.join("guide.docx"), docx(&guide)).unwrap();
    // Word's lock file while ben.docx is open, and the recording the typist worked from:
    // `analyze` reads the transcript and is not tripped by either.
    std::fs::write(input.join("~$ben.docx"), b"\x05Anna").unwrap();
    std::fs::write(input.join("ben.m4a"), b"not really audio").unwrap();
    let pdf = dir.path().join("notes.pdf");
    std::fs::write(&pdf, b"%PDF-1.7").unwrap();
    let out = dir.path().join("out");
    let o = sowhat(
        &[
            "analyze",
            input.to_str().unwrap(),
            pdf.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--keywords-only",
            "-q",
        ],
        &dir.path().join("c"),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("notes.pdf") && err.contains("does not read PDF"),
        "{err}"
    );
    assert!(
        err.contains("guide.docx: not read as an interview"),
        "{err}"
    );
    assert!(!err.contains("~$ben") && !err.contains("ben.m4a"), "{err}");
    let v = read_json(&out.join("insights.json"));
    let ben: Vec<&Value> = v["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["source"].as_str().unwrap().ends_with("ben.docx"))
        .collect();
    assert!(!ben.is_empty(), "no mentions from the .docx: {v}");
    assert!(ben.iter().all(|m| m["text"] == said), "{ben:?}");
    assert!(ben.iter().all(|m| m["start"] == 9.0), "{ben:?}");
    assert!(ben.iter().any(|m| m["theme"] == "delivery"), "{ben:?}");
    let ids: Vec<&str> = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "the guide is no participant: {ids:?}");
}
