// Greets ConfigMaps labelled weft.dev/hello: each gets the annotation
// weft.dev/greeting: "<greeting>, <namespace>/<name>".
import { Api, ConfigMaps, definePlugin, describe } from '@weft/plugin';

const ANNOTATION = 'weft.dev/greeting';

export const controller = definePlugin({
  description: describe('hello-js', '0.1.0', ConfigMaps)
    .selector('weft.dev/hello')
    .permit(ConfigMaps, 'patch'),
  // spec.config of the Plugin, {"greeting": "hi"}, is merged over these defaults.
  config: { greeting: 'hello' },
  reconcile(cm, ctx) {
    const greeting = `${ctx.config.greeting}, ${cm.namespace}/${cm.name}`;
    if (cm.annotations[ANNOTATION] !== greeting) {
      new Api(ConfigMaps, cm.namespace).patch(cm.name, {
        metadata: { annotations: { [ANNOTATION]: greeting } },
      });
    }
  },
});
