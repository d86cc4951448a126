//! Service defaults and what the service REST storage allocates: cluster IPs from the service
//! CIDR (kind's and kubeadm's `10.96.0.0/12`), node ports from 30000-32767, the IP family fields,
//! and `status.loadBalancer`. Allocations are immutable: an update without them keeps the old.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::{items_mut, set_default};
use crate::error::{ApiError, Cause, Result};

/// `10.96.0.0/12`; `.0` is the network and `10.96.0.1` belongs to `default/kubernetes`.
const CIDR_START: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const CIDR_SIZE: u32 = 1 << 20;
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// What other Services hold.
#[derive(Debug, Default)]
pub struct Allocated {
    pub ips: HashSet<String>,
    pub node_ports: HashSet<i64>,
}

impl Allocated {
    pub fn of<'a>(services: impl Iterator<Item = &'a Value>) -> Self {
        let mut held = Self::default();
        for svc in services {
            for ip in svc.pointer("/spec/clusterIPs").and_then(Value::as_array).into_iter().flatten() {
                held.ips.insert(ip.as_str().unwrap_or_default().to_owned());
            }
            for port in svc.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten() {
                if let Some(n) = port.get("nodePort").and_then(Value::as_i64) {
                    held.node_ports.insert(n);
                }
            }
        }
        held
    }
}

/// Declarative defaults, then allocation (on create) or the old allocation (on update).
pub fn service(obj: &mut Value, old: Option<&Value>, held: &Allocated, name: &str) -> Result<()> {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else { return Ok(()) };
    set_default(spec, "type", json!("ClusterIP"));
    let kind = spec.get("type").and_then(Value::as_str).unwrap_or("ClusterIP").to_owned();
    set_default(spec, "sessionAffinity", json!("None"));
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP") {
        let config = spec.entry("sessionAffinityConfig").or_insert_with(|| json!({}));
        if config.pointer("/clientIP/timeoutSeconds").is_none() {
            config["clientIP"] = json!({"timeoutSeconds": 10800});
        }
    } else {
        spec.remove("sessionAffinityConfig");
    }
    for port in items_mut(spec, "ports") {
        if let Some(p) = port.as_object_mut() {
            set_default(p, "protocol", json!("TCP"));
            let target_unset = p.get("targetPort").is_none_or(|t| t == &json!(0) || t == &json!(""));
            if target_unset && let Some(n) = p.get("port").cloned() {
                p.insert("targetPort".into(), n);
            }
        }
    }
    if kind != "ExternalName" {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(old_spec) = old.and_then(|o| o.get("spec")).and_then(Value::as_object) {
        for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if let Some(v) = old_spec.get(field) {
                set_default(spec, field, v.clone());
            }
        }
    } else if kind != "ExternalName" {
        allocate_ips(spec, held, name)?;
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        allocate_node_ports(spec, held, old.and_then(|o| o.pointer("/spec/ports")));
    }
    if obj.get("status").is_none_or(|s| s.get("loadBalancer").is_none()) {
        obj["status"] = json!({"loadBalancer": {}});
    }
    Ok(())
}

fn allocate_ips(spec: &mut Map<String, Value>, held: &Allocated, name: &str) -> Result<()> {
    let given = spec.get("clusterIP").and_then(Value::as_str).filter(|ip| !ip.is_empty()).map(str::to_owned);
    let headless = given.as_deref() == Some("None");
    let selectorless = spec.get("selector").and_then(Value::as_object).is_none_or(Map::is_empty);
    let policy = if headless && selectorless { "RequireDualStack" } else { "SingleStack" };
    set_default(spec, "ipFamilyPolicy", json!(policy));
    let dual = headless && selectorless && spec.get("ipFamilyPolicy").and_then(Value::as_str) != Some("SingleStack");
    set_default(spec, "ipFamilies", if dual { json!(["IPv4", "IPv6"]) } else { json!(["IPv4"]) });
    let ip = match given {
        Some(ip) if ip == "None" => ip,
        Some(ip) => {
            let fail = |why: &str| {
                ApiError::invalid(
                    "Service",
                    "",
                    name,
                    vec![Cause::new(
                        "FieldValueInvalid",
                        "spec.clusterIPs",
                        format!("Invalid value: [\"{ip}\"]: failed to allocate IP {ip}: {why}"),
                    )],
                )
            };
            let parsed: Ipv4Addr = ip.parse().map_err(|_| fail("not a valid IP"))?;
            let offset = u32::from(parsed).wrapping_sub(CIDR_START);
            if offset == 0 || offset >= CIDR_SIZE - 1 {
                return Err(fail("the provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12"));
            }
            if held.ips.contains(&ip) || offset == 1 {
                return Err(fail("provided IP is already allocated"));
            }
            ip
        }
        None => (2..CIDR_SIZE - 1)
            .map(|offset| Ipv4Addr::from(CIDR_START + offset).to_string())
            .find(|ip| !held.ips.contains(ip))
            .unwrap_or_default(),
    };
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    Ok(())
}

fn allocate_node_ports(spec: &mut Map<String, Value>, held: &Allocated, old_ports: Option<&Value>) {
    let mut taken = held.node_ports.clone();
    for port in items_mut(spec, "ports") {
        if port.get("nodePort").and_then(Value::as_i64).is_some_and(|n| n != 0) {
            continue;
        }
        let kept =
            old_ports.and_then(Value::as_array).into_iter().flatten().find(|o| o.get("port") == port.get("port"));
        let number = kept
            .and_then(|o| o.get("nodePort").and_then(Value::as_i64))
            .or_else(|| NODE_PORTS.clone().find(|n| !taken.contains(n)));
        if let Some(n) = number {
            taken.insert(n);
            port["nodePort"] = json!(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_ip_service_gets_what_a_real_cluster_fills_in() {
        let mut svc = json!({"spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}});
        service(&mut svc, None, &Allocated::default(), "a").unwrap();
        assert_eq!(
            svc["spec"],
            json!({"selector": {"app": "a"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "type": "ClusterIP",
                "sessionAffinity": "None", "internalTrafficPolicy": "Cluster", "ipFamilyPolicy": "SingleStack",
                "ipFamilies": ["IPv4"], "clusterIP": "10.96.0.2", "clusterIPs": ["10.96.0.2"]})
        );
        assert_eq!(svc["status"], json!({"loadBalancer": {}}));
    }

    #[test]
    fn a_taken_cluster_ip_is_refused() {
        let held = Allocated { ips: ["10.96.0.9".to_owned()].into(), ..Allocated::default() };
        let mut svc = json!({"spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 80}]}});
        let err = service(&mut svc, None, &held, "b").unwrap_err();
        assert!(err.to_string().contains("failed to allocate IP 10.96.0.9: provided IP is already allocated"), "{err}");
    }
}
