//! The ClusterRole aggregation controller (kube-controller-manager's
//! `clusterroleaggregation`): a ClusterRole with an `aggregationRule` gets the rules of every
//! ClusterRole its selectors match, in selector order then by name, without duplicates. Hand
//! edits to its rules are overwritten; chains (view → edit → admin) settle over passes.

use serde_json::Value;

use crate::controllers::server_update;
use crate::registry::GroupResource;
use crate::selector::{LabelSelector, label_selector_string};
use crate::store::{ObjectKey, State};

/// One pass over every aggregated ClusterRole; returns whether any changed.
pub fn aggregate(state: &mut State) -> bool {
    let gr = GroupResource::new("rbac.authorization.k8s.io", "clusterroles");
    let roles: Vec<(ObjectKey, std::sync::Arc<Value>)> =
        state.objects_of(&gr).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut changed = false;
    for (key, role) in roles.iter().filter(|(_, r)| r.get("aggregationRule").is_some_and(|a| !a.is_null())) {
        let mut collected: Vec<Value> = Vec::new();
        let selectors = role
            .pointer("/aggregationRule/clusterRoleSelectors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for selector in selectors {
            // An empty selector matches nothing here (the controller skips it).
            let Ok(selector) = LabelSelector::parse(&label_selector_string(&selector)) else { continue };
            if selector.is_empty() {
                continue;
            }
            for (other_key, other) in &roles {
                if other_key == key || !selector.matches(other) {
                    continue;
                }
                for rule in other.get("rules").and_then(Value::as_array).into_iter().flatten() {
                    if !collected.contains(rule) {
                        collected.push(rule.clone());
                    }
                }
            }
        }
        let current = role.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
        if current != collected {
            let mut new = (**role).clone();
            new["rules"] = Value::Array(collected);
            changed |= server_update(state, &gr, key, new, None, "clusterrole-aggregation-controller");
        }
    }
    changed
}
