"""Keeps ``Fleet.status`` current: how many ``FleetMember``s carry the label
``examples.weft.dev/fleet: <fleet name>``, and how many of them have ``spec.healthy: true``.

Member changes reach their fleet through ``map_related``. The status is written only when it
differs, so one member update leads to at most one status write and no reconcile loop.
"""

import weft

FLEET_LABEL = "examples.weft.dev/fleet"
FLEETS = weft.Resource("examples.weft.dev", "v1", "Fleet", "fleets")
FLEET_MEMBERS = weft.Resource("examples.weft.dev", "v1", "FleetMember", "fleetmembers")

plugin = weft.Plugin(
    weft.Description("fleet-health-python", "0.1.0", FLEETS)
    .related(FLEET_MEMBERS, FLEET_LABEL)
    .permit(FLEET_MEMBERS, "list")
    .permit_status(FLEETS)
)


@plugin.reconcile
def reconcile(fleet: weft.Object, ctx: weft.Context[dict]) -> weft.Action:
    members = weft.Api(FLEET_MEMBERS, fleet.namespace).list(f"{FLEET_LABEL}={fleet.name}")
    status = {
        "totalMembers": len(members),
        "healthyMembers": sum(1 for m in members if m.get("spec", {}).get("healthy") is True),
        "observedGeneration": fleet.generation,
    }
    current = fleet.get("status") or {}
    if any(current.get(k) != v for k, v in status.items()):
        weft.Api(FLEETS, fleet.namespace).patch_status(fleet.name, status)


@plugin.map_related
def map_related(member: weft.Object, ctx: weft.Context[dict]) -> list[weft.ObjectRef]:
    fleet = member.labels.get(FLEET_LABEL)
    return [FLEETS.ref(member.namespace, fleet)] if fleet else []


Controller = plugin.controller()
