//! kube-apiserver's `--token-auth-file`: CSV lines `token,user,uid[,"group1,group2"]`.

use std::path::Path;

/// One bearer token and the user it authenticates as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticToken {
    pub token: String,
    pub user: String,
    pub uid: String,
    pub groups: Vec<String>,
}

/// Why a token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file could not be read.
    #[error("cannot read token file '{path}'")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A record has fewer than the three required columns (kube-apiserver's message).
    #[error("token file '{path}' must have at least 3 columns (token, user name, user uid), found {found}")]
    TooFewColumns { path: String, found: usize },
    /// A quoted field is not closed.
    #[error("token file '{path}': unterminated quoted field on line {line}")]
    Unterminated { path: String, line: usize },
}

pub fn read_token_file(path: &Path) -> Result<Vec<StaticToken>, TokenFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TokenFileError::Read { path: shown.clone(), source })?;
    parse_token_file(&text, &shown)
}

/// Parses the file's text; `path` only names it in errors. Empty tokens are skipped and a later
/// duplicate token wins, as in kube-apiserver.
pub fn parse_token_file(text: &str, path: &str) -> Result<Vec<StaticToken>, TokenFileError> {
    let mut tokens: Vec<StaticToken> = Vec::new();
    for (index, record) in records(text).into_iter().enumerate() {
        let fields = record.map_err(|()| TokenFileError::Unterminated { path: path.to_owned(), line: index + 1 })?;
        if fields.len() < 3 {
            return Err(TokenFileError::TooFewColumns { path: path.to_owned(), found: fields.len() });
        }
        if fields[0].is_empty() {
            tracing::warn!(path, "skipped a token file line with an empty token");
            continue;
        }
        let groups = fields.get(3).filter(|g| !g.is_empty()).map(|g| g.split(',').map(str::to_owned).collect());
        let entry = StaticToken {
            token: fields[0].clone(),
            user: fields[1].clone(),
            uid: fields[2].clone(),
            groups: groups.unwrap_or_default(),
        };
        if let Some(existing) = tokens.iter_mut().find(|t| t.token == entry.token) {
            tracing::warn!(path, user = %entry.user, "duplicate token in token file; the later line wins");
            *existing = entry;
        } else {
            tokens.push(entry);
        }
    }
    Ok(tokens)
}

/// CSV records as Go's `encoding/csv` reads them: quoted fields may hold commas, newlines and
/// `""`; blank lines are skipped.
fn records(text: &str) -> Vec<Result<Vec<String>, ()>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let (mut fields, mut field, mut quoted, mut started) = (Vec::new(), String::new(), false, false);
        loop {
            match chars.next() {
                None if quoted => {
                    out.push(Err(()));
                    return out;
                }
                None => break,
                Some('"') if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                Some('"') if quoted => quoted = false,
                Some('"') if field.is_empty() => {
                    quoted = true;
                    started = true;
                }
                Some(',') if !quoted => {
                    fields.push(std::mem::take(&mut field));
                    started = true;
                }
                Some('\n') if !quoted => break,
                Some('\r') if !quoted && chars.peek() == Some(&'\n') => {}
                Some(c) => {
                    field.push(c);
                    started = true;
                }
            }
        }
        if started || !field.is_empty() {
            fields.push(field);
            out.push(Ok(fields));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_parses_like_kube_apiserver() {
        let text = "t1,bob,u1\n\n t2,alice,u2,\"dev,ops\"\n,nobody,u3\nt1,robert,u4\n";
        let tokens = parse_token_file(text, "f").unwrap();
        let summary: Vec<(&str, &str, Vec<String>)> =
            tokens.iter().map(|t| (t.token.as_str(), t.user.as_str(), t.groups.clone())).collect();
        assert_eq!(summary, [("t1", "robert", vec![]), (" t2", "alice", vec!["dev".to_owned(), "ops".to_owned()])]);
    }

    #[test]
    fn a_line_with_two_columns_is_refused() {
        let err = parse_token_file("t,bob\n", "/etc/tokens.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "token file '/etc/tokens.csv' must have at least 3 columns (token, user name, user uid), found 2"
        );
    }
}
