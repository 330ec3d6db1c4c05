// @ts-check
// Part "overhead": what the plugin costs per response, against bare Fastify and against two
// floors (issue #10): the same Link bytes set by the handler as a constant, and a hand-written
// preSerialization hook for the same route. Routes: the book with 10 relations, the 100-item
// collection (200 relation values, 30 distinct links), and an unannotated route with the
// plugin registered. `node bench/run.mjs overhead`.
import { BOOK_RELATIONS, COLLECTION_RELATIONS } from '../apps.mjs'
import { preloadLinks } from '../preload-latency.mjs'
import { appSetup, cpuRatios, fmt, get, groupTable, median, ratios, runGroup, settings, spread, table, verdict } from '../runner.mjs'

/**
 * @typedef {import('../runner.mjs').GroupResult} GroupResult
 * @typedef {import('../runner.mjs').Target} Target
 */

/**
 * Checks what each setup of a group answers: 200, the baseline's body, the expected number of
 * preload links, and the very same Link value for the plugin and both floors.
 * @param {number} links
 * @returns {(targets: Target[]) => Promise<void>}
 */
function checkFloors (links) {
  return async (targets) => {
    const answers = await Promise.all(targets.map((target) => get(target.port, target.path)))
    const [base] = answers
    const byKey = new Map(targets.map((target, i) => [target.key, /** @type {Awaited<ReturnType<typeof get>>} */ (answers[i])]))
    const plugin = byKey.get('plugin')?.headers.link
    for (const [key, answer] of byKey) {
      if (answer.status !== 200) throw new Error(`${key}: status ${answer.status}`)
      if (answer.body !== base?.body) throw new Error(`${key}: body differs from the baseline's`)
      const expected = key === 'plugin' || key === 'link' || key === 'hook' || key === 'tags' ? links : 0
      const count = preloadLinks(answer.headers.link).length
      if (count !== expected) throw new Error(`${key}: ${count} preload links, expected ${expected}`)
      if (key === 'tags' && answer.headers['cache-tags'] === undefined) throw new Error('tags: no Cache-Tags header')
      if ((key === 'link' || key === 'hook' || key === 'tags') && answer.headers.link !== plugin) {
        throw new Error(`${key}: Link differs from the plugin's:\n  ${answer.headers.link}\n  ${plugin}`)
      }
    }
  }
}

/** @param {'book' | 'collection'} route */
function floorSetups (route) {
  const path = route === 'book' ? '/books/1' : '/books'
  return [
    appSetup('link', `constant Link header (same bytes), ${route}`, `link-${route}`, { path }),
    appSetup('hooks', `no-op preSerialization + onSend, ${route}`, `hooks-${route}`, { path }),
    appSetup('hook', `hand-written preSerialization hook, ${route}`, `hook-${route}`, { path })
  ]
}

export async function runOverhead () {
  const book = await runGroup('overhead, book', [
    appSetup('bare', 'bare Fastify, book', 'baseline-book', { path: '/books/1' }),
    appSetup('control', 'bare again, other process (A/A)', 'control-book', { path: '/books/1' }),
    appSetup('plain', 'plugin, route without x-push', 'plugin-plain', { path: '/books/1' }),
    ...floorSetups('book'),
    appSetup('plugin', `plugin, book with ${BOOK_RELATIONS} relations`, 'plugin-book', { path: '/books/1' }),
    appSetup('tags', 'plugin with cacheTags: true, book', 'tags-book', { path: '/books/1' })
  ], checkFloors(BOOK_RELATIONS))
  const collection = await runGroup('overhead, collection', [
    appSetup('bare', 'bare Fastify, collection', 'baseline-collection', { path: '/books' }),
    appSetup('control', 'bare again, other process (A/A)', 'control-collection', { path: '/books' }),
    ...floorSetups('collection'),
    appSetup('plugin', `plugin, 100 items (${COLLECTION_RELATIONS} links)`, 'plugin-collection', { path: '/books' })
  ], checkFloors(COLLECTION_RELATIONS))

  const lines = [
    `\n## Overhead: the plugin against bare Fastify and two floors (${settings.rounds} rounds of fresh processes, ` +
      `each group's servers on one core at once for ${settings.duration} s; medians (min–max) over the rounds)\n`,
    groupTable(book),
    '',
    groupTable(collection),
    '',
    'Ratios in the same round, median (min–max). req/s: ratios of req/s, the servers sharing one core (= inverse ratios of ' +
      'CPU cost); CPU: inverse ratios of the CPU time per request the servers were charged (the same comparison, measured on the server side):',
    '',
    table(['route', 'measure', 'A/A control', 'plugin / bare', 'plugin / hand-written hook', 'plugin / constant header', 'hook / bare', 'constant / bare', 'no-op hooks / bare'],
      ratioRows('book, 10 relations', book).concat(ratioRows('collection, 100 items', collection))),
    '',
    'unannotated route (plugin registered) / bare: ' + spread(ratios(book, 'plain', 'bare'), fmt.ratio)
  ]
  const targets = [
    `A/A control (noise floor), book ${fmt.ratio(median(ratios(book, 'control', 'bare')))}, collection ${fmt.ratio(median(ratios(collection, 'control', 'bare')))}`,
    `unannotated route >= 0.99 of bare: ${judge(book, 'plain', 'bare', 0.99)}`,
    `book, 10 relations >= 0.97 of the hand-written hook: ${judge(book, 'plugin', 'hook', 0.97)}; >= 0.88 of bare: ${judge(book, 'plugin', 'bare', 0.88)}`,
    `collection >= 0.97 of the hand-written hook: ${judge(collection, 'plugin', 'hook', 0.97)}; >= 0.93 of bare: ${judge(collection, 'plugin', 'bare', 0.93)}`,
    `cache tags on the book >= 0.97 of the same app without cacheTags: ${judge(book, 'tags', 'plugin', 0.97)}`
  ]
  return { text: lines.join('\n'), targets, raw: { book: rawOf(book), collection: rawOf(collection) } }
}

/**
 * The verdict on the req/s ratio (as the targets are defined), and the CPU ratio beside it.
 * @param {GroupResult} group
 * @param {string} key
 * @param {string} to
 * @param {number} target
 */
function judge (group, key, to, target) {
  return `${verdict(ratios(group, key, to), target)} (CPU ${fmt.ratio(median(cpuRatios(group, to, key)))})`
}

/**
 * @param {string} label
 * @param {GroupResult} group
 */
function ratioRows (label, group) {
  const pairs = [['control', 'bare'], ['plugin', 'bare'], ['plugin', 'hook'], ['plugin', 'link'], ['hook', 'bare'], ['link', 'bare'], ['hooks', 'bare']]
  return [
    [label, 'req/s', ...pairs.map(([a = '', b = '']) => spread(ratios(group, a, b), fmt.ratio))],
    ['', 'CPU', ...pairs.map(([a = '', b = '']) => spread(cpuRatios(group, b, a), fmt.ratio))]
  ]
}

/** @param {GroupResult} group */
export function rawOf (group) {
  return { name: group.name, cpu: group.cpu, runs: Object.fromEntries(group.runs) }
}
