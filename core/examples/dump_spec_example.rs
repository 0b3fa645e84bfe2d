//! Prints the docs/SPEC.md file example as hex, 32 bytes per line
//! (`cargo run -p strongroom --example dump_spec_example > testdata/file/example.hex`).

fn main() -> Result<(), strongroom::Error> {
    let bytes = strongroom::file::example::spec_example()?;
    for line in bytes.chunks(32) {
        println!("{}", line.iter().map(|b| format!("{b:02x}")).collect::<String>());
    }
    Ok(())
}
