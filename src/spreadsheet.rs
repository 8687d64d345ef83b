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

/// The first sheet that holds data, as CSV text (a header line, then the rows). Whole numbers
/// are written without a decimal point ("12", not "12.0").
pub fn to_csv(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        format!("not a spreadsheet sowhat can read ({e}); save it from Excel or LibreOffice again")
    })?;
    let sheets = book.sheet_names().len();
    let mut range = None;
    for i in 0..sheets {
        match book.worksheet_range_at(i) {
            Some(Ok(r)) if !r.is_empty() => {
                range = Some(r);
                break;
            }
            Some(Err(e)) => return Err(format!("cannot read sheet {}: {e}", i + 1)),
            _ => {}
        }
    }
    let range = range.ok_or("the spreadsheet has no data in any sheet")?;
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in range.rows() {
        let cells: Vec<String> = row.iter().map(cell).collect();
        w.write_record(&cells)
            .map_err(|e| format!("cannot convert the sheet: {e}"))?;
    }
    w.into_inner()
        .map_err(|e| format!("cannot convert the sheet: {e}"))
}

fn cell(d: &Data) -> String {
    match d {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal `.xlsx` with one sheet of inline-string and number cells.
    pub(crate) fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
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
        let files = [
            ("[Content_Types].xml", "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/><Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/></Types>".to_string()),
            ("_rels/.rels", "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>".to_string()),
            ("xl/workbook.xml", "<?xml version=\"1.0\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets><sheet name=\"Participants\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>".to_string()),
            ("xl/_rels/workbook.xml.rels", "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>".to_string()),
            ("xl/worksheets/sheet1.xml", format!("<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{sheet}</sheetData></worksheet>")),
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
    fn a_sheet_becomes_csv_with_whole_numbers() {
        let bytes = xlsx(&[
            &["file", "id", "age"],
            &["Anna.m4a", "P1", "34"],
            &["ben, jr", "P2", "2.5"],
        ]);
        let csv = String::from_utf8(to_csv(&bytes).unwrap()).unwrap();
        assert_eq!(csv, "file,id,age\nAnna.m4a,P1,34\n\"ben, jr\",P2,2.5\n");
        assert!(is_spreadsheet(Path::new("people.XLSX")));
        assert!(to_csv(b"file,id\n")
            .unwrap_err()
            .contains("not a spreadsheet"));
    }

    /// The participants list and the coded quotes can be Excel sheets.
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
                &["P1", "The parcel came late.", "Delivery"],
            ]),
        )
        .unwrap();
        let ex = crate::tag::learn::read_examples(&quotes).unwrap();
        assert_eq!(ex.quotes.len(), 1);
        assert_eq!(ex.quotes[0].code, "Delivery");
        assert_eq!(ex.quotes[0].text, "The parcel came late.");

        let broken = dir.path().join("broken.xlsx");
        std::fs::write(&broken, b"PK\x03\x04oops").unwrap();
        let e = crate::analyze::read_participants(&broken)
            .unwrap_err()
            .to_string();
        assert!(e.contains("broken.xlsx") && e.contains("CSV"), "{e}");
    }
}
