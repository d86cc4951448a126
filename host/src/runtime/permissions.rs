//! What a plugin may do: RBAC-style rules, checked on every cluster call.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::bindings::PolicyRule;

/// One grant: verbs on resources in API groups, optionally only in some namespaces. `*` matches
/// anything in each list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub api_groups: Vec<String>,
    /// Plural resource names; `<plural>/status` for the status subresource.
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    /// Namespaces the rule applies in; empty for all (and for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// One call a plugin wants to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access<'a> {
    pub group: &'a str,
    pub resource: &'a str,
    pub verb: &'a str,
    /// `None` for cluster-scoped objects and for lists across all namespaces.
    pub namespace: Option<&'a str>,
}

impl fmt::Display for Access<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() { "core" } else { self.group };
        write!(f, "{} {} (group {group})", self.verb, self.resource)?;
        match self.namespace {
            Some(ns) => write!(f, " in namespace {ns}"),
            None => Ok(()),
        }
    }
}

/// The rules granted to one plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    rules: Vec<Rule>,
}

impl Grants {
    pub fn new(rules: Vec<Rule>) -> Self {
        Self { rules }
    }

    /// Exactly what a plugin declared in `describe`, in every namespace.
    pub fn declared(rules: &[PolicyRule]) -> Self {
        Self::new(rules.iter().map(Rule::from).collect())
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn allows(&self, access: Access<'_>) -> bool {
        self.rules.iter().any(|rule| rule.allows(access))
    }

    /// The declared rules' accesses that these grants do not cover, one entry per verb and
    /// resource, for a message that names exactly what is missing. With `namespaces`, an access
    /// needs to be granted in each of them; without, everywhere.
    pub fn missing(&self, needed: &[PolicyRule], namespaces: &[String]) -> Vec<String> {
        let scopes: Vec<Option<&str>> =
            if namespaces.is_empty() { vec![None] } else { namespaces.iter().map(|ns| Some(ns.as_str())).collect() };
        let mut missing = Vec::new();
        for rule in needed {
            for group in &rule.api_groups {
                for resource in &rule.resources {
                    for verb in &rule.verbs {
                        for namespace in &scopes {
                            let access = Access { group, resource, verb, namespace: *namespace };
                            let granted = self.rules.iter().any(|r| match namespace {
                                None => r.namespaces.is_empty() && r.allows(access),
                                Some(_) => r.allows(access),
                            });
                            if !granted {
                                missing.push(access.to_string());
                            }
                        }
                    }
                }
            }
        }
        missing
    }
}

impl Rule {
    fn allows(&self, access: Access<'_>) -> bool {
        let any = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        let namespace_ok = self.namespaces.is_empty()
            || access.namespace.is_some_and(|ns| self.namespaces.iter().any(|allowed| allowed == ns));
        any(&self.api_groups, access.group)
            && any(&self.resources, access.resource)
            && any(&self.verbs, access.verb)
            && namespace_ok
    }
}

impl From<&PolicyRule> for Rule {
    fn from(rule: &PolicyRule) -> Self {
        Self {
            api_groups: rule.api_groups.clone(),
            resources: rule.resources.clone(),
            verbs: rule.verbs.clone(),
            namespaces: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], namespaces: &[&str]) -> Rule {
        let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Rule {
            api_groups: owned(groups),
            resources: owned(resources),
            verbs: owned(verbs),
            namespaces: owned(namespaces),
        }
    }

    fn access<'a>(group: &'a str, resource: &'a str, verb: &'a str, namespace: Option<&'a str>) -> Access<'a> {
        Access { group, resource, verb, namespace }
    }

    #[test]
    fn rules_match_group_resource_verb_and_namespace() {
        let grants = Grants::new(vec![
            rule(&[""], &["configmaps"], &["get", "list"], &[]),
            rule(&["apps"], &["deployments"], &["*"], &["web"]),
        ]);
        assert!(grants.allows(access("", "configmaps", "get", Some("a"))));
        assert!(grants.allows(access("", "configmaps", "list", None)));
        assert!(!grants.allows(access("", "configmaps", "delete", Some("a"))));
        assert!(!grants.allows(access("", "secrets", "get", Some("a"))));
        assert!(grants.allows(access("apps", "deployments", "patch", Some("web"))));
        assert!(!grants.allows(access("apps", "deployments", "patch", Some("db"))));
        assert!(
            !grants.allows(access("apps", "deployments", "list", None)),
            "a namespaced grant is not a cluster-wide one"
        );
        assert!(!grants.allows(access("", "configmaps/status", "get", Some("a"))), "subresources are separate");
    }

    #[test]
    fn missing_names_each_uncovered_verb() {
        let grants = Grants::new(vec![rule(&[""], &["configmaps"], &["get"], &[])]);
        let needed = vec![PolicyRule {
            api_groups: vec![String::new()],
            resources: vec!["configmaps".into()],
            verbs: vec!["get".into(), "patch".into()],
        }];
        assert_eq!(grants.missing(&needed, &[]), vec!["patch configmaps (group core)".to_owned()]);
        assert!(Grants::declared(&needed).missing(&needed, &[]).is_empty());

        // Grants limited to namespaces cover a plugin that only watches those namespaces.
        let team = Grants::new(vec![rule(&[""], &["configmaps"], &["get", "patch"], &["team"])]);
        assert!(team.missing(&needed, &["team".to_owned()]).is_empty());
        assert_eq!(team.missing(&needed, &[]).len(), 2, "but not a plugin that watches everywhere");
        assert_eq!(
            team.missing(&needed, &["team".to_owned(), "other".to_owned()]),
            vec!["get configmaps (group core) in namespace other", "patch configmaps (group core) in namespace other"]
        );
    }
}
