/** A plugin: its description, configuration and callbacks, and how they meet the WIT exports. */

import { recordEvent as hostRecordEvent } from 'weft:plugin/cluster@0.1.0';

import { failureOf, messageOf, Permanent } from './errors.js';
import { KubeObject, ObjectRef } from './objects.js';

/** Return from a reconcile to be called again after `ms` milliseconds. */
export function requeueAfter(ms) {
  return { requeueAfter: ms };
}

/** Kubernetes Event types for Context.recordEvent. */
export const EventType = Object.freeze({ Normal: 'normal', Warning: 'warning' });

/** What a call receives besides its object. */
export class Context {
  constructor(config, trigger, object) {
    /** The plugin's configuration: spec.config of its Plugin, over the defaults. */
    this.config = config;
    /** Why the host called: `added`, `modified`, `owned-changed`, `related-changed`, `requeued`, `retry` or `resync`. */
    this.trigger = trigger;
    /** @type {ObjectRef} the object the call is about */
    this.object = object;
  }

  /**
   * Records a Kubernetes Event about `regarding` (an object or an ObjectRef). `reason` is
   * UpperCamelCase, such as `Mirrored`; `note` is for people.
   */
  recordEvent(regarding, type, reason, note) {
    const ref = regarding instanceof KubeObject ? regarding.ref : regarding;
    hostRecordEvent(refToWit(ref), { type, reason, note });
  }
}

/**
 * Makes the `controller` export of a plugin:
 *
 *     export const controller = definePlugin({
 *       description: describe('hello-js', '0.1.0', ConfigMaps).selector('weft.dev/hello').permit(ConfigMaps, 'patch'),
 *       config: { greeting: 'hello' },
 *       reconcile(cm, ctx) { ... },
 *     });
 *
 * `config` holds the defaults; the Plugin's spec.config is merged over them for every call.
 * `reconcile(object, ctx)` brings the cluster in line with a primary; it runs for every change,
 * so it must be idempotent. It returns nothing when done, or requeueAfter(ms). A thrown error
 * fails the reconcile: Permanent waits for a change, anything else is retried with backoff (an
 * ApiError that is forbidden or invalid counts as permanent). `cleanup(object, ctx)` runs when a
 * primary carrying the plugin's finalizer is being deleted. `mapRelated(related, ctx)` returns
 * the ObjectRefs of the primaries a related object's change concerns.
 */
export function definePlugin({ description, config = {}, reconcile, cleanup, mapRelated }) {
  const context = (request) =>
    new Context(configOf(config, request.config), request.reason, refFromWit(request.object));

  // Every exception becomes a failure result: one escaping to the component would trap.
  const call = (fn) => (request) => {
    let action;
    try {
      action = fn ? fn(new KubeObject(JSON.parse(request.json)), context(request)) : undefined;
    } catch (e) {
      throw failureOf(e);
    }
    // Components built without async support never settle a Promise: an async reconcile would
    // otherwise look done and lose its work and its errors.
    if (typeof action?.then === 'function') {
      throw { tag: 'permanent', val: 'reconcile and cleanup must be synchronous functions, not async' };
    }
    if (action?.requeueAfter !== undefined) {
      // componentize-qjs takes a u64 as a Number, not a BigInt (a BigInt traps).
      return { tag: 'requeue-after', val: Math.max(0, Math.floor(action.requeueAfter)) };
    }
    return { tag: 'done' };
  };

  return {
    describe: () => description.wit,
    reconcile: call(reconcile),
    cleanup: call(cleanup),
    mapRelated(request) {
      try {
        if (!mapRelated) return [];
        return mapRelated(new KubeObject(JSON.parse(request.json)), context(request)).map(refToWit);
      } catch (e) {
        throw messageOf(e);
      }
    },
  };
}

function configOf(defaults, json) {
  let given;
  try {
    given = json.trim() ? JSON.parse(json) : {};
  } catch (e) {
    throw new Permanent(`invalid plugin config: ${e.message}`);
  }
  if (given !== null && (typeof given !== 'object' || Array.isArray(given))) {
    throw new Permanent('invalid plugin config: not a JSON object');
  }
  return { ...defaults, ...given };
}

function refFromWit(r) {
  return new ObjectRef(r.apiVersion, r.kind, r.namespace, r.name);
}

function refToWit(r) {
  return { apiVersion: r.apiVersion, kind: r.kind, namespace: r.namespace || undefined, name: r.name };
}
