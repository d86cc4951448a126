//! The namespace scopes a plugin watches and reads through: every namespace, or each one its
//! Plugin lists.

use super::informer::InformerKey;
use crate::runtime::ApiResource;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Option<String>>);

impl Scopes {
    /// `spec.namespaces`: empty means every namespace.
    pub fn of(namespaces: &[String]) -> Self {
        if namespaces.is_empty() { Self(vec![None]) } else { Self(namespaces.iter().cloned().map(Some).collect()) }
    }

    /// The informers that cover `api` in these scopes (one for a cluster-scoped resource).
    pub fn informer_keys(&self, api: &ApiResource) -> Vec<InformerKey> {
        let mut keys: Vec<InformerKey> = self
            .0
            .iter()
            .map(|namespace| InformerKey { api: api.clone(), namespace: namespace.clone().filter(|_| api.namespaced) })
            .collect();
        keys.dedup();
        keys
    }

    /// The informer keys whose scope covers reads in `namespace` (`None`: across all namespaces).
    pub fn covering(&self, api: &ApiResource, namespace: Option<&str>) -> Vec<InformerKey> {
        self.informer_keys(api)
            .into_iter()
            .filter(|key| key.namespace.is_none() || (namespace.is_some() && key.namespace.as_deref() == namespace))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(namespaced: bool) -> ApiResource {
        ApiResource {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced,
        }
    }

    #[test]
    fn namespaced_resources_get_one_informer_per_namespace_and_cluster_ones_a_single_one() {
        let scopes = Scopes::of(&["a".to_owned(), "b".to_owned()]);
        assert_eq!(scopes.informer_keys(&api(true)).len(), 2);
        let cluster = scopes.informer_keys(&api(false));
        assert_eq!(cluster, [InformerKey { api: api(false), namespace: None }]);
        assert_eq!(Scopes::of(&[]).informer_keys(&api(true)), [InformerKey { api: api(true), namespace: None }]);
    }

    #[test]
    fn reads_are_covered_by_their_namespace_or_by_an_all_namespaces_scope() {
        let scopes = Scopes::of(&["a".to_owned()]);
        assert_eq!(scopes.covering(&api(true), Some("a")).len(), 1);
        assert!(scopes.covering(&api(true), Some("b")).is_empty());
        assert!(scopes.covering(&api(true), None).is_empty(), "a list across namespaces is not covered");
        assert_eq!(Scopes::of(&[]).covering(&api(true), None).len(), 1);
    }
}
