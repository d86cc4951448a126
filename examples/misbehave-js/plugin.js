// A test fixture: a ConfigMap labelled weft.dev/misbehave chooses, by the label's value, how its
// reconcile fails, so tests can check what the host and the SDK make of it.
import { Api, ConfigMaps, definePlugin, describe, Secrets } from '@weft/plugin';

const LABEL = 'weft.dev/misbehave';

// Records what happened in the annotation weft.dev/result.
function note(cm, result) {
  new Api(ConfigMaps, cm.namespace).patch(cm.name, {
    metadata: { annotations: { 'weft.dev/result': result } },
  });
}

export const controller = definePlugin({
  description: describe('misbehave-js', '0.1.0', ConfigMaps).selector(LABEL).permit(ConfigMaps, 'patch'),
  reconcile(cm) {
    switch (cm.labels[LABEL]) {
      case 'panic':
        throw new Error(`misbehaving on purpose: ${cm.name}`);
      case 'runtime-error':
        return cm.nothing.here;
      case 'forbidden':
        // Secrets were never declared: the host refuses, and the SDK throws its error type.
        try {
          new Api(Secrets).list();
          note(cm, 'unexpected success');
        } catch (e) {
          note(cm, `forbidden=${e.forbidden}: ${e.detail}`);
        }
        return;
      case 'forbidden-uncaught':
        new Api(Secrets).list();
        return;
      default:
        note(cm, 'ok');
    }
  },
});
