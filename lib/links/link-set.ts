import type { FastifyRequest } from 'fastify'
import type { ResolvedOptions } from '../options.js'
import type { LinkRule } from '../plan/plan-node.js'
import { ReferenceResolver } from './uri/reference-resolver.js'

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
  private readonly seen = new Set<string>()
  private readonly resolver: ReferenceResolver

  constructor (private readonly options: LinkSetOptions, request: FastifyRequest, private readonly observer: LinkObserver | null = null) {
    this.resolver = new ReferenceResolver(options, request)
  }

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
    // A path added before is its own normal form: a repeated relation costs one lookup.
    if (this.seen.has(reference)) return this.repeated(reference, selected)
    const path = this.resolver.pathOf(reference)
    if (path === null) {
      this.skipped++
      return null
    }
    if (path !== reference && this.seen.has(path)) return this.repeated(path, selected)
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
    this.seen.add(path)
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
    return this.seen.has(reference) ? reference : this.resolver.pathOf(reference)
  }
}
