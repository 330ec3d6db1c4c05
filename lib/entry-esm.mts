// ES module entry: a thin layer over the CommonJS build, so that `import` and `require` share
// one instance of the plugin (no dual-package hazard).
import implementation from './index.js'
import type { PushAnnotation } from './index.js'
import type {} from '@sinclair/typebox' // the module augmented below

// TypeBox's ES module typings are distinct from its CommonJS ones (augmented in push.ts):
// declare the option for ES module consumers here.
declare module '@sinclair/typebox' {
  interface SchemaOptions {
    /** Marks a relation for fastify-push-relations (see `Push`). */
    'x-push'?: PushAnnotation
  }
}

export * from './index.js'
export default implementation.default
