/** Cluster calls for one kind of object. */

import * as host from 'weft:plugin/cluster@0.1.0';

import { cluster } from './errors.js';
import { KubeObject, toWitResource } from './objects.js';

/**
 * Cluster calls for objects of `resource`, in one namespace or (namespace undefined) for
 * cluster-scoped objects and lists across every namespace.
 *
 * Reads come from the host's caches; writes go to the API server. Every call is checked against
 * the permissions the plugin declared; a call outside them throws an ApiError of kind
 * `forbidden`.
 */
export class Api {
  /**
   * @param {import('./objects.js').Resource} resource
   * @param {string} [namespace]
   */
  constructor(resource, namespace) {
    this.resource = resource;
    this.namespace = namespace || undefined;
    this.wit = toWitResource(resource);
  }

  /** @param {string} name @returns {KubeObject} */
  get(name) {
    return decode(cluster(() => host.get(this.wit, this.namespace, name)));
  }

  /** Like get, with null for an object that does not exist. */
  getOrNull(name) {
    try {
      return this.get(name);
    } catch (e) {
      if (e.notFound) return null;
      throw e;
    }
  }

  /**
   * Objects matching a label selector such as `app=web,tier!=db` (undefined for all).
   * @param {string} [labelSelector]
   * @returns {KubeObject[]}
   */
  list(labelSelector) {
    return cluster(() => host.list(this.wit, this.namespace, labelSelector || undefined)).map(decode);
  }

  /** Creates `obj` and returns it as stored. */
  create(obj) {
    return decode(cluster(() => host.create(this.wit, this.encode(obj))));
  }

  /**
   * Server-side apply: `obj` states every field the plugin owns. With `force`, fields other
   * managers own are taken over instead of throwing a conflict.
   */
  apply(obj, { force = false } = {}) {
    return decode(cluster(() => host.apply(this.wit, this.encode(obj), force)));
  }

  /** JSON merge patch (RFC 7386) of the object called `name`. */
  patch(name, patch) {
    return decode(cluster(() => host.patch(this.wit, this.namespace, name, JSON.stringify(patch))));
  }

  /**
   * Merge-patches the status subresource with `{status}`. The host skips the write when the
   * status would not change.
   */
  patchStatus(name, status) {
    const body = JSON.stringify({ status });
    return decode(cluster(() => host.patchStatus(this.wit, this.namespace, name, body)));
  }

  /** Deletes the object called `name`, with background propagation. */
  delete(name) {
    cluster(() => host.delete(this.wit, this.namespace, name));
  }

  /** The object with apiVersion and kind filled in when it leaves them out. */
  encode(obj) {
    return JSON.stringify({ apiVersion: this.resource.apiVersion, kind: this.resource.kind, ...obj });
  }
}

function decode(json) {
  return new KubeObject(JSON.parse(json));
}
