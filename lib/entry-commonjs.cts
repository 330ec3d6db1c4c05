// CommonJS entry: `require('fastify-push-relations')` returns the plugin itself, like every
// @fastify plugin, with the named exports (and `default`) as its properties.
import implementation = require('./index.js')

const pushRelations: typeof implementation.default & typeof implementation = Object.assign(implementation.default, implementation)

export = pushRelations
