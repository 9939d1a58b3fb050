//! Finding master data by what a person types: a name or part of one.

/// What a typed name names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch<T> {
    NoOne,
    One(T),
    /// More than one: the first [`MAX_NAMED`] names, in name order, and how many there are.
    Several {
        names: Vec<String>,
        n_found: usize,
    },
}

/// How many names an ambiguous match lists.
pub const MAX_NAMED: usize = 3;

impl<T> NameMatch<T> {
    /// The match for `found`, the first (value, name) pairs in name order (at least
    /// [`MAX_NAMED`] + 1 of them when there are that many), of `n_found` in all.
    pub(crate) fn from_found(found: Vec<(T, String)>, n_found: usize) -> Self {
        let mut found = found.into_iter();
        match (found.next(), n_found) {
            (None, _) => Self::NoOne,
            (Some((value, _)), 1) => Self::One(value),
            (Some(first), _) => Self::Several {
                names: std::iter::once(first)
                    .chain(found)
                    .take(MAX_NAMED)
                    .map(|(_, name)| name)
                    .collect(),
                n_found,
            },
        }
    }
}

/// The first rows of `SELECT <value>, name, COUNT(*) OVER () ...`, enough for a
/// [`NameMatch`], and how many rows there are in all.
pub(crate) fn first_found<T>(
    statement: &mut rusqlite::CachedStatement<'_>,
    value: &str,
    read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<(Vec<(T, String)>, usize)> {
    let mut n_found = 0usize;
    let mut found = Vec::new();
    let mut rows = statement.query([value])?;
    while let Some(row) = rows.next()? {
        n_found = row.get::<_, i64>(2)?.try_into().unwrap_or(usize::MAX);
        found.push((read(row)?, row.get::<_, String>(1)?));
    }
    Ok((found, n_found))
}

/// The `LIMIT` that [`first_found`]'s query needs.
pub(crate) const FOUND_LIMIT: usize = MAX_NAMED + 1;

/// `text` as a `LIKE` pattern that matches it literally, with `\` as the escape character
/// (`... LIKE ?1 ESCAPE '\'`).
pub(crate) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(escape_like("Ana"), "Ana");
    }

    #[test]
    fn several_matches_name_the_first_three() {
        let found = ["Ana", "Anna", "Hanna", "Joanne"]
            .into_iter()
            .enumerate()
            .map(|(idx, name)| (idx, name.to_owned()))
            .collect();
        assert_eq!(
            NameMatch::from_found(found, 4),
            NameMatch::Several {
                names: vec!["Ana".into(), "Anna".into(), "Hanna".into()],
                n_found: 4
            }
        );
        assert_eq!(
            NameMatch::from_found(vec![(7, "Ana".into())], 1),
            NameMatch::One(7)
        );
        assert_eq!(NameMatch::<u8>::from_found(Vec::new(), 0), NameMatch::NoOne);
    }
}
