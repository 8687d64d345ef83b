//! Real material: the 9 serdif-dev usability sessions and their 821 coded quotes
//! (../shared/eval/serdif-dev). Skipped when the folder is not there.

use sowhat::report::qdpx;
use sowhat::types::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

fn dir() -> Option<std::path::PathBuf> {
    [
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval/serdif-dev"),
        "/work/shared/eval/serdif-dev",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.join("gold.jsonl").exists())
}

fn slug(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect()
}

#[test]
fn serdif_gold_quotes_survive_qdpx_and_csv() {
    let Some(d) = dir() else {
        eprintln!("skipped: serdif-dev not found");
        return;
    };
    // Transcripts: "Speaker: text" lines; Participant → P<n>, Moderator → interviewer. No times.
    let mut transcripts = Vec::new();
    for n in 1..=9 {
        let id = format!("P{n}");
        let path = d.join("transcripts").join(format!("{id}.txt"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut t = Transcript::new(format!("transcripts/{id}.txt"), id.clone());
        for line in text.lines() {
            let Some((who, said)) = line.split_once(": ") else {
                continue;
            };
            let speaker = match who {
                "Participant" => Speaker::Participant(id.clone()),
                "Moderator" => Speaker::Interviewer,
                other => Speaker::Label(other.to_string()),
            };
            t.segments.push(Segment {
                start: None,
                end: None,
                speaker: Some(speaker),
                text: said.to_string(),
                confidence: None,
            });
        }
        transcripts.push(t);
    }
    // Mentions: the gold quotes.
    let mut mentions = Vec::new();
    let mut names = BTreeMap::new();
    for line in std::fs::read_to_string(d.join("gold.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let p = v["participant"].as_str().unwrap().to_string();
        let tag = v["tag"].as_str().unwrap().to_string();
        let kind: ThemeKind =
            serde_json::from_value(v["kind"].clone()).unwrap_or(ThemeKind::Neutral);
        names.insert(slug(&tag), (tag.clone(), kind));
        mentions.push(Mention {
            source: format!("transcripts/{p}.txt"),
            participant: p,
            text: v["quote"].as_str().unwrap().to_string(),
            start: None,
            end: None,
            theme: slug(&tag),
            kind,
            score: 1.0,
            method: Method::Examples,
            pain: 0,
            cues: vec![],
        });
    }
    let themes: Vec<ThemeStats> = names
        .iter()
        .map(|(id, (name, kind))| ThemeStats {
            id: id.clone(),
            name: name.clone(),
            kind: *kind,
            origin: Origin::Codebook,
            description: String::new(),
            participants: vec![],
            prevalence: 0.0,
            mentions: 0,
            severity: 0,
            priority: 0.0,
            verdict: Verdict::Keep,
            reason: "gold".into(),
            single_source: false,
            segments: BTreeMap::new(),
        })
        .collect();
    let insights = Insights {
        schema: INSIGHTS_SCHEMA.into(),
        study: Study {
            title: "serdif-dev".into(),
            ..Study::default()
        },
        participants: (1..=9)
            .map(|n| Participant {
                id: format!("P{n}"),
                source: format!("transcripts/P{n}.txt"),
                language: Some("en".into()),
                attributes: BTreeMap::new(),
            })
            .collect(),
        themes,
        stories: vec![],
        mentions: mentions.clone(),
        saturation: Saturation::default(),
        failures: vec![],
    };

    // .qdpx
    let (bytes, report) = qdpx::write_with_report(&insights, &transcripts).unwrap();
    eprintln!(
        "serdif: {} quotes, {} placed ({} of them over several lines or with other spacing), {} not found",
        mentions.len(),
        report.codings,
        report.approximate,
        report.skipped.len()
    );
    assert!(report.codings >= 800, "{}", report.codings);
    // Every skipped quote really is not inside any single line of its transcript.
    for s in &report.skipped {
        let t = transcripts.iter().find(|t| t.source == s.source).unwrap();
        assert!(
            !t.segments.iter().any(|g| g.text.contains(s.text.trim())),
            "{s:?}"
        );
    }
    let back = qdpx::read_codings(&bytes).unwrap();
    assert_eq!(back.len(), report.codings);
    // A quote running over several lines comes back with the line prefixes between them
    // ("…cool.\nP1: Yeah…"): compare the spoken words.
    let words = |t: &str| -> String {
        let mut lines = t.split('\n');
        let mut out: Vec<&str> = lines.next().into_iter().collect();
        out.extend(lines.map(|l| l.split_once(": ").map(|x| x.1).unwrap_or(l)));
        out.join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let got: BTreeSet<(String, String, String, Option<String>)> = back
        .into_iter()
        .map(|c| (words(&c.text), c.code, c.source, c.participant))
        .collect();
    for m in &mentions {
        if report
            .skipped
            .iter()
            .any(|s| s.text == m.text && s.source == m.source)
        {
            continue;
        }
        let key = (
            words(&m.text),
            names[&m.theme].0.clone(),
            m.source.clone(),
            Some(m.participant.clone()),
        );
        assert!(got.contains(&key), "{key:?}");
    }
    if let Some(xsd) = [
        "/work/shared/eval/refi/Project.xsd",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/eval/refi/Project.xsd"
        ),
    ]
    .iter()
    .find(|p| std::path::Path::new(p).exists())
    {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let mut qde = Vec::new();
        z.by_name("project.qde")
            .unwrap()
            .read_to_end(&mut qde)
            .unwrap();
        let path = std::env::temp_dir().join(format!("serdif-{}.qde", std::process::id()));
        std::fs::write(&path, qde).unwrap();
        if let Ok(out) = std::process::Command::new("xmllint")
            .args(["--noout", "--schema", xsd])
            .arg(&path)
            .output()
        {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ = std::fs::remove_file(path);
    }
    if let Ok(p) = std::env::var("SERDIF_QDPX_OUT") {
        std::fs::write(p, &bytes).unwrap();
    }

    // mentions.csv round trip.
    let csv = sowhat::report::csv::write_mentions(&mentions, &insights.themes);
    let again = sowhat::report::csv::read_mentions(&csv).unwrap();
    assert_eq!(again.len(), mentions.len());
    for (a, b) in mentions.iter().zip(&again) {
        assert_eq!(
            (&a.text, &a.theme, &a.participant),
            (&b.text, &b.theme, &b.participant)
        );
    }

    // The gold as a researcher's quote table (semicolon-delimited, as Excel writes it in Europe).
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    w.write_record(["Participant", "Quote", "Tag"]).unwrap();
    for m in &mentions {
        w.write_record([
            m.participant.as_str(),
            m.text.as_str(),
            names[&m.theme].0.as_str(),
        ])
        .unwrap();
    }
    let table = w.into_inner().unwrap();
    let coded = sowhat::report::csv::read_quote_table(&table).unwrap();
    let expected = mentions
        .iter()
        .filter(|m| !m.text.trim().is_empty())
        .count();
    // Tags holding ';' or '|' would split; the gold has none.
    assert_eq!(coded.len(), expected);
}
