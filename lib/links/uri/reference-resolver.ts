import type { FastifyRequest } from 'fastify'
import { RequestBase, toPreloadPath } from './uri-reference.js'

/** What resolving references needs of the options. */
export interface ResolverOptions {
  readonly maxLinkBytes: number
  readonly origins: ReadonlySet<string>
}

/**
 * Resolves the references of one response against its request (`toPreloadPath`), whose target
 * and origin are read on first need. Ready path-absolute references (`/authors/1`, the common
 * case) never get here: `LinkSet` keeps them as they are, and makes no resolver for them.
 */
export class ReferenceResolver {
  private requestBase: RequestBase | null = null

  constructor (private readonly options: ResolverOptions, private readonly request: FastifyRequest) {}

  /** The path a reference stands for, or null when it is not one to preload. */
  pathOf (reference: string): string | null {
    this.requestBase ??= new RequestBase(this.request)
    return toPreloadPath(reference, this.requestBase, this.options.origins, this.options.maxLinkBytes)
  }
}
