//! `registry/repository:tag` and `registry/repository@sha256:…` references.

use std::fmt;
use std::str::FromStr;

use super::Error;

/// A module's place in a registry. The registry is always explicit: a name without one would
/// silently mean Docker Hub.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `HOST` or `HOST:PORT`, as written.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

impl Reference {
    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn target(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or_default()
    }

    /// The same repository pinned to `digest`, without a tag: what ran, exactly.
    pub fn pinned(&self, digest: &str) -> Self {
        Self { tag: None, digest: Some(digest.to_owned()), ..self.clone() }
    }

    /// The same repository at another tag (a signature's `sha256-….sig`).
    pub fn at_tag(&self, tag: &str) -> Self {
        Self { tag: Some(tag.to_owned()), digest: None, ..self.clone() }
    }

    /// The host to send requests to: Docker Hub's API lives apart from its name.
    pub fn endpoint(&self) -> &str {
        match self.registry.as_str() {
            "docker.io" | "index.docker.io" => "registry-1.docker.io",
            other => other,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::Invalid(format!("OCI reference {s:?}: {why}"));
        let s = s.trim();
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (s, None),
        };
        if let Some(digest) = digest {
            let hex = digest.strip_prefix("sha256:").ok_or_else(|| invalid("the digest must be sha256:<hex>"))?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(invalid("the digest must be sha256: and 64 lowercase hex digits"));
            }
        }
        let (registry, path) = rest.split_once('/').ok_or_else(|| invalid("it needs a registry host"))?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(invalid("it must start with a registry host (with a dot or a port, or localhost)"));
        }
        // A colon after the last slash starts the tag; one before it is part of the registry.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
            _ => (path, None),
        };
        if tag.is_none() && digest.is_none() {
            return Err(invalid("it needs a :tag or an @sha256: digest"));
        }
        if let Some(tag) = tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-'])
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !valid {
                return Err(invalid("the tag must be letters, digits, '_', '.' or '-' (at most 128)"));
            }
        }
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
        };
        if !repository.split('/').all(component_ok) {
            return Err(invalid("the repository must be lowercase path components"));
        }
        Ok(Self {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const HEX: &str = "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476";

    #[rstest]
    #[case("127.0.0.1:5000/plugins/hello:0.1.0", "127.0.0.1:5000", "plugins/hello", Some("0.1.0"), false)]
    #[case("ghcr.io/weft-dev/hello@sha256:HEX", "ghcr.io", "weft-dev/hello", None, true)]
    #[case("localhost/a/b/c:v1@sha256:HEX", "localhost", "a/b/c", Some("v1"), true)]
    fn references_parse_into_registry_repository_tag_and_digest(
        #[case] text: &str,
        #[case] registry: &str,
        #[case] repository: &str,
        #[case] tag: Option<&str>,
        #[case] pinned: bool,
    ) {
        let text = text.replace("HEX", HEX);
        let reference: Reference = text.parse().expect("parses");
        assert_eq!(reference.registry, registry);
        assert_eq!(reference.repository, repository);
        assert_eq!(reference.tag.as_deref(), tag);
        assert_eq!(reference.digest.is_some(), pinned);
        assert_eq!(reference.to_string(), text, "prints as written");
    }

    #[rstest]
    #[case("hello:0.1.0", "registry host")]
    #[case("library/hello:1", "registry host")]
    #[case("ghcr.io/hello", "needs a :tag")]
    #[case("ghcr.io/Hello:1", "lowercase")]
    #[case("ghcr.io/hello@sha256:abc", "64 lowercase hex")]
    #[case("ghcr.io/hello:-x", "the tag")]
    fn bad_references_say_what_is_wrong(#[case] text: &str, #[case] why: &str) {
        let error = text.parse::<Reference>().expect_err("refused").to_string();
        assert!(error.contains(why), "{error}");
    }

    #[test]
    fn a_pinned_reference_drops_the_tag_and_docker_hub_has_its_own_endpoint() {
        let reference: Reference = "docker.io/weft/hello:1".parse().expect("parses");
        let digest = format!("sha256:{HEX}");
        assert_eq!(reference.pinned(&digest).to_string(), format!("docker.io/weft/hello@{digest}"));
        assert_eq!(reference.endpoint(), "registry-1.docker.io");
    }
}
