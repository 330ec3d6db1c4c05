import type { ResolvedCacheTags } from './options.js'
import { toPreloadPath, type ReferenceBase } from '../links/uri/uri-reference.js'
import type { TagSink } from '../collect/tag-sink.js'

/*
 * Cache tags: the resources a cached response holds, so that a write can purge every response
 * that holds what it changed. A tag is the path of a resource, percent-encoded by the same
 * safety rules as the preload links, without its query, with `,` encoded: it never holds a
 * space or a comma, the separators of the tag headers.
 */

/** Longest tag kept; a longer reference could not fit a tag header anyway. */
export const MAX_TAG_LENGTH = 1024

const LOWER_CASE_ESCAPE = /%(?:[a-f][0-9a-fA-F]|[0-9A-F][a-f])/g

/** The canonical tag of a path-absolute reference: no query, `,` and percent escapes in one form. */
export function canonicalTag (path: string): string {
  const query = path.indexOf('?')
  let tag = query === -1 ? path : path.slice(0, query)
  if (tag.includes(',')) tag = tag.replaceAll(',', '%2C')
  // `%c3` and `%C3` are the same octet: a read and a write must agree on one tag.
  if (tag.includes('%')) tag = tag.replace(LOWER_CASE_ESCAPE, (escape) => escape.toUpperCase())
  return tag
}

/** A base for tags: the request target, and its path (the tag of the response itself). */
export interface TagBase extends ReferenceBase {
  readonly path: string
}

/** The tag of a reference found in a payload (or given to `purge()`), or null when it names no resource of this API. */
export function tagOf (reference: string, base: ReferenceBase, origins: ReadonlySet<string>): string | null {
  const path = toPreloadPath(reference, base, origins, MAX_TAG_LENGTH)
  return path === null ? null : canonicalTag(path)
}

/** The collection a resource belongs to: its path without the last segment (`/authors/1` -> `/authors`). */
export function collectionOf (tag: string): string {
  const slash = tag.lastIndexOf('/')
  return slash <= 0 ? '/' : tag.slice(0, slash)
}

/**
 * The tags of one GET/HEAD response, under a byte cap. Past the cap, the response is never left
 * with tags that miss a resource: it gets the collection of each resource instead (writes purge
 * collections too), and if even those do not fit, it is marked uncacheable.
 */
export class CacheTagSet implements TagSink {
  private readonly exact = new Set<string>()
  private exactBytes = 0
  /** Non-null once the exact tags overflowed. */
  private coarse: Set<string> | null = null
  private coarseBytes = 0
  private uncacheable = false

  constructor (
    private readonly config: ResolvedCacheTags,
    private readonly base: TagBase,
    private readonly origins: ReadonlySet<string>
  ) {
    const path = tagOf(base.path, base, origins)
    if (path === null) this.uncacheable = true
    else this.addTag(path)
  }

  get full (): boolean {
    return this.uncacheable
  }

  /** True when the response got collection tags. */
  get coarsened (): boolean {
    return this.coarse !== null
  }

  add (reference: string): void {
    if (this.uncacheable) return
    const tag = tagOf(reference, this.base, this.origins)
    // Another origin's URL (or not a URL): no resource of this API, nothing of ours to purge.
    if (tag !== null) this.addTag(tag)
  }

  incomplete (): void {
    this.uncacheable = true
  }

  private addTag (tag: string): void {
    if (this.coarse === null) {
      if (this.exact.has(tag)) return
      const bytes = this.exactBytes + tag.length + (this.exact.size === 0 ? 0 : 1)
      if (bytes <= this.config.maxBytes) {
        this.exact.add(tag)
        this.exactBytes = bytes
        return
      }
      if (this.config.fallback === 'private') {
        this.uncacheable = true
        return
      }
      this.coarse = new Set()
      const [path, ...others] = this.exact
      this.addCoarse(path as string) // the request path itself stays: it is one tag
      for (const other of others) this.addCoarse(collectionOf(other))
    }
    this.addCoarse(collectionOf(tag))
  }

  private addCoarse (tag: string): void {
    const coarse = this.coarse as Set<string>
    if (this.uncacheable || coarse.has(tag)) return
    const bytes = this.coarseBytes + tag.length + (coarse.size === 0 ? 0 : 1)
    if (bytes > this.config.maxBytes) {
      this.uncacheable = true
      return
    }
    coarse.add(tag)
    this.coarseBytes = bytes
  }

  /** The header value, or null when the response must not be stored by a shared cache. */
  value (): string | null {
    if (this.uncacheable) return null
    return [...(this.coarse ?? this.exact)].join(this.config.separator)
  }
}
