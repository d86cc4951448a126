/** What a plugin declares about itself: what it reconciles and watches, and what it may call. */

import { toWitResource } from './objects.js';

function watch(resource, labelSelector) {
  return { api: toWitResource(resource), labelSelector: labelSelector || undefined };
}

/**
 * Built with chained calls; the host reads it once per loaded module:
 *
 *     describe('hello-js', '0.1.0', ConfigMaps).selector('weft.dev/hello').permit(ConfigMaps, 'patch')
 */
export class Description {
  /**
   * @param {string} name
   * @param {string} version
   * @param {import('./objects.js').Resource} primary the objects the plugin reconciles
   */
  constructor(name, version, primary) {
    this.primary = primary;
    this.wit = {
      name,
      version,
      primary: watch(primary),
      owns: [],
      related: [],
      permissions: [],
      finalizer: undefined,
      reconcileOnStatusChange: false,
    };
  }

  /** Reconcile only primaries matching a label selector such as `app=web`. */
  selector(labelSelector) {
    this.wit.primary.labelSelector = labelSelector;
    return this;
  }

  /** Watch objects the plugin creates with an ownerReference to a primary; their changes reconcile the owner. */
  owns(resource, labelSelector) {
    this.wit.owns.push(watch(resource, labelSelector));
    return this;
  }

  /**
   * Watch other objects whose changes reconcile some primaries: those the plugin's `mapRelated`
   * returns, or with `byLabel` the one (in the same namespace) named in that label of the
   * related object.
   * @param {import('./objects.js').Resource} resource
   * @param {string} [labelSelector]
   * @param {{byLabel?: string}} [mapping]
   */
  related(resource, labelSelector, { byLabel } = {}) {
    const mapping = byLabel ? { tag: 'by-label', val: byLabel } : { tag: 'by-function' };
    this.wit.related.push({ watch: watch(resource, labelSelector), mapping });
    return this;
  }

  /**
   * The plugin calls these verbs on `resource`: get, list, create, patch (also needed by apply),
   * delete. Status patches need permitStatus.
   */
  permit(resource, ...verbs) {
    this.wit.permissions.push({ apiGroups: [resource.group], resources: [resource.plural], verbs });
    return this;
  }

  /** The plugin patches the status subresource of `resource`. */
  permitStatus(resource) {
    this.wit.permissions.push({
      apiGroups: [resource.group],
      resources: [`${resource.plural}/status`],
      verbs: ['patch'],
    });
    return this;
  }

  /** Have the host add this finalizer to primaries and call the plugin's `cleanup` before they go. */
  finalizer(name) {
    this.wit.finalizer = name;
    return this;
  }

  /**
   * Also reconcile when only a primary's status changed (off by default, which keeps the
   * plugin's own status writes from looping).
   */
  reconcileOnStatusChange() {
    this.wit.reconcileOnStatusChange = true;
    return this;
  }
}

/** `new Description(name, version, primary)`. */
export function describe(name, version, primary) {
  return new Description(name, version, primary);
}
