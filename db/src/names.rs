//! Table names as the caller writes them: `table`, or schema-qualified
//! `schema.table` (a PostgreSQL schema, a MySQL database, a SQLite attached
//! database). A part may be quoted with `"` (or `` ` ``), doubling the
//! quote inside, to hold a dot or keep its case: `"odd.name"`.

use crate::error::{Error, Result};

/// A table name split into its schema (if given) and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    /// The schema or database, when the name was qualified.
    pub schema: Option<String>,
    /// The table.
    pub name: String,
}

impl TableName {
    /// Parses `schema.table` or `table`.
    pub fn parse(text: &str) -> Result<TableName> {
        let bad = |why: &str| Error::InvalidArgument(format!("table name {text:?}: {why}"));
        let mut parts = Vec::new();
        let mut chars = text.chars().peekable();
        loop {
            let mut part = String::new();
            match chars.peek().copied() {
                Some(q @ ('"' | '`')) => {
                    chars.next();
                    loop {
                        match chars.next() {
                            Some(c) if c == q && chars.peek() == Some(&q) => {
                                chars.next();
                                part.push(q);
                            }
                            Some(c) if c == q => break,
                            Some(c) => part.push(c),
                            None => return Err(bad("an unclosed quote")),
                        }
                    }
                }
                _ => {
                    while let Some(&c) = chars.peek() {
                        if c == '.' {
                            break;
                        }
                        if c == '"' || c == '`' {
                            return Err(bad("a quote inside a name part"));
                        }
                        part.push(c);
                        chars.next();
                    }
                }
            }
            if part.is_empty() {
                return Err(bad("an empty part"));
            }
            parts.push(part);
            match chars.next() {
                None => break,
                Some('.') => continue,
                Some(_) => return Err(bad("text after a quoted part")),
            }
        }
        match parts.len() {
            1 => Ok(TableName {
                schema: None,
                name: parts.pop().expect("one part"),
            }),
            2 => {
                let name = parts.pop().expect("two parts");
                Ok(TableName {
                    schema: parts.pop(),
                    name,
                })
            }
            _ => Err(bad("more than schema.table")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_qualified_and_quoted_names() {
        let t = TableName::parse("people").unwrap();
        assert_eq!((t.schema, t.name.as_str()), (None, "people"));
        let t = TableName::parse("hr.people").unwrap();
        assert_eq!((t.schema.as_deref(), t.name.as_str()), (Some("hr"), "people"));
        let t = TableName::parse("\"my.schema\".\"Pe\"\"ople\"").unwrap();
        assert_eq!(
            (t.schema.as_deref(), t.name.as_str()),
            (Some("my.schema"), "Pe\"ople")
        );
        let t = TableName::parse("`db`.t").unwrap();
        assert_eq!((t.schema.as_deref(), t.name.as_str()), (Some("db"), "t"));
        for bad in ["", "a.", ".a", "a.b.c", "\"a", "a\"b", "\"a\"b"] {
            assert!(
                matches!(TableName::parse(bad), Err(Error::InvalidArgument(_))),
                "{bad:?}"
            );
        }
    }
}
