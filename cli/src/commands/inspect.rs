//! `strongroom inspect`: the header of an encrypted file, without any key.
//! Nothing shown is authenticated (that needs the file key).

use super::{Ctx, Place};
use crate::output::{file_info_json, file_info_lines};
use anyhow::{Context, Result};
use serde_json::json;
use strongroom::file::{inspect_path, inspect_stream};

/// Runs `inspect`.
pub fn run(ctx: &Ctx<'_>, a: &crate::args::InspectArgs) -> Result<()> {
    let place = Place::from(&a.file);
    let info = match &place {
        Place::Path(p) if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) => {
            let file = std::fs::File::open(p).map_err(strongroom::Error::Io)?;
            inspect_stream(file).with_context(|| format!("cannot inspect {}", p.display()))?
        }
        Place::Path(p) => inspect_path(p).with_context(|| format!("cannot inspect {}", p.display()))?,
        Place::Std => inspect_stream(std::io::stdin().lock()).context("cannot inspect standard input")?,
    };
    let mut value = json!({"command": "inspect", "path": place.json()});
    if let (Some(obj), serde_json::Value::Object(fields)) = (value.as_object_mut(), file_info_json(&info)) {
        obj.extend(fields);
    }
    ctx.out.json(value);
    ctx.out.always(format!(
        "{}: strongroom encrypted file",
        place.display("standard input")
    ));
    for line in file_info_lines(&info, "  ") {
        ctx.out.always(line);
    }
    Ok(())
}
