//! Regenerates the testkit folder: `make-testkit <empty or new folder>`.

use std::path::PathBuf;

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: make-testkit <folder>   (e.g. testdata/testkit)");
        std::process::exit(2);
    };
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        eprintln!(
            "make-testkit: {} exists and is not empty; remove it first",
            dir.display()
        );
        std::process::exit(2);
    }
    let result = std::fs::create_dir_all(&dir)
        .map_err(strongroom::Error::from)
        .and_then(|()| strongroom_testkit::generate(&dir));
    match result {
        Ok(m) => println!("wrote {} cases to {}", m.cases.len(), dir.display()),
        Err(e) => {
            eprintln!("make-testkit: {e}");
            std::process::exit(1);
        }
    }
}
