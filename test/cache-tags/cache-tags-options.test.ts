// The `cacheTags` option: defaults, and every mistake rejected at registration with the option's
// full name, what it must be and what it got.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import pushRelations from '../../lib/index.js'
import { resolveOptions } from '../../lib/options.js'

const CODE = 'FST_PUSH_RELATIONS_INVALID_OPTION'

async function rejects (t: Test, cacheTags: unknown, message: string): Promise<void> {
  const app = Fastify()
  await t.rejects(async () => { await app.register(pushRelations, { cacheTags } as never) }, { code: CODE, message: `fastify-push-relations: option ${message}` }, message)
}

t.test('defaults', async (t) => {
  t.equal(resolveOptions().cacheTags, null, 'off by default')
  t.equal(resolveOptions({ cacheTags: false }).cacheTags, null)
  t.match(resolveOptions({ cacheTags: true }).cacheTags, {
    header: 'cache-tags',
    separator: ',',
    maxBytes: 1024,
    fallback: 'collections',
    purge: {
      kind: 'ban',
      urls: [],
      mode: 'after-response',
      window: 10,
      timeout: 2000,
      retries: 5,
      retryDelay: 200,
      maxQueue: 10_000,
      maxHeaderBytes: 7500,
      closeTimeout: 5000,
      banHeader: 'Cache-Tags-Ban-Regex',
      onPurgeError: null,
      http: { method: 'PURGE', headers: {}, tagHeader: 'Surrogate-Key', separator: ' ', maxTags: Number.MAX_SAFE_INTEGER }
    }
  })
  t.match(resolveOptions({ cacheTags: { purge: { kind: 'xkey' } } }).cacheTags, { header: 'xkey', separator: ' ' }, 'the xkey purger reads the xkey header')
  t.same(resolveOptions({ cacheTags: { purge: { urls: ['http://a:6081/', 'https://b/'] } } }).cacheTags?.purge.urls.map(String), ['http://a:6081/', 'https://b/'])
  t.match(resolveOptions({ cacheTags: { header: 'Surrogate-Key', purge: { kind: 'ban' } } }).cacheTags, { header: 'surrogate-key' }, 'BAN without nodes: any header')
})

t.test('mistakes', async (t) => {
  await rejects(t, 'yes', '"cacheTags" must be a boolean or an object, received "yes"')
  await rejects(t, null, '"cacheTags" must be a boolean or an object, received null')
  await rejects(t, [], '"cacheTags" must be a boolean or an object, received an array')
  await rejects(t, { headers: 'xkey' }, '"cacheTags.headers" is not a known option (known: header, maxBytes, fallback, purge)')
  await rejects(t, { header: 'X-Tags' }, '"cacheTags.header" must be one of "Cache-Tags", "xkey", "Surrogate-Key", "Cache-Tag", received "X-Tags"')
  await rejects(t, { maxBytes: 10 }, '"cacheTags.maxBytes" must be an integer from 64 to 9007199254740991, received 10')
  await rejects(t, { maxBytes: '1k' }, '"cacheTags.maxBytes" must be an integer from 64 to 9007199254740991, received "1k"')
  await rejects(t, { fallback: 'drop' }, '"cacheTags.fallback" must be one of "collections", "private", received "drop"')
  await rejects(t, { purge: true }, '"cacheTags.purge" must be an object, received true')
  await rejects(t, { purge: { url: 'http://a/' } }, '"cacheTags.purge.url" is not a known option (known: kind, urls, mode, window, timeout, retries, retryDelay, maxQueue, maxHeaderBytes, closeTimeout, banHeader, http, onPurgeError)')
  await rejects(t, { purge: { kind: 'purge' } }, '"cacheTags.purge.kind" must be one of "ban", "xkey", "http", received "purge"')
  await rejects(t, { purge: { urls: 'http://a/' } }, '"cacheTags.purge.urls" must be an array of http(s) URLs, received "http://a/"')
  await rejects(t, { purge: { urls: ['varnish:6081'] } }, '"cacheTags.purge.urls" must only hold http(s) URLs such as "http://varnish-1:6081/", received "varnish:6081"')
  await rejects(t, { purge: { urls: [{}] } }, '"cacheTags.purge.urls" must only hold http(s) URLs such as "http://varnish-1:6081/", received an object')
  await rejects(t, { purge: { mode: 'sync' } }, '"cacheTags.purge.mode" must be one of "after-response", "before-response", received "sync"')
  await rejects(t, { purge: { retries: 31 } }, '"cacheTags.purge.retries" must be an integer from 0 to 30, received 31')
  await rejects(t, { purge: { timeout: 0 } }, '"cacheTags.purge.timeout" must be an integer from 1 to 2147483647, received 0')
  await rejects(t, { purge: { banHeader: 'a b' } }, '"cacheTags.purge.banHeader" must be a header name, received "a b"')
  await rejects(t, { purge: { onPurgeError: 'log' } }, '"cacheTags.purge.onPurgeError" must be a function, received "log"')
  await rejects(t, { header: 'xkey', purge: { urls: ['http://a/'] } }, '"cacheTags.header" must be comma-separated ("Cache-Tags" or "Cache-Tag") with the Varnish BAN purger, whose regex matches between commas, received "xkey"')
  await rejects(t, { purge: { http: { verb: 'POST' } } }, '"cacheTags.purge.http.verb" is not a known option (known: method, headers, tagHeader, separator, body, maxTags)')
  await rejects(t, { purge: { http: { method: 'PURGE ME' } } }, '"cacheTags.purge.http.method" must be an HTTP method, received "PURGE ME"')
  await rejects(t, { purge: { http: { headers: { 'x-key': 'a\r\nx: y' } } } }, '"cacheTags.purge.http.headers.x-key" must be a string header value under a header name, received "a\\r\\nx: y"')
  await rejects(t, { purge: { http: { headers: { 'bad name': 'v' } } } }, '"cacheTags.purge.http.headers.bad name" must be a string header value under a header name, received "v"')
  await rejects(t, { purge: { http: { headers: { key: 1 } } } }, '"cacheTags.purge.http.headers.key" must be a string header value under a header name, received 1')
  await rejects(t, { purge: { http: { separator: ';' } } }, '"cacheTags.purge.http.separator" must be one of " ", ",", ", ", received ";"')
  await rejects(t, { purge: { http: { body: '{}' } } }, '"cacheTags.purge.http.body" must be a function, received "{}"')
  await rejects(t, { purge: { http: { maxTags: 0 } } }, '"cacheTags.purge.http.maxTags" must be an integer from 1 to 9007199254740991, received 0')
  await rejects(t, { purge: { http: { tagHeader: '' } } }, '"cacheTags.purge.http.tagHeader" must be a header name, received ""')
})
