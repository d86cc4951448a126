// Keeps Fleet.status current: how many FleetMembers carry the label
// examples.weft.dev/fleet: <fleet name>, and how many of them have spec.healthy: true.
//
// Member changes reach their fleet through mapRelated. The status is written only when it
// differs, so one member update leads to at most one status write and no reconcile loop.
import { Api, definePlugin, describe, Resource } from '@weft/plugin';

const FLEET_LABEL = 'examples.weft.dev/fleet';
const Fleets = new Resource({ group: 'examples.weft.dev', version: 'v1', kind: 'Fleet', plural: 'fleets' });
const FleetMembers = new Resource({
  group: 'examples.weft.dev',
  version: 'v1',
  kind: 'FleetMember',
  plural: 'fleetmembers',
});

export const controller = definePlugin({
  description: describe('fleet-health-js', '0.1.0', Fleets)
    .related(FleetMembers, FLEET_LABEL)
    .permit(FleetMembers, 'list')
    .permitStatus(Fleets),

  reconcile(fleet) {
    const members = new Api(FleetMembers, fleet.namespace).list(`${FLEET_LABEL}=${fleet.name}`);
    const status = {
      totalMembers: members.length,
      healthyMembers: members.filter((m) => m.spec?.healthy === true).length,
      observedGeneration: fleet.generation,
    };
    const current = fleet.status ?? {};
    if (Object.keys(status).some((k) => current[k] !== status[k])) {
      new Api(Fleets, fleet.namespace).patchStatus(fleet.name, status);
    }
  },

  mapRelated(member) {
    const fleet = member.labels[FLEET_LABEL];
    return fleet ? [Fleets.ref(member.namespace, fleet)] : [];
  },
});
