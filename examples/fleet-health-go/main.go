// Command fleet-health-go keeps Fleet.status current: how many FleetMembers carry the label
// examples.weft.dev/fleet: <fleet name>, and how many of them have spec.healthy: true.
//
// Member changes reach their fleet through MapRelated. The status is written only when it
// differs, so one member update leads to at most one status write and no reconcile loop.
package main

import (
	weft "github.com/weft-dev/weft/plugin-sdk/go"
)

const fleetLabel = "examples.weft.dev/fleet"

type Fleet struct {
	weft.TypeMeta
	weft.ObjectMeta `json:"metadata"`
	Status          *FleetStatus `json:"status,omitempty"`
}

type FleetStatus struct {
	TotalMembers       int   `json:"totalMembers"`
	HealthyMembers     int   `json:"healthyMembers"`
	ObservedGeneration int64 `json:"observedGeneration"`
}

type FleetMember struct {
	weft.TypeMeta
	weft.ObjectMeta `json:"metadata"`
	Spec            struct {
		Healthy bool `json:"healthy"`
	} `json:"spec"`
}

var (
	fleets       = weft.Namespaced[Fleet]("examples.weft.dev", "v1", "Fleet", "fleets")
	fleetMembers = weft.Namespaced[FleetMember]("examples.weft.dev", "v1", "FleetMember", "fleetmembers")
)

func init() {
	weft.Export(weft.Plugin[Fleet, struct{}]{
		Describe: weft.Describe("fleet-health-go", "0.1.0", fleets).
			Related(fleetMembers, fleetLabel).
			Permit(fleetMembers, "list").
			PermitStatus(fleets),
		Reconcile:  reconcile,
		MapRelated: mapRelated,
	})
}

func reconcile(_ *weft.Context[struct{}], fleet *Fleet) (weft.Action, error) {
	members, err := fleetMembers.In(fleet.Namespace).List(fleetLabel + "=" + fleet.Name)
	if err != nil {
		return weft.Done, err
	}
	status := FleetStatus{TotalMembers: len(members), ObservedGeneration: fleet.Generation}
	for _, m := range members {
		if m.Spec.Healthy {
			status.HealthyMembers++
		}
	}
	if fleet.Status == nil || *fleet.Status != status {
		_, err = fleets.In(fleet.Namespace).PatchStatus(fleet.Name, status)
	}
	return weft.Done, err
}

func mapRelated(_ *weft.Context[struct{}], related weft.Related) ([]weft.ObjectRef, error) {
	var member FleetMember
	if err := related.Decode(&member); err != nil {
		return nil, err
	}
	fleet, ok := member.Labels[fleetLabel]
	if !ok {
		return nil, nil
	}
	return []weft.ObjectRef{fleets.Ref(member.Namespace, fleet)}, nil
}

// main is never called: the host calls the exports that weft.Export registers.
func main() {}
