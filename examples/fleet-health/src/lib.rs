//! Keeps `Fleet.status` current: how many `FleetMember`s carry the label
//! `examples.weft.dev/fleet: <fleet name>`, and how many of them have `spec.healthy: true`.
//!
//! Member changes reach their fleet through `map_related`. The status is written only when it
//! differs, so one member update leads to at most one status write and no reconcile loop.

use serde::{Deserialize, Serialize};
use weft_plugin::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use weft_plugin::{Action, Api, Context, Description, Mapping, Object, ObjectRef, Reconciler, Related, Result};

const FLEET_LABEL: &str = "examples.weft.dev/fleet";

#[derive(Serialize, Deserialize, Default)]
struct Fleet {
    metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<FleetStatus>,
}

#[derive(Serialize, Deserialize, Default, PartialEq, Eq, Debug)]
#[serde(rename_all = "camelCase")]
struct FleetStatus {
    total_members: u32,
    healthy_members: u32,
    observed_generation: i64,
}

weft_plugin::resource!(
    Fleet,
    group = "examples.weft.dev",
    version = "v1",
    kind = "Fleet",
    plural = "fleets",
    namespaced
);

#[derive(Serialize, Deserialize, Default)]
struct FleetMember {
    metadata: ObjectMeta,
    #[serde(default)]
    spec: MemberSpec,
}

#[derive(Serialize, Deserialize, Default)]
struct MemberSpec {
    #[serde(default)]
    healthy: bool,
}

weft_plugin::resource!(
    FleetMember,
    group = "examples.weft.dev",
    version = "v1",
    kind = "FleetMember",
    plural = "fleetmembers",
    namespaced
);

struct FleetHealth;

impl Reconciler for FleetHealth {
    type Primary = Fleet;
    type Config = ();

    fn describe() -> Description {
        Description::new("fleet-health", env!("CARGO_PKG_VERSION"))
            .related::<FleetMember>(Some(FLEET_LABEL), Mapping::ByFunction)
            .permit::<FleetMember>(&["list"])
            .permit_status::<Fleet>()
    }

    fn reconcile(fleet: Fleet, _ctx: &Context<()>) -> Result<Action> {
        let namespace = fleet.namespace().unwrap_or_default();
        let selector = format!("{FLEET_LABEL}={}", fleet.name());
        let members = Api::<FleetMember>::namespaced(namespace).list(Some(&selector))?;
        let status = FleetStatus {
            total_members: count(members.len()),
            healthy_members: count(members.iter().filter(|m| m.spec.healthy).count()),
            observed_generation: fleet.metadata.generation.unwrap_or_default(),
        };
        if fleet.status.as_ref() != Some(&status) {
            Api::<Fleet>::namespaced(namespace).patch_status(fleet.name(), &status)?;
        }
        Ok(Action::Done)
    }

    fn map_related(related: Related, _ctx: &Context<()>) -> Result<Vec<ObjectRef>> {
        let member: FleetMember = related.parse()?;
        let fleet = member.metadata.labels.as_ref().and_then(|l| l.get(FLEET_LABEL));
        Ok(fleet.map(|name| ObjectRef::new::<Fleet>(member.namespace(), name)).into_iter().collect())
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

weft_plugin::export!(FleetHealth);
