// CommonJS entry: `require('fastify-push-relations')` returns the plugin itself, like every
// @fastify plugin, with the named exports (and `default`) as its properties.
import implementation = require('./index.js')

const pushRelations: typeof implementation.default & typeof implementation = Object.assign(implementation.default, implementation)

// The public types, for `import type` and `pushRelations.PushRelationsOptions` in CommonJS
// code (a value exported with `export =` carries no types of its own).
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace pushRelations {
  export type AjvLike = implementation.AjvLike
  export type CrossOrigin = implementation.CrossOrigin
  export type PushAnnotation = implementation.PushAnnotation
  export type PushAnnotationObject = implementation.PushAnnotationObject
  export type PushRelationsDecorator = implementation.PushRelationsDecorator
  export type PushRelationsOptions = implementation.PushRelationsOptions
  export type ResponsePreloads = implementation.ResponsePreloads
  export type RoutePreloads = implementation.RoutePreloads
}

export = pushRelations
