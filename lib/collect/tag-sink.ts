/** Where the collector reports what it reads with the `cacheTags` option: cache-tags/ implements it. */
export interface TagSink {
  /** A reference to a resource the response holds (an IRI, an x-push relation). */
  add (reference: string): void
  /** The walk met data it could not read (too deep): the response cannot be tagged exactly. */
  incomplete (): void
  /** True once nothing more can change the outcome (the response is uncacheable). */
  readonly full: boolean
}
