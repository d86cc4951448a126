/**
 * Write Kubernetes reconcilers for weft in JavaScript. The plugin's module exports
 * `controller = definePlugin({...})`; `weft-componentize plugin.js -o plugin.wasm` builds the
 * component. Each call runs in a fresh instance: nothing kept in memory survives to the next
 * call, so state belongs in the cluster.
 */

export { Api } from './api.js';
export { Description, describe } from './describe.js';
export { ApiError, ErrorKind, Permanent, Transient } from './errors.js';
export { log } from './log.js';
export { ConfigMaps, KubeObject, Namespaces, ObjectRef, Resource, Secrets } from './objects.js';
export { Context, definePlugin, EventType, requeueAfter } from './plugin.js';
