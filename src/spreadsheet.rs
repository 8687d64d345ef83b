//! Spreadsheets researchers keep their tables in (Excel `.xlsx` / `.xls`, LibreOffice `.ods`):
//! the first sheet with data, as CSV, for the readers of `participants.csv` and of coded-quote
//! tables. Reading goes through the `calamine` crate.

use calamine::{Data, Reader};
use std::io::Cursor;
use std::path::Path;

/// The spreadsheet extensions read.
pub const EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xls", "xlsb", "ods"];

/// Whether a path is a spreadsheet, by its extension.
pub fn is_spreadsheet(path: &Path) -> bool {
    crate::fsutil::has_extension(path, EXTENSIONS)
}

/// How many rows from the top of a sheet its header row may be (below a title and notes).
const HEADER_ROWS: usize = 10;

/// The table in a workbook, as CSV text from its header row on. The table is on the first
/// sheet with a header row, a row within the first [`HEADER_ROWS`] with a cell named one of
/// `headers` (any case), so a cover sheet or a title above the table is skipped; without one,
/// the first sheet with data from its first row (and its reader says what is missing). Whole
/// numbers are written without a decimal point ("12", not "12.0"), dates as `2026-05-12` (with
/// the time when there is one) and durations as `0:45:00`.
pub fn to_csv(bytes: &[u8], headers: &[&str]) -> Result<Vec<u8>, String> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            format!(
                "cannot open the workbook ({e}): if it has a password, remove it and save it again"
            )
        } else {
            format!(
                "not a spreadsheet sowhat can read ({e}); save it from Excel or LibreOffice again"
            )
        }
    })?;
    let mut sheets: Vec<Vec<Vec<String>>> = Vec::new();
    for i in 0..book.sheet_names().len() {
        match book.worksheet_range_at(i) {
            Some(Ok(r)) if !r.is_empty() => {
                let mut rows: Vec<Vec<String>> =
                    r.rows().map(|row| row.iter().map(cell).collect()).collect();
                let origin = r.start().unwrap_or((0, 0));
                fill_merged(&mut rows, origin, &merged_cells(&mut book, i));
                sheets.push(rows)
            }
            Some(Err(e)) => return Err(format!("cannot read sheet {}: {e}", i + 1)),
            _ => {}
        }
    }
    let is_header = |row: &Vec<String>| {
        row.iter()
            .any(|c| headers.iter().any(|h| c.trim().eq_ignore_ascii_case(h)))
    };
    let (sheet, first) = sheets
        .iter()
        .find_map(|rows| {
            rows.iter()
                .take(HEADER_ROWS)
                .position(is_header)
                .map(|at| (rows, at))
        })
        .or_else(|| sheets.first().map(|rows| (rows, 0)))
        .ok_or("the spreadsheet has no data in any sheet")?;
    // Every field quoted, so that a reader sniffing the delimiter never counts the semicolons
    // between codes ("Delivery; Price").
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    for row in &sheet[first..] {
        w.write_record(row)
            .map_err(|e| format!("cannot convert the sheet: {e}"))?;
    }
    w.into_inner()
        .map_err(|e| format!("cannot convert the sheet: {e}"))
}

/// The merged regions of sheet `i`, where the format keeps them (Excel's `.xlsx` and `.xls`;
/// none are reported for `.xlsb` and `.ods`).
fn merged_cells<RS: std::io::Read + std::io::Seek>(
    book: &mut calamine::Sheets<RS>,
    i: usize,
) -> Vec<calamine::Dimensions> {
    match book {
        calamine::Sheets::Xlsx(x) => x.merge_cells_by_sheet_id(i).unwrap_or_default(),
        calamine::Sheets::Xls(x) => x.merge_cells_by_sheet_id(i).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A cell merged down over several rows ("pro" for the three participants on that plan, "P1"
/// beside each of P1's quotes) holds its value in its top cell only; the rows below would read
/// as empty. Each row of a merged region takes the value in its first column. Other columns of
/// a region merged across stay empty, so a header merged across two columns does not name two.
fn fill_merged(rows: &mut [Vec<String>], origin: (u32, u32), merged: &[calamine::Dimensions]) {
    for m in merged {
        let (Some(top), Some(col)) = (
            m.start.0.checked_sub(origin.0),
            m.start.1.checked_sub(origin.1),
        ) else {
            continue;
        };
        let (top, col) = (top as usize, col as usize);
        let Some(value) = rows.get(top).and_then(|r| r.get(col)).cloned() else {
            continue;
        };
        let bottom = (m.end.0 - origin.0) as usize;
        for row in rows.iter_mut().take(bottom + 1).skip(top + 1) {
            if let Some(c) = row.get_mut(col) {
                if c.is_empty() {
                    c.clone_from(&value);
                }
            }
        }
    }
}

fn cell(d: &Data) -> String {
    match d {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        // A duration, or a time of day without a date (a serial below one day).
        Data::DateTime(t) if t.is_duration() || (0.0..1.0).contains(&t.as_f64()) => {
            let s = (t.as_f64() * 86_400.0).round() as i64;
            format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        }
        Data::DateTime(t) => {
            let (y, mo, d, h, mi, s, _) = t.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
            }
        }
        other => other.to_string().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal `.xlsx` with one sheet of inline-string and number cells.
    pub(crate) fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
        xlsx_merged(rows, &[])
    }

    /// The same, with merged regions such as `"C2:C4"`.
    fn xlsx_merged(rows: &[&[&str]], merged: &[&str]) -> Vec<u8> {
        let mut sheet = String::new();
        for (r, row) in rows.iter().enumerate() {
            sheet.push_str(&format!("<row r=\"{}\">", r + 1));
            for (c, v) in row.iter().enumerate() {
                let at = format!("{}{}", (b'A' + c as u8) as char, r + 1);
                if v.parse::<f64>().is_ok() {
                    sheet.push_str(&format!("<c r=\"{at}\"><v>{v}</v></c>"));
                } else {
                    sheet.push_str(&format!(
                        "<c r=\"{at}\" t=\"inlineStr\"><is><t>{v}</t></is></c>"
                    ));
                }
            }
            sheet.push_str("</row>");
        }
        let merges = if merged.is_empty() {
            String::new()
        } else {
            let refs: String = merged
                .iter()
                .map(|r| format!("<mergeCell ref=\"{r}\"/>"))
                .collect();
            format!("<mergeCells count=\"{}\">{refs}</mergeCells>", merged.len())
        };
        let files = [
            ("[Content_Types].xml", "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/><Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/></Types>".to_string()),
            ("_rels/.rels", "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>".to_string()),
            ("xl/workbook.xml", "<?xml version=\"1.0\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets><sheet name=\"Participants\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>".to_string()),
            ("xl/_rels/workbook.xml.rels", "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>".to_string()),
            ("xl/worksheets/sheet1.xml", format!("<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{sheet}</sheetData>{merges}</worksheet>")),
        ];
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in files {
            z.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(body.as_bytes()).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    #[test]
    fn a_sheet_becomes_csv_from_its_header_row() {
        let bytes = xlsx(&[
            &["Recruitment tracker, delivery study"],
            &["file", "id", "age"],
            &["Anna.m4a", "P1", "34"],
            &["ben, jr", "P2", "2.5"],
        ]);
        let csv = String::from_utf8(to_csv(&bytes, &["file"]).unwrap()).unwrap();
        assert_eq!(
            csv,
            "\"file\",\"id\",\"age\"\n\"Anna.m4a\",\"P1\",\"34\"\n\"ben, jr\",\"P2\",\"2.5\"\n"
        );
        assert!(is_spreadsheet(Path::new("people.XLSX")));
        assert!(to_csv(b"file,id\n", &["file"])
            .unwrap_err()
            .contains("not a spreadsheet"));
    }

    /// The participants list and the coded quotes can be Excel sheets; codes separated by
    /// semicolons stay one cell.
    #[test]
    fn participants_and_coded_quotes_from_excel() {
        let dir = tempfile::tempdir().unwrap();
        let people = dir.path().join("participants.xlsx");
        std::fs::write(
            &people,
            xlsx(&[
                &["file", "id", "plan"],
                &["Anna.m4a", "P1", "pro"],
                &["ben", "P2", "free"],
            ]),
        )
        .unwrap();
        let rows = crate::analyze::read_participants(&people).unwrap();
        assert_eq!(rows["anna"].id, "P1");
        assert_eq!(rows["ben"].attributes["plan"], "free");

        let quotes = dir.path().join("coded.xlsx");
        std::fs::write(
            &quotes,
            xlsx(&[
                &["Participant", "Quote", "Code"],
                &["P1", "The parcel came late.", "Delivery; Communication"],
                &["P2", "Nobody called.", "Communication"],
            ]),
        )
        .unwrap();
        let ex = crate::tag::learn::read_examples(&quotes).unwrap();
        let codes: Vec<(&str, &str)> = ex
            .quotes
            .iter()
            .map(|q| (q.text.as_str(), q.code.as_str()))
            .collect();
        assert!(
            codes.contains(&("The parcel came late.", "Delivery")),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("The parcel came late.", "Communication")),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("Nobody called.", "Communication")),
            "{codes:?}"
        );

        let broken = dir.path().join("broken.xlsx");
        std::fs::write(&broken, b"PK\x03\x04oops").unwrap();
        let e = crate::analyze::read_participants(&broken)
            .unwrap_err()
            .to_string();
        assert!(e.contains("broken.xlsx") && e.contains("CSV"), "{e}");
    }

    /// A plan merged over three rows belongs to all three participants; a participant merged
    /// beside two quotes said both; a title merged across columns names one column only.
    #[test]
    fn merged_cells_fill_the_rows_they_span() {
        let bytes = xlsx_merged(
            &[
                &["Recruitment", "", ""],
                &["file", "id", "plan"],
                &["anna", "P1", "pro"],
                &["ben", "P2", ""],
                &["cleo", "P3", ""],
                &["dan", "P4", "free"],
            ],
            &["A1:C1", "C3:C5"],
        );
        let csv = String::from_utf8(to_csv(&bytes, &["file"]).unwrap()).unwrap();
        assert_eq!(
            csv,
            "\"file\",\"id\",\"plan\"\n\"anna\",\"P1\",\"pro\"\n\"ben\",\"P2\",\"pro\"\n\
             \"cleo\",\"P3\",\"pro\"\n\"dan\",\"P4\",\"free\"\n"
        );
        let bytes = xlsx_merged(
            &[
                &["Participant", "Quote", "Code"],
                &["P1", "The parcel came late.", "Delivery"],
                &["", "Nobody called.", "Communication"],
                &["P2", "Fine.", "Delivery"],
            ],
            &["A2:A3"],
        );
        let csv = String::from_utf8(to_csv(&bytes, &["quote"]).unwrap()).unwrap();
        assert!(csv.contains("\"P1\",\"Nobody called.\""), "{csv}");
        assert!(csv.contains("\"P2\",\"Fine.\""), "{csv}");
    }
}
