//! docs/ERRORS.md is the error table of `strongroom::error::TABLE`, row for
//! row. Run with `STRONGROOM_BLESS=1` to rewrite the generated part after
//! adding a row.

use std::path::Path;
use strongroom::ErrorKind;
use strongroom::error::TABLE;

const BEGIN: &str = "<!-- BEGIN GENERATED TABLE -->\n";
const END: &str = "<!-- END GENERATED TABLE -->\n";

/// The generated part of docs/ERRORS.md.
fn render() -> String {
    let mut out = String::new();
    for kind in ErrorKind::ALL {
        out.push_str(&format!(
            "\n### {} {} (exit code {})\n\n| code | name | meaning | returned by |\n|---:|---|---|---|\n",
            kind.number(),
            kind.name(),
            kind.number()
        ));
        for row in TABLE.iter().filter(|r| r.kind == kind) {
            let by = if row.binding_only { "bindings only" } else { "core" };
            out.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                row.code, row.name, row.summary, by
            ));
        }
    }
    out.push('\n');
    out
}

#[test]
fn errors_md_matches_the_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ERRORS.md");
    let text = std::fs::read_to_string(&path).expect("docs/ERRORS.md");
    let start = text.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = text.find(END).expect("end marker");
    let expected = render();
    if text[start..end] != expected {
        if std::env::var_os("STRONGROOM_BLESS").is_some() {
            let updated = format!("{}{}{}", &text[..start], expected, &text[end..]);
            std::fs::write(&path, updated).expect("write docs/ERRORS.md");
        } else {
            panic!("docs/ERRORS.md is out of date; run this test with STRONGROOM_BLESS=1:\n{expected}");
        }
    }
}
