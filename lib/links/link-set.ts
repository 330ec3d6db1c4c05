import type { FastifyRequest } from 'fastify'
import type { ResolvedOptions } from '../options.js'
import type { LinkRule } from '../plan/plan-node.js'
import { ReferenceResolver } from './uri/reference-resolver.js'
import { isReadyPath } from './uri/uri-reference.js'

/** Values looked at before de-duplication switches from scanning `paths` to a Set. */
const SCAN_LIMIT = 12

/** Why a response got fewer links than its payload holds; reported at debug level. */
export type CapReason = 'maxLinks' | 'maxLinkBytes' | 'maxCandidates'

/** What the set needs of the options: its caps, and how references resolve. */
export type LinkSetOptions = Pick<ResolvedOptions, 'maxLinks' | 'maxLinkBytes' | 'maxCandidates' | 'origins'>

/**
 * Told of each link as it is added, by whoever delivers them (native push, deliver/): the
 * entry of a link pushed natively says `nopush`, so the decision comes before the entry is made.
 */
export interface LinkObserver {
  /** A new path is about to be added: true when its entry must say `nopush` (pushed natively, now or later). */
  willPush (path: string, rule: LinkRule, selected: boolean): boolean
  /** The new path fit the caps and was added (right after `willPush` for it). */
  added (path: string, rule: LinkRule, selected: boolean): void
  /** A path added before was named again. */
  repeated (path: string, selected: boolean): void
}

/**
 * The preload links of one response, in first-seen order, de-duplicated by path and bounded by
 * the caps (`maxLinks`, `maxLinkBytes`, and `maxCandidates` for every value looked at). Filled
 * from the payload before serialization and by `reply.preload()`; deliver/ writes it out.
 */
export class LinkSet {
  /** Path-absolute references, in order. */
  readonly paths: string[] = []
  /** The Link entry of each path: `</authors/1>; rel=preload; as=fetch`. */
  readonly entries: string[] = []
  /** Bytes of `entries` joined with `, `. */
  bytes = 0
  /** Set once a cap is reached: collection stops there. */
  capped: CapReason | null = null
  /** Values that were not usable references (other origins, bad characters, wrong types...). */
  skipped = 0
  private candidates = 0
  /**
   * The paths as a Set, made once more than SCAN_LIMIT values were looked at: until then a scan
   * of `paths` costs less than making and filling a Set, which most responses (a resource and its
   * few relations) never need.
   */
  private seen: Set<string> | null = null
  /** Made on the first reference that is not a ready path: most responses have none. */
  private resolver: ReferenceResolver | null = null

  constructor (private readonly options: LinkSetOptions, private readonly request: FastifyRequest, private readonly observer: LinkObserver | null = null) {}

  get full (): boolean {
    return this.capped !== null
  }

  /** Counts a value that cannot be a reference at all (a number without template, null...). */
  skip (): void {
    this.skipped++
    if (++this.candidates > this.options.maxCandidates) this.capped = 'maxCandidates'
  }

  /**
   * Adds the relation `reference` (as found in the payload) with the parameters of `rule`.
   * Returns its path (also when it was there already), or null when it was skipped or capped.
   * `selected`: a Vulcain `Preload` asked for it.
   */
  add (reference: string, rule: LinkRule, selected = false): string | null {
    if (++this.candidates > this.options.maxCandidates) {
      this.capped = 'maxCandidates'
      return null
    }
    if (this.seen === null && this.candidates > SCAN_LIMIT) this.seen = new Set(this.paths)
    // A path added before is its own normal form: a repeated relation costs one lookup.
    if (this.has(reference)) return this.repeated(reference, selected)
    const path = this.resolve(reference)
    if (path === null) {
      this.skipped++
      return null
    }
    if (path !== reference && this.has(path)) return this.repeated(path, selected)
    const { maxLinks, maxLinkBytes } = this.options
    if (this.paths.length === maxLinks) {
      this.capped = 'maxLinks'
      return null
    }
    const observer = this.observer
    const entry = observer !== null && observer.willPush(path, rule, selected) ? '<' + path + '>' + rule.params + '; nopush' : '<' + path + '>' + rule.params
    const bytes = this.bytes + entry.length + (this.paths.length === 0 ? 0 : 2)
    if (bytes > maxLinkBytes) {
      this.capped = 'maxLinkBytes'
      return null
    }
    this.seen?.add(path)
    this.paths.push(path)
    this.entries.push(entry)
    this.bytes = bytes
    observer?.added(path, rule, selected)
    return path
  }

  private repeated (path: string, selected: boolean): string {
    this.observer?.repeated(path, selected)
    return path
  }

  /** The path a reference stands for, as `add` would write it; null when it is not usable. */
  pathOf (reference: string): string | null {
    return this.has(reference) ? reference : this.resolve(reference)
  }

  private has (path: string): boolean {
    return this.seen === null ? this.paths.includes(path) : this.seen.has(path)
  }

  private resolve (reference: string): string | null {
    // The common case is checked here, without making the resolver.
    if (isReadyPath(reference, this.options.maxLinkBytes)) return reference
    this.resolver ??= new ReferenceResolver(this.options, this.request)
    return this.resolver.pathOf(reference)
  }
}
