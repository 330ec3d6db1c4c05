// ES module entry: a thin layer over the CommonJS build, so that `import` and `require` share
// one instance of the plugin (no dual-package hazard).
import implementation from './index.js'

export * from './index.js'
export default implementation.default
