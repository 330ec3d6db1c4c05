import type { FastifyRequest } from 'fastify'
import { isReadyPath, RequestBase, toPreloadPath } from './uri-reference.js'

/** What resolving references needs of the options. */
export interface ResolverOptions {
  readonly maxLinkBytes: number
  readonly origins: ReadonlySet<string>
}

/**
 * Resolves the references of one response against its request: a ready path-absolute
 * reference (`/authors/1`, the common case) is checked in one pass and kept as it is; anything
 * else goes through `toPreloadPath`, against the request's target and origin, read on first need.
 */
export class ReferenceResolver {
  private requestBase: RequestBase | null = null

  constructor (private readonly options: ResolverOptions, private readonly request: FastifyRequest) {}

  /** The path a reference stands for, or null when it is not one to preload. */
  pathOf (reference: string): string | null {
    const { maxLinkBytes, origins } = this.options
    if (isReadyPath(reference, maxLinkBytes)) return reference
    this.requestBase ??= new RequestBase(this.request)
    return toPreloadPath(reference, this.requestBase, origins, maxLinkBytes)
  }
}
