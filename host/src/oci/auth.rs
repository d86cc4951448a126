//! Registry credentials from a `.dockerconfigjson` (a pull secret, or `~/.docker/config.json`),
//! and the `WWW-Authenticate` challenges registries answer with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::Error;

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

impl Credentials {
    /// The `Authorization` header value for Basic authentication.
    pub fn basic(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.username, self.password)))
    }
}

#[derive(serde::Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

/// The credentials `config` (the JSON of a `kubernetes.io/dockerconfigjson` Secret or a Docker
/// config file) holds for `registry`; `None` when it has no entry for it. Keys match by
/// `host[:port]` with any scheme and path stripped, and Docker Hub's names count as one.
pub fn credentials_for(config: &[u8], registry: &str) -> Result<Option<Credentials>, Error> {
    let config: DockerConfig = serde_json::from_slice(config)
        .map_err(|e| Error::Invalid(format!("not a .dockerconfigjson ({e}); expected {{\"auths\": {{…}}}}")))?;
    let wanted = normalise(registry);
    let Some(entry) = config.auths.iter().find(|(key, _)| normalise(key) == wanted).map(|(_, entry)| entry) else {
        return Ok(None);
    };
    let refused = |why: &str| Error::Unauthorized(format!("the credentials for {registry} {why}"));
    if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
        return Ok(Some(Credentials { username: username.clone(), password: password.clone() }));
    }
    if let Some(auth) = &entry.auth {
        let decoded = STANDARD.decode(auth.trim()).map_err(|_| refused("have an `auth` that is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| refused("have an `auth` that is not UTF-8"))?;
        let (username, password) = decoded.split_once(':').ok_or_else(|| refused("have an `auth` without ':'"))?;
        return Ok(Some(Credentials { username: username.to_owned(), password: password.to_owned() }));
    }
    if entry.identitytoken.is_some() {
        return Err(refused("are an identity token, which weft does not support; use a user name and password"));
    }
    Err(refused("have neither `auth` nor `username` and `password`"))
}

/// The credentials for `registry` in a Docker config file: `authfile`, else
/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; `None` when there is no such file
/// or it has no entry for the registry.
pub fn credentials_from_file(authfile: Option<&Path>, registry: &str) -> Result<Option<Credentials>, Error> {
    let default = || {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")))?;
        Some(dir.join("config.json")).filter(|path| path.exists())
    };
    let Some(path) = authfile.map(Path::to_owned).or_else(default) else { return Ok(None) };
    let bytes = std::fs::read(&path).map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))?;
    credentials_for(&bytes, registry).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

fn normalise(key: &str) -> &str {
    let key = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

/// A `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    /// Lowercase: `bearer` or `basic`.
    pub(super) scheme: String,
    pub(super) params: HashMap<String, String>,
}

impl Challenge {
    /// Parses `scheme key="value",…`; values may hold commas (`scope="repository:a:pull,push"`).
    pub(super) fn parse(header: &str) -> Option<Self> {
        let (scheme, mut rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        let mut params = HashMap::new();
        loop {
            rest = rest.trim_start_matches([' ', ',']);
            let Some((key, after)) = rest.split_once('=') else { break };
            let (value, after) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let end = quoted.find('"')?;
                    (&quoted[..end], &quoted[end + 1..])
                }
                None => after.split_at(after.find(',').unwrap_or(after.len())),
            };
            params.insert(key.trim().to_ascii_lowercase(), value.to_owned());
            rest = after;
        }
        (!scheme.is_empty()).then(|| Self { scheme: scheme.to_ascii_lowercase(), params })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_secret_yields_the_credentials_of_its_registry() {
        let config = br#"{"auths":{"https://127.0.0.1:5000/v2/":{"auth":"d2VmdDpzM2NyZXQ="},
            "index.docker.io":{"username":"u","password":"p"}}}"#;
        let found = credentials_for(config, "127.0.0.1:5000").expect("parses").expect("an entry");
        assert_eq!((found.username.as_str(), found.password.as_str()), ("weft", "s3cret"));
        assert_eq!(found.basic(), "Basic d2VmdDpzM2NyZXQ=");
        assert_eq!(credentials_for(config, "docker.io").expect("parses").expect("docker hub").username, "u");
        assert_eq!(credentials_for(config, "ghcr.io").expect("parses"), None);
        assert!(credentials_for(br#"{"auths": 3}"#, "ghcr.io").is_err());
    }

    #[test]
    fn challenges_keep_commas_inside_quotes() {
        let header = r#"Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull,push",error="insufficient_scope""#;
        let challenge = Challenge::parse(header).expect("parses");
        assert_eq!(challenge.scheme, "bearer");
        assert_eq!(challenge.params["scope"], "repository:a/b:pull,push");
        assert_eq!(challenge.params["realm"], "http://127.0.0.1:1/token");
        assert_eq!(challenge.params["error"], "insufficient_scope");
        assert_eq!(Challenge::parse(r#"Basic realm="weft-basic""#).expect("parses").scheme, "basic");
    }
}
