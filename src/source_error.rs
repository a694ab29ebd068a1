//! Errors in hand-edited TOML files (hall, layout, hub config), reported as file:line:column.

use std::fmt;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

/// A problem in a text file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SourceError {
    pub file: String,
    /// 1-based; `None` when the problem has no single place (e.g. an empty list).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found in one file, each with its place; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SourceErrors(pub Vec<SourceError>);

impl fmt::Display for SourceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, err) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{err}")?;
        }
        Ok(())
    }
}

impl SourceErrors {
    /// The file could not be read at all.
    pub fn unreadable(file: &str, error: &std::io::Error) -> SourceErrors {
        SourceErrors(vec![SourceError {
            file: file.to_string(),
            line: None,
            column: None,
            message: format!("cannot read: {error}"),
        }])
    }
}

/// One step into a TOML document: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStep<'a> {
    Key(&'a str),
    Index(usize),
}

/// Parses `src` into `T`; a syntax or type error carries its line and column.
pub fn parse_toml<T: DeserializeOwned>(file: &str, src: &str) -> Result<T, SourceError> {
    toml::from_str(src).map_err(|err| {
        let (line, column) = match err.span() {
            Some(span) => {
                let (line, column) = line_column(src, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        SourceError {
            file: file.to_string(),
            line,
            column,
            // toml's message repeats the source snippet over several lines; keep the first.
            message: err.message().lines().next().unwrap_or("invalid TOML").trim().to_string(),
        }
    })
}

/// Builds an error pointing at the value found by `path` (or the file, if not found).
pub fn error_at(file: &str, src: &str, path: &[PathStep<'_>], message: impl Into<String>) -> SourceError {
    let at = locate(src, path).map(|offset| line_column(src, offset));
    SourceError {
        file: file.to_string(),
        line: at.map(|(line, _)| line),
        column: at.map(|(_, column)| column),
        message: message.into(),
    }
}

/// Byte offset of the value at `path`, if the document parses and has it.
pub fn locate(src: &str, path: &[PathStep<'_>]) -> Option<usize> {
    let root = DeTable::parse(src).ok()?;
    let mut offset = root.span().start;
    let mut table = Some(root.get_ref());
    let mut array: Option<&toml::de::DeArray<'_>> = None;
    for step in path {
        let value = match *step {
            PathStep::Key(key) => table?.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v)?,
            PathStep::Index(i) => array?.get(i)?,
        };
        offset = value.span().start;
        (table, array) = match value.get_ref() {
            DeValue::Table(t) => (Some(t), None),
            DeValue::Array(a) => (None, Some(a)),
            _ => (None, None),
        };
    }
    Some(offset)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: String,
        size: u32,
    }

    const DOC: &str = "name = \"x\"\n\n[[items]]\nid = \"a\"\nsize = 1\n\n[[items]]\nid = \"b\"\nsize = 2\n";

    #[test]
    fn type_errors_point_at_the_value() {
        let src = DOC.replace("size = 2", "size = \"two\"");
        let err = parse_toml::<Doc>("doc.toml", &src).unwrap_err();
        assert_eq!((err.line, err.column), (Some(9), Some(8)), "{err}");
        assert!(err.to_string().starts_with("doc.toml:9:8: "), "{err}");
    }

    #[test]
    fn locate_finds_array_items_and_keys() {
        let offset = locate(DOC, &[PathStep::Key("items"), PathStep::Index(1), PathStep::Key("id")]).unwrap();
        assert_eq!(line_column(DOC, offset), (8, 6));
        assert_eq!(locate(DOC, &[PathStep::Key("missing")]), None);
        let err = error_at("doc.toml", DOC, &[PathStep::Key("name")], "bad name");
        assert_eq!(err.to_string(), "doc.toml:1:8: bad name");
    }
}
