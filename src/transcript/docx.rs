//! Word `.docx` transcripts (Otter, Teams, Rev, a typist's document): the document's text,
//! paragraph by paragraph, which [`super::read`] then reads like a `.txt` transcript. A table
//! row of a table of speech, as in a typist's "time | speaker | text" grid, becomes one
//! `[time] Speaker: text` line; other tables (a "Date | 12 May" header block) are plain text.
//!
//! Only the body text is read: tracked deletions and moved-away text, field codes and text
//! boxes (a "CONFIDENTIAL" stamp, and the fallback copies Word keeps of them) are left out.

use std::io::{Cursor, Read};

/// The largest `word/document.xml` unpacked: hours of transcript are a few MB, so anything
/// bigger is not a transcript (or is a ZIP bomb).
const MAX_XML: u64 = 256 << 20;

/// The text of a `.docx` file: one line per paragraph (and per line break inside one).
pub fn text(bytes: &[u8]) -> Result<String, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(
            "a password-protected Word document or an old .doc renamed .docx; remove any password"
                .into(),
        );
    }
    if !bytes.starts_with(b"PK") {
        return Err(
            "not a Word .docx document (a .docx file is a ZIP archive; this one is not)".into(),
        );
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a readable .docx file (damaged ZIP archive: {e})"))?;
    let f = zip
        .by_name("word/document.xml")
        .map_err(|_| "not a Word document: the .docx holds no word/document.xml".to_string())?;
    let mut xml = Vec::new();
    f.take(MAX_XML + 1)
        .read_to_end(&mut xml)
        .map_err(|e| format!("cannot unpack the document text: {e}"))?;
    if xml.len() as u64 > MAX_XML {
        return Err(format!(
            "the document text is larger than {} MB: not a transcript",
            MAX_XML >> 20
        ));
    }
    lines(&xml)
}

/// A table being read.
#[derive(Default)]
struct Table {
    /// The rows read so far, each its cells' text.
    rows: Vec<Vec<String>>,
    /// The cells of the current row so far.
    row: Vec<String>,
    /// The current cell's paragraphs so far.
    cell: String,
}

/// `word/document.xml` → lines of text.
fn lines(xml: &[u8]) -> Result<String, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut out: Vec<String> = Vec::new();
    let mut para = String::new();
    let mut tables: Vec<Table> = Vec::new();
    let mut in_text = false;
    // Depth inside elements whose text is not the document's (moved-away text, fallbacks).
    let mut skipped = 0usize;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            format!(
                "the document text is damaged (word/document.xml at byte {}: {e})",
                reader.buffer_position()
            )
        })?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                b"moveFrom" | b"Fallback" | b"del" | b"txbxContent" => skipped += 1,
                b"t" => in_text = true,
                b"tbl" if skipped == 0 => tables.push(Table::default()),
                _ => {}
            },
            Event::Empty(e) if skipped == 0 => match e.local_name().as_ref() {
                b"tab" => para.push('\t'),
                b"br" | b"cr" => para.push('\n'),
                b"noBreakHyphen" => para.push('-'),
                _ => {}
            },
            Event::Text(t) if in_text && skipped == 0 => {
                let raw = String::from_utf8_lossy(t.as_ref()).into_owned();
                let s = quick_xml::escape::unescape(&raw)
                    .map_err(|e| format!("the document text is damaged ({e})"))?;
                para.push_str(&s);
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"moveFrom" | b"Fallback" | b"del" | b"txbxContent" => {
                    skipped = skipped.saturating_sub(1)
                }
                b"t" => in_text = false,
                _ if skipped > 0 => {}
                b"p" => {
                    let p = std::mem::take(&mut para);
                    match tables.last_mut() {
                        Some(t) => {
                            if !t.cell.is_empty() && !p.trim().is_empty() {
                                t.cell.push(' ');
                            }
                            t.cell.push_str(p.trim());
                        }
                        None => out.extend(p.split('\n').map(str::to_string)),
                    }
                }
                b"tc" => {
                    if let Some(t) = tables.last_mut() {
                        let cell = std::mem::take(&mut t.cell);
                        t.row.push(cell.replace('\n', " "));
                    }
                }
                b"tr" => {
                    if let Some(t) = tables.last_mut() {
                        let cells = std::mem::take(&mut t.row);
                        t.rows.push(cells);
                    }
                }
                b"tbl" => {
                    if let Some(done) = tables.pop() {
                        match tables.last_mut() {
                            // A table inside a cell: its text belongs to the outer cell.
                            Some(outer) => {
                                for cell in done.rows.iter().flatten() {
                                    if !cell.trim().is_empty() {
                                        if !outer.cell.is_empty() {
                                            outer.cell.push(' ');
                                        }
                                        outer.cell.push_str(cell.trim());
                                    }
                                }
                            }
                            None => {
                                out.extend(table_lines(&done.rows));
                                out.push(String::new());
                            }
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out.join("\n"))
}

/// Column headings of a transcript table ("Time | Speaker | Text"), in the four languages.
const HEADINGS: &[&str] = &[
    "time",
    "timestamp",
    "time stamp",
    "start",
    "end",
    "speaker",
    "name",
    "who",
    "text",
    "transcript",
    "transcription",
    "dialogue",
    "utterance",
    "content",
    "laikas",
    "kalbėtojas",
    "kalbantysis",
    "tekstas",
    "czas",
    "mówca",
    "osoba",
    "tekst",
    "wypowiedź",
    "время",
    "спикер",
    "говорящий",
    "текст",
    "реплика",
];

/// A table's rows as transcript lines. A table of speech, whose rows have a time in the first
/// column or whose speakers come back (`Anna | …` twice), gives `[time] Speaker: text` lines;
/// any other table (a "Date | 12 May 2026" block) its cells joined as plain text. A first row
/// of column headings is dropped.
fn table_lines(rows: &[Vec<String>]) -> Vec<String> {
    let rows: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .filter(|r: &Vec<&str>| !r.is_empty())
        .collect();
    let headed = rows.first().is_some_and(|r| {
        r.iter()
            .all(|c| HEADINGS.contains(&c.to_lowercase().trim_end_matches(':')))
    });
    let rows = &rows[usize::from(headed)..];
    let timed = |r: &[&str]| r.len() >= 2 && super::read::parse_clock(r[0]).is_some();
    // The speaker cell of a row (after the time, when there is one).
    let speaker = |r: &[&str]| -> Option<String> {
        let rest = if timed(r) { &r[1..] } else { r };
        (rest.len() >= 2 && super::read::is_speaker(rest[0])).then(|| rest[0].to_lowercase())
    };
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for r in rows {
        if let Some(s) = speaker(r) {
            *seen.entry(s).or_default() += 1;
        }
    }
    let speech = rows.iter().any(|r| timed(r)) || seen.values().any(|&n| n >= 2);
    rows.iter()
        .map(|r| {
            if !speech {
                // "Date: | 12 May" is a heading and its value, not a speaker and a turn.
                let cells: Vec<&str> = r.iter().map(|c| c.trim_end_matches(':')).collect();
                return cells.join(" ");
            }
            let (stamp, rest) = if timed(r) {
                (Some(r[0]), &r[1..])
            } else {
                (None, &r[..])
            };
            let body = if speaker(r).is_some() {
                format!("{}: {}", rest[0], rest[1..].join(" "))
            } else {
                rest.join(" ")
            };
            match stamp {
                Some(t) => format!("[{t}] {body}"),
                None => body,
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A `.docx` holding `body` (the inside of `<w:body>`).
    pub(crate) fn docx(body: &str) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("[Content_Types].xml", o).unwrap();
        z.write_all(b"<?xml version=\"1.0\"?><Types/>").unwrap();
        z.start_file("word/document.xml", o).unwrap();
        write!(
            z,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
             <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" \
             xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\">\
             <w:body>{body}</w:body></w:document>"
        )
        .unwrap();
        z.finish().unwrap().into_inner()
    }

    fn p(runs: &str) -> String {
        format!("<w:p><w:pPr><w:pStyle w:val=\"Normal\"/></w:pPr>{runs}</w:p>")
    }

    fn r(text: &str) -> String {
        format!("<w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">{text}</w:t></w:r>")
    }

    #[test]
    fn paragraphs_runs_tabs_breaks_and_entities() {
        let body = [
            p(&format!(
                "{}<w:r><w:tab/></w:r>{}",
                r("Anna Smith"),
                r("0:03")
            )),
            p(&format!(
                "{}{}",
                r("It took &quot;ages&quot; "),
                r("&amp; I gave up.")
            )),
            p(&format!(
                "{}<w:r><w:br/></w:r>{}",
                r("Line one"),
                r("line two")
            )),
        ]
        .concat();
        assert_eq!(
            text(&docx(&body)).unwrap(),
            "Anna Smith\t0:03\nIt took \"ages\" & I gave up.\nLine one\nline two"
        );
    }

    #[test]
    fn deleted_moved_and_fallback_text_is_read_once_or_not_at_all() {
        let body = p(&format!(
            "{}<w:del><w:r><w:delText>gone</w:delText></w:r></w:del>\
             <w:moveFrom><w:r><w:t>moved away</w:t></w:r></w:moveFrom>\
             <mc:AlternateContent><mc:Choice>{}</mc:Choice><mc:Fallback>{}</mc:Fallback></mc:AlternateContent>",
            r("Kept "),
            r("box"),
            r("box")
        ));
        assert_eq!(text(&docx(&body)).unwrap(), "Kept box");
    }

    #[test]
    fn table_rows_become_stamped_speaker_lines() {
        let row = |cells: &[&str]| {
            let tcs: String = cells
                .iter()
                .map(|c| format!("<w:tc><w:tcPr/>{}</w:tc>", p(&r(c))))
                .collect();
            format!("<w:tr>{tcs}</w:tr>")
        };
        let body = format!(
            "<w:tbl>{}{}{}{}</w:tbl>{}",
            row(&["Time", "Speaker", "Text"]),
            row(&["00:01:05", "Interviewer", "How was the delivery?"]),
            row(&["00:01:09", "Anna", "Late, again."]),
            row(&["Ben", "Fine for me."]),
            p(&r("After the table."))
        );
        assert_eq!(
            text(&docx(&body)).unwrap(),
            "[00:01:05] Interviewer: How was the delivery?\n[00:01:09] Anna: Late, again.\n\
             Ben: Fine for me.\n\nAfter the table."
        );
    }

    fn table(rows: &[&[&str]]) -> String {
        let tr = |cells: &&[&str]| {
            let tcs: String = cells
                .iter()
                .map(|c| format!("<w:tc><w:tcPr/>{}</w:tc>", p(&r(c))))
                .collect();
            format!("<w:tr>{tcs}</w:tr>")
        };
        format!("<w:tbl>{}</w:tbl>", rows.iter().map(tr).collect::<String>())
    }

    /// A typist's block of interview details is no conversation; a speakers' table is one
    /// even without times, and its first turn is no heading.
    #[test]
    fn detail_tables_are_text_and_untimed_speech_tables_keep_their_first_turn() {
        let body = [
            table(&[&["Date:", "12 May 2026"], &["Location", "London"]]),
            table(&[
                &["Interviewer", "Welcome back"],
                &["Anna", "Thanks."],
                &["Interviewer", "How was it?"],
                &["Anna", "Slow."],
            ]),
        ]
        .concat();
        assert_eq!(
            text(&docx(&body)).unwrap(),
            "Date 12 May 2026\nLocation London\n\nInterviewer: Welcome back\nAnna: Thanks.\n\
             Interviewer: How was it?\nAnna: Slow.\n"
        );
    }

    #[test]
    fn nested_tables_stay_in_their_cell_and_text_boxes_are_left_out() {
        let inner = table(&[&["a", "b"], &["c"]]);
        let body = format!(
            "<w:tbl><w:tr><w:tc>{}</w:tc><w:tc>{}{inner}</w:tc></w:tr></w:tbl>{}",
            p(&r("00:00:03")),
            p(&r("Anna")),
            p(&format!(
                "{}<w:r><w:drawing><wp:inline><w:txbxContent>{}</w:txbxContent></wp:inline></w:drawing></w:r>{}",
                r("The parcel came "),
                p(&r("CONFIDENTIAL DRAFT")),
                r("two weeks late.")
            ))
        );
        assert_eq!(
            text(&docx(&body)).unwrap(),
            "[00:00:03] Anna a b c\n\nThe parcel came two weeks late."
        );
    }

    #[test]
    fn not_a_docx_says_so() {
        assert!(text(b"").unwrap_err().contains("empty"));
        assert!(text(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1])
            .unwrap_err()
            .contains("password"));
        assert!(text(b"plain text")
            .unwrap_err()
            .contains("not a Word .docx"));
        assert!(text(b"PK\x03\x04broken")
            .unwrap_err()
            .contains("damaged ZIP"));
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        z.start_file("other.xml", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"<x/>").unwrap();
        let bytes = z.finish().unwrap().into_inner();
        assert!(text(&bytes).unwrap_err().contains("no word/document.xml"));
        let cut = docx(&p(&r("Hello")));
        let bad = docx("<w:p><w:r><w:t>Hello</w:p>");
        assert!(text(&cut).is_ok());
        assert!(
            text(&bad).unwrap_err().contains("damaged"),
            "{:?}",
            text(&bad)
        );
    }
}
