/** Kubernetes objects as the plugin sees them: their JSON, plus a few helpers. */

/** One object, by identity. `namespace` is undefined for cluster-scoped objects. */
export class ObjectRef {
  /**
   * @param {string} apiVersion
   * @param {string} kind
   * @param {string | undefined} namespace
   * @param {string} name
   */
  constructor(apiVersion, kind, namespace, name) {
    this.apiVersion = apiVersion;
    this.kind = kind;
    this.namespace = namespace;
    this.name = name;
  }
}

/**
 * A Kubernetes object: the fields of its JSON (`obj.spec.size`), plus getters for the metadata
 * everyone needs. The getters live on the prototype, so `JSON.stringify` sends only the object.
 */
export class KubeObject {
  /** @param {Record<string, unknown>} json the parsed object */
  constructor(json) {
    Object.assign(this, json);
    this.metadata ??= {};
  }

  /** @returns {string} */
  get name() {
    return this.metadata.name ?? '';
  }

  /** @returns {string | undefined} */
  get namespace() {
    return this.metadata.namespace;
  }

  /** @returns {Record<string, string>} */
  get labels() {
    this.metadata.labels ??= {};
    return this.metadata.labels;
  }

  /** @returns {Record<string, string>} */
  get annotations() {
    this.metadata.annotations ??= {};
    return this.metadata.annotations;
  }

  /** @returns {string} */
  get uid() {
    return this.metadata.uid ?? '';
  }

  /** @returns {string} */
  get resourceVersion() {
    return this.metadata.resourceVersion ?? '';
  }

  /** @returns {number} */
  get generation() {
    return this.metadata.generation ?? 0;
  }

  /** Whether the object is being deleted (it has a deletionTimestamp). */
  get deleting() {
    return this.metadata.deletionTimestamp !== undefined;
  }

  /** @returns {ObjectRef} */
  get ref() {
    return new ObjectRef(this.apiVersion ?? '', this.kind ?? '', this.namespace, this.name);
  }
}

/** Where a kind of object is served. */
export class Resource {
  /**
   * @param {object} r
   * @param {string} r.group "" for the core group
   * @param {string} r.version
   * @param {string} r.kind
   * @param {string} r.plural lower-case name used in URLs and RBAC rules, such as `configmaps`
   * @param {boolean} [r.namespaced] true unless given
   */
  constructor({ group, version, kind, plural, namespaced = true }) {
    Object.assign(this, { group, version, kind, plural, namespaced });
    Object.freeze(this);
  }

  /** `v1` for the core group, `group/version` otherwise. */
  get apiVersion() {
    return this.group ? `${this.group}/${this.version}` : this.version;
  }

  /** The object of this kind called `name` in `namespace` (undefined when cluster-scoped). */
  ref(namespace, name) {
    return new ObjectRef(this.apiVersion, this.kind, namespace, name);
  }

  /** Whether `obj` (an object or an ObjectRef) is of this kind. */
  matches(obj) {
    const ref = obj instanceof KubeObject ? obj.ref : obj;
    return ref.kind === this.kind && ref.apiVersion === this.apiVersion;
  }

  /** An ownerReference making `owner` (of this kind) the controller of another object. */
  ownerReference(owner) {
    return {
      apiVersion: this.apiVersion,
      kind: this.kind,
      name: owner.name,
      uid: owner.uid,
      controller: true,
    };
  }
}

export const ConfigMaps = new Resource({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps' });
export const Secrets = new Resource({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets' });
export const Namespaces = new Resource({
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
});

/** @param {Resource} r */
export function toWitResource(r) {
  return { group: r.group, version: r.version, kind: r.kind, plural: r.plural, namespaced: r.namespaced };
}
