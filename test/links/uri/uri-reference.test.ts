// Unit tests of lib/links/uri/uri-reference.ts: every rule of the "URI safety" list, on the
// function that turns an untrusted relation value into a path-absolute reference (or null).
import t from 'tap'
import { originFormOf, toPreloadPath, type ReferenceBase } from '../../../lib/links/uri/uri-reference.js'

/** A request as `toPreloadPath` sees it: its target in origin form (path and query). */
function base (target: string, protocol: 'http:' | 'https:', origin: string | null): ReferenceBase {
  return { target, protocol: () => protocol, origin: () => origin }
}

const HTTPS = base('/books/1', 'https:', 'https://api.example.com')
const HTTP = base('/books/1', 'http:', 'http://api.example.com')
const NO_ORIGINS: ReadonlySet<string> = new Set()
const CDN: ReadonlySet<string> = new Set(['https://cdn.example.com'])
const MAX = 2048

/** The reference with the default request (https://api.example.com/books/1), no extra origin. */
function p (reference: string, on: ReferenceBase = HTTPS, origins: ReadonlySet<string> = NO_ORIGINS, max = MAX): string | null {
  return toPreloadPath(reference, on, origins, max)
}

/**
 * What a result may hold: a path-absolute reference made of RFC 3986 characters only, where "%"
 * only starts a pct-encoded triplet, and which does not start with "//" (a network-path reference).
 */
const RFC3986_PATH = /^\/(?!\/)(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/

t.test('path-absolute references are used as they are', async (t) => {
  const unchanged = [
    '/',
    '/authors/1',
    '/authors/1/',
    '/authors/1?x=1&y=2',
    '/authors/1?',
    '/a?b?c=/d',
    "/a:b@c!$&'()*+,;=-._~",
    '/a%20b%2Fc', // already percent-encoded: not encoded twice
    '/.well-known/x',
    '/..a/b.', // not dot segments
    '/a/.../b',
    '/a/b..',
    '/a?x=/../y' // dots in the query are not segments
  ]
  for (const reference of unchanged) t.equal(p(reference), reference, `${reference} is kept`)
  t.equal(p('/authors/1', base('/', 'http:', null)), '/authors/1', 'whatever the request, even without a usable Host')
})

t.test('relative references are resolved against the request path', async (t) => {
  t.equal(p('authors/1'), '/books/authors/1', 'a relative path replaces the last segment')
  t.equal(p('./authors/1'), '/books/authors/1', './')
  t.equal(p('../authors/1'), '/authors/1', '../')
  t.equal(p('../../../../authors/1'), '/authors/1', 'too many ../ stop at the root')
  t.equal(p('.'), '/books/', '.')
  t.equal(p('..'), '/', '..')
  t.equal(p('?page=2'), '/books/1?page=2', 'a query-only reference keeps the request path')
  t.equal(p('authors/1?x=1'), '/books/authors/1?x=1', 'with a query')
  t.equal(p('reviews', base('/books/1/', 'https:', 'https://api.example.com')), '/books/1/reviews',
    'a request path ending with a slash is a directory')
  t.equal(p('reviews', base('/', 'https:', 'https://api.example.com')), '/reviews', 'from the root')
  t.equal(p('a/b', base('/x/y/z', 'http:', null)), '/x/y/a/b', 'relative resolution does not need the origin')
  t.equal(p('authors/1', HTTP), '/books/authors/1', 'on http too')
})

t.test('fragments are dropped', async (t) => {
  t.equal(p('/authors/1#bio'), '/authors/1', 'path-absolute with a fragment')
  t.equal(p('/authors/1?x=1#bio'), '/authors/1?x=1', 'after a query')
  t.equal(p('/authors/1#'), '/authors/1', 'an empty fragment')
  t.equal(p('/authors/1#a#b<>'), '/authors/1', 'whatever the fragment holds')
  t.equal(p('authors/1#bio'), '/books/authors/1', 'relative with a fragment')
  t.equal(p('https://api.example.com/authors/1#bio'), '/authors/1', 'absolute with a fragment')
  t.equal(p('#top'), '/books/1', 'a fragment-only reference is the request path itself')
})

t.test('dot segments are removed', async (t) => {
  t.equal(p('/a/./b'), '/a/b', '/./')
  t.equal(p('/a/../b'), '/b', '/../')
  t.equal(p('/a/b/..'), '/a/', 'trailing /..')
  t.equal(p('/a/.'), '/a/', 'trailing /.')
  t.equal(p('/..'), '/', '/.. at the root')
  t.equal(p('/../../etc/passwd'), '/etc/passwd', 'cannot climb above the root')
  t.equal(p('/a/..?x=1'), '/?x=1', '/.. before a query')
  t.equal(p('/a/./b?x=/../'), '/a/b?x=/../', 'the query is left alone')
  t.equal(p('https://api.example.com/a/../b'), '/b', 'in an absolute URL')
})

t.test("absolute http(s) URLs of the request's own origin become paths", async (t) => {
  t.equal(p('https://api.example.com/authors/1'), '/authors/1', 'same scheme and host')
  t.equal(p('https://api.example.com/authors/1?x=1'), '/authors/1?x=1', 'query kept')
  t.equal(p('https://api.example.com'), '/', 'the origin alone is the root')
  t.equal(p('https://api.example.com?x=1'), '/?x=1', 'the origin and a query')
  t.equal(p('https://api.example.com:443/authors/1'), '/authors/1', 'explicit default port of https')
  t.equal(p('HTTPS://API.EXAMPLE.COM/Authors/1'), '/Authors/1', 'scheme and host are case-insensitive, the path is not')
  t.equal(p('https://API.Example.Com./a'), null, 'a trailing dot names another host')
  t.equal(p('https://user:secret@api.example.com/a'), '/a', 'credentials are not part of the origin and are dropped')
  t.equal(p('https://api.example.com/a b/é'), '/a%20b/%C3%A9', 'and encoded like any other path')
  t.equal(p('//api.example.com/authors/1'), '/authors/1', 'scheme-relative to the own host takes the request scheme')

  t.equal(p('http://api.example.com/authors/1', HTTP), '/authors/1', 'on http')
  t.equal(p('http://api.example.com:80/authors/1', HTTP), '/authors/1', 'explicit default port of http')
  t.equal(p('http://api.example.com/authors/1'), null, 'http URL on an https request: another origin')
  t.equal(p('https://api.example.com/authors/1', HTTP), null, 'https URL on an http request: another origin')
  t.equal(p('https://api.example.com:8443/authors/1'), null, 'another port')

  const local = base('/books/1', 'http:', 'http://localhost:3000')
  t.equal(p('http://localhost:3000/authors/1', local), '/authors/1', 'a host with a port')
  t.equal(p('http://LocalHost:3000/authors/1', local), '/authors/1', 'host case with a port')
  t.equal(p('http://localhost/authors/1', local), null, 'the same host without the port')
  t.equal(p('http://127.0.0.1:3000/authors/1', local), null, 'the same machine under another name')

  const ipv6 = base('/', 'http:', 'http://[::1]:3000')
  t.equal(p('http://[::1]:3000/a', ipv6), '/a', 'an IPv6 host')
  t.equal(p('http://[0:0:0:0:0:0:0:1]:3000/a', ipv6), '/a', 'an IPv6 host, written long')
})

t.test('absolute http(s) URLs of a listed origin become paths', async (t) => {
  t.equal(p('https://cdn.example.com/authors/1', HTTPS, CDN), '/authors/1', 'listed origin')
  t.equal(p('HTTPS://CDN.EXAMPLE.COM:443/authors/1?x=1#f', HTTPS, CDN), '/authors/1?x=1', 'normalized like the own origin')
  t.equal(p('https://api.example.com/authors/1', HTTPS, CDN), '/authors/1', 'the own origin still counts')
  t.equal(p('http://cdn.example.com/authors/1', HTTPS, CDN), null, 'a listed host with another scheme')
  t.equal(p('https://cdn.example.com:8443/authors/1', HTTPS, CDN), null, 'a listed host with another port')
  t.equal(p('https://cdn.example.com/authors/1'), null, 'not listed: another origin')
  t.equal(p('//cdn.example.com/authors/1', HTTPS, CDN), '/authors/1', 'scheme-relative to a listed origin')
})

t.test('origin() returning null (unusable Host)', async (t) => {
  const hostless = base('/books/1', 'https:', null)
  t.equal(p('/authors/1', hostless), '/authors/1', 'path-absolute references still work')
  t.equal(p('authors/1', hostless), '/books/authors/1', 'relative references still work')
  t.equal(p('/a b', hostless), '/a%20b', 'encoding still works')
  t.equal(p('https://api.example.com/authors/1', hostless), null, 'no absolute URL can match the own origin')
  t.equal(p('https://cdn.example.com/authors/1', hostless, CDN), '/authors/1', 'listed origins still match')
  t.equal(p('//evil.com/a', hostless), null, 'scheme-relative to another host')
})

t.test('other origins are skipped', async (t) => {
  const others = [
    'https://evil.com/authors/1',
    'http://evil.com/authors/1',
    'https://api.example.com.evil.com/a',
    'https://api.example.com@evil.com/a', // userinfo trick
    'https://evil.com\\@api.example.com/a',
    'https://evil.com#@api.example.com/a',
    'https://api.example.co/a',
    'https://example.com/a',
    'https://sub.api.example.com/a',
    'https://[::1]/a',
    'https://127.0.0.1/a',
    'https://0x7f.1/a'
  ]
  for (const reference of others) t.equal(p(reference), null, `${reference} is skipped`)
})

t.test('URLs the URL parser rejects are skipped', async (t) => {
  const invalid = [
    'https://',
    'http://',
    'https://exa mple.com/a',
    'https://api.example.com:99999/a',
    'https://api.example.com:port/a',
    'http://[::1/a',
    '//exa mple.com/a',
    '//api.example.com:99999/a',
    'https://%zz/a'
  ]
  for (const reference of invalid) t.equal(p(reference), null, `${JSON.stringify(reference)} is skipped`)
})

t.test('scheme-relative and backslash tricks are skipped', async (t) => {
  const tricks = [
    '//evil.com',
    '//evil.com/authors/1',
    '///evil.com/a',
    '\\\\evil.com',
    '\\\\evil.com\\a',
    '/\\evil.com',
    '/\\evil.com/a',
    '\\/evil.com',
    '/\\/evil.com',
    'https:\\\\evil.com/a',
    'https:/\\evil.com/a',
    '//user@evil.com/a'
  ]
  for (const reference of tricks) t.equal(p(reference), null, `${JSON.stringify(reference)} is skipped`)
  t.equal(p('\\\\evil.com', HTTP), null, 'on http too')
})

t.test('other schemes are skipped', async (t) => {
  const schemes = [
    'javascript:alert(1)',
    'JAVASCRIPT:alert(1)',
    'JavaScript:alert(1)',
    'javascript://api.example.com/%0aalert(1)',
    'vbscript:msgbox(1)',
    'data:text/html,<script>alert(1)</script>',
    'data:application/json,{}',
    'mailto:someone@example.com',
    'tel:+33100000000',
    'urn:isbn:0451450523',
    'ftp://api.example.com/authors/1',
    'ws://api.example.com/authors/1',
    'wss://api.example.com/authors/1',
    'file:///etc/passwd',
    'blob:https://api.example.com/0b6d4e2a',
    'a:b',
    'x-custom+scheme.1:whatever',
    'https:authors/1', // a scheme without authority is not a relative reference
    'http:/authors/1'
  ]
  for (const reference of schemes) t.equal(p(reference), null, `${reference} is skipped`)
  t.equal(p('http:/authors/1', HTTP), null, 'scheme without authority, on the same scheme')
  t.equal(p('./javascript:alert(1)'), '/books/javascript:alert(1)', 'a colon after a slash is only a path character')
  t.equal(p('/javascript:alert(1)'), '/javascript:alert(1)', 'same for path-absolute')
})

t.test('an absolute URL naming the placeholder host is not taken as relative', async (t) => {
  t.equal(p('https://fastify-push-relations.invalid/authors/1'), null, 'on https')
  t.equal(p('http://fastify-push-relations.invalid/authors/1', HTTP), null, 'on http')
  t.equal(p('HTTPS://FASTIFY-PUSH-RELATIONS.INVALID/authors/1'), null, 'in upper case')
  t.equal(p('https://fastify-push-relations.invalid:443/authors/1'), null, 'with the default port')
  t.equal(p('http://fastify-push-relations.invalid/authors/1'), null, 'with the other scheme')
  t.equal(p('https://fastify-push-relations.invalid/authors/1', HTTPS, new Set(['https://other.example.com'])), null,
    'with other origins listed')
})

t.test('control characters make the value skipped, never stripped', async (t) => {
  const controls: [string, string][] = [['\r', 'CR'], ['\n', 'LF'], ['\0', 'NUL'], ['\t', 'tab'], ['\x7f', 'DEL'],
    ['\x0b', 'VT'], ['\x0c', 'FF'], ['\x1b', 'ESC'], ['\x1f', 'US'], ['\x01', 'SOH']]
  for (const [char, name] of controls) {
    const forms = [`/authors/1${char}`, `${char}/authors/1`, `/auth${char}ors/1`, `authors${char}1`, `/a?x=${char}`,
      `/a#${char}`, `https://api.example.com/a${char}`, `java${char}script:alert(1)`, `/${char}/evil.com`]
    t.same(forms.map((reference) => p(reference)), forms.map(() => null), `${name} anywhere makes the value skipped`)
  }
  t.equal(p('/authors/1\r\nSet-Cookie: session=stolen'), null, 'header injection attempt')
  t.equal(p('/authors/1>; rel=preload, </admin'), '/authors/1%3E;%20rel=preload,%20%3C/admin', 'entry injection attempt')
})

t.test('characters that may not stand in a URI are percent-encoded', async (t) => {
  t.equal(p('/authors/a b'), '/authors/a%20b', 'space')
  t.equal(p('/a<b>c'), '/a%3Cb%3Ec', '< and >')
  t.equal(p('/a"b'), '/a%22b', 'double quote')
  t.equal(p('/a{b}'), '/a%7Bb%7D', 'braces')
  t.equal(p('/a|b'), '/a%7Cb', 'pipe')
  t.equal(p('/a^b'), '/a%5Eb', 'caret')
  t.equal(p('/a`b'), '/a%60b', 'backtick')
  t.equal(p('/a[b]'), '/a%5Bb%5D', 'square brackets in a path')
  t.equal(p('/é'), '/%C3%A9', 'non-ASCII, as UTF-8 octets')
  t.equal(p('/中文'), '/%E4%B8%AD%E6%96%87', 'three-byte characters')
  t.equal(p('/😀'), '/%F0%9F%98%80', 'a surrogate pair')
  t.equal(p('/a\u0085b'), '/a%C2%85b', 'a C1 control (NEL) is non-ASCII: encoded')
  t.equal(p('/a\u00a0b'), '/a%C2%A0b', 'no-break space')
  t.equal(p('/a\u2028b'), '/a%E2%80%A8b', 'line separator')
  t.equal(p('/a\ufeffb'), '/a%EF%BB%BFb', 'byte order mark')
  t.equal(p('/a?q=a b<é>'), '/a?q=a%20b%3C%C3%A9%3E', 'in the query')
  t.equal(p('/a?q={x}|^`[y]'), '/a?q=%7Bx%7D%7C%5E%60%5By%5D', 'query characters the URL parser leaves alone')
  t.equal(p('authors/a b'), '/books/authors/a%20b', 'in a relative reference')
  t.equal(p('/a%20b c'), '/a%20b%20c', 'existing escapes are kept, new ones added')
})

t.test('results never hold characters outside RFC 3986', async (t) => {
  const chars: string[] = []
  for (let code = 0; code < 128; code++) chars.push(String.fromCharCode(code))
  chars.push('\u0080', '\u0085', '\u00a0', 'é', '\u2028', '\ufeff', '😀')
  const forms: [string, (char: string) => string][] = [
    ['in a path', (c) => `/a${c}b`],
    ['in a relative path', (c) => `a${c}b`],
    ['in a query', (c) => `/a?q=${c}`],
    ['alone', (c) => c],
    ['in an absolute URL', (c) => `https://api.example.com/${c}`],
    ['around dot segments', (c) => `../${c}${c}/x`]
  ]
  // a slash or a backslash can make the path start with "//", a network-path reference
  const expectedSkips: Record<string, string[]> = {
    'in a relative path': ['a:b'],
    'in an absolute URL': ['https://api.example.com//', 'https://api.example.com/\\'],
    'around dot segments': ['..////x', '../\\\\/x']
  }
  for (const [where, form] of forms) {
    const controlsKept: string[] = []
    const skipped: string[] = []
    const invalid: string[] = []
    for (const char of chars) {
      const reference = form(char)
      const result = p(reference)
      if (/[\x00-\x1f\x7f]/.test(char)) { // eslint-disable-line no-control-regex
        if (result !== null) controlsKept.push(reference)
      } else if (result === null) skipped.push(reference)
      else if (!RFC3986_PATH.test(result)) invalid.push(`${JSON.stringify(reference)} -> ${JSON.stringify(result)}`)
    }
    t.same(controlsKept, [], `${where}: every control character makes the value skipped`)
    t.same(invalid, [], `${where}: every other result is made of RFC 3986 characters, and does not start with "//"`)
    t.same(skipped, expectedSkips[where] ?? [], `${where}: only a scheme or a "//" result makes a printable value skipped`)
  }
})

t.test('length limits', async (t) => {
  const twenty = '/' + 'a'.repeat(19)
  t.equal(p(twenty, HTTPS, NO_ORIGINS, 20), twenty, 'a reference of exactly maxLength is kept')
  t.equal(p(twenty + 'a', HTTPS, NO_ORIGINS, 20), null, 'one more character is skipped')
  t.equal(p(twenty + '#', HTTPS, NO_ORIGINS, 20), null, 'the input limit applies before the fragment is dropped')
  t.equal(p('/' + 'a'.repeat(1024 * 1024)), null, 'a 1 MB value is skipped')
  t.equal(p('/' + '\r'.repeat(1024 * 1024)), null, 'a 1 MB value of controls is skipped')

  const accents = '/' + 'é'.repeat(5) // 6 characters, 31 once encoded
  t.equal(p(accents, HTTPS, NO_ORIGINS, 31), '/' + '%C3%A9'.repeat(5), 'an encoded result of exactly maxLength is kept')
  t.equal(p(accents, HTTPS, NO_ORIGINS, 30), null, 'an encoded result longer than maxLength is skipped')
  t.equal(p('/a b', HTTPS, NO_ORIGINS, 5), null, 'a space growing the result past the limit')

  t.equal(p('authors/1', HTTPS, NO_ORIGINS, 16), '/books/authors/1', 'a resolved relative reference of exactly maxLength')
  t.equal(p('authors/1', HTTPS, NO_ORIGINS, 15), null, 'a resolved relative reference longer than maxLength')
  t.equal(p('https://api.example.com/a', HTTPS, NO_ORIGINS, 25), '/a', 'the limit applies to the input of an absolute URL...')
  t.equal(p('https://api.example.com/a', HTTPS, NO_ORIGINS, 24), null, '...which is longer than its path')
})

t.test('the empty string is skipped', async (t) => {
  // RFC 3986 resolves "" to the request itself; in API data an empty string means "no value", as
  // for template values (docs/annotations.md says so).
  t.equal(p(''), null, 'empty')
  t.equal(p('', base('/', 'http:', null), NO_ORIGINS, 0), null, 'with a zero limit')
  t.equal(p('', base('/books/1?page=2', 'https:', 'https://api.example.com')), null, 'on a request with a query')
})

t.test('RFC 3986 section 5.4 reference resolution examples', async (t) => {
  // Base URI "http://a/b/c/d;p?q". Results are the RFC's, as paths (the origin "http://a" is the
  // request's own) without the fragment, which a Link to preload drops. Left out, as they are
  // skipped on purpose: "g:h" and "http:g" (schemes without authority), "//g" (another host) and "".
  const rfc = base('/b/c/d;p?q', 'http:', 'http://a')
  const normal: Array<[string, string]> = [
    ['g', '/b/c/g'], ['./g', '/b/c/g'], ['g/', '/b/c/g/'], ['/g', '/g'], ['?y', '/b/c/d;p?y'],
    ['g?y', '/b/c/g?y'], ['#s', '/b/c/d;p?q'], ['g#s', '/b/c/g'], ['g?y#s', '/b/c/g?y'], [';x', '/b/c/;x'],
    ['g;x', '/b/c/g;x'], ['g;x?y#s', '/b/c/g;x?y'], ['.', '/b/c/'], ['./', '/b/c/'], ['..', '/b/'],
    ['../', '/b/'], ['../g', '/b/g'], ['../..', '/'], ['../../', '/'], ['../../g', '/g']
  ]
  const abnormal: Array<[string, string]> = [
    ['../../../g', '/g'], ['../../../../g', '/g'], ['/./g', '/g'], ['/../g', '/g'], ['g.', '/b/c/g.'],
    ['.g', '/b/c/.g'], ['g..', '/b/c/g..'], ['..g', '/b/c/..g'], ['./../g', '/b/g'], ['./g/.', '/b/c/g/'],
    ['g/./h', '/b/c/g/h'], ['g/../h', '/b/c/h'], ['g;x=1/./y', '/b/c/g;x=1/y'], ['g;x=1/../y', '/b/c/y'],
    ['g?y/./x', '/b/c/g?y/./x'], ['g?y/../x', '/b/c/g?y/../x'], ['g#s/./x', '/b/c/g'], ['g#s/../x', '/b/c/g']
  ]
  for (const [reference, expected] of [...normal, ...abnormal]) t.equal(p(reference, rfc), expected, `"${reference}" -> "${expected}"`)
  t.equal(p('http://a/b/c/g', rfc), '/b/c/g', 'the absolute form of the same origin')
  for (const reference of ['g:h', 'http:g', '//g', '']) t.equal(p(reference, rfc), null, `"${reference}" is skipped`)
})

t.test('a fragment-only reference keeps the query of the request (RFC 3986 section 5.2.2)', async (t) => {
  const withQuery = base('/books/1?page=2', 'https:', 'https://api.example.com')
  t.equal(p('#top', withQuery), '/books/1?page=2', 'fragment only: the request itself, query included')
  t.equal(p('#', withQuery), '/books/1?page=2', 'an empty fragment')
  t.equal(p('?page=3', withQuery), '/books/1?page=3', 'a query-only reference replaces the query')
  t.equal(p('reviews', withQuery), '/books/reviews', 'a relative path drops the query')
  t.equal(p('/a', withQuery), '/a', 'a path-absolute reference too')
  t.equal(p('#x', base('/a?q=<é>', 'https:', 'https://api.example.com')), '/a?q=%3C%C3%A9%3E',
    'a query as received is encoded like any other')
})

t.test('originFormOf: the path and query of a request target in every form (RFC 9112 section 3.2)', async (t) => {
  t.equal(originFormOf('/books/1?x=1'), '/books/1?x=1', 'origin form, as it is')
  t.equal(originFormOf('//evil.com/books/1'), '//evil.com/books/1', 'an origin form starting with // too (checked later)')
  t.equal(originFormOf('http://api.example.com/books/1'), '/books/1', 'absolute form')
  t.equal(originFormOf('http://api.example.com:8080/books/1?x=1'), '/books/1?x=1', 'with a port and a query')
  t.equal(originFormOf('HTTPS://user@api.example.com/books/1'), '/books/1', 'any case, userinfo')
  t.equal(originFormOf('http://api.example.com'), '/', 'an empty path is /')
  t.equal(originFormOf('http://api.example.com?x=1'), '/?x=1', 'an empty path with a query')
  t.equal(originFormOf('http://[::1]:80/a'), '/a', 'an IPv6 host')
  t.equal(originFormOf('*'), '/', 'asterisk form (OPTIONS *)')
  t.equal(originFormOf('api.example.com:443'), '/', 'authority form (CONNECT)')
  t.equal(originFormOf(''), '/', 'nothing')
})

t.test('a result is never a scheme-relative (network-path) reference', async (t) => {
  // `<//evil.com/a>` in a Link header names another host: proxies, CDNs and clients would
  // preload from evil.com. The URL parser yields a path starting with `//` whenever an
  // empty segment ends up first, which dot segments, own-origin URLs or the request path make easy.
  t.equal(p('/..//evil.com/a'), null, '/..//evil.com/a')
  t.equal(p('/.//evil.com/a'), null, '/.//evil.com/a')
  t.equal(p('..//evil.com/a'), null, '..//evil.com/a (relative)')
  t.equal(p('/../\\/evil.com/a'), null, '/../\\/evil.com/a (backslash)')
  t.equal(p('/%2e%2e//evil.com/a'), null, 'a percent-encoded dot segment')
  t.equal(p('https://api.example.com//evil.com/a'), null, 'an own-origin URL whose path starts with //')
  t.equal(p('https://api.example.com/\\evil.com/a'), null, 'an own-origin URL whose path starts with /\\')
  t.equal(p('//api.example.com//evil.com/a'), null, 'a scheme-relative own-origin URL whose path starts with //')
  t.equal(p('authors/1', base('//evil.com/books/1', 'https:', 'https://api.example.com')), null,
    'a relative reference on a request path starting with //')
  t.equal(p('/a', base('//evil.com/books/1', 'https:', 'https://api.example.com')), '/a',
    'a path-absolute reference on such a request is fine')
  t.equal(p('/a//b'), '/a//b', 'an empty segment further on is fine')
  t.equal(p('/a/..//b c'), null, 'also when the value needed encoding')
})

t.test('scheme-relative and backslash references to the placeholder host', async (t) => {
  // The parsed origin equals the placeholder origin and the reference has no scheme: without the
  // network-path check, `//fastify-push-relations.invalid/admin` would become `/admin`.
  t.equal(p('//fastify-push-relations.invalid/admin'), null, '//placeholder/admin')
  t.equal(p('\\\\fastify-push-relations.invalid\\admin'), null, '\\\\placeholder\\admin')
  t.equal(p('/\\fastify-push-relations.invalid/admin'), null, '/\\placeholder/admin')
  t.equal(p('\\/fastify-push-relations.invalid/admin'), null, '\\/placeholder/admin')
  t.equal(p('//FASTIFY-PUSH-RELATIONS.INVALID/admin', HTTP), null, 'in upper case, on http')
  t.equal(p('/\\fastify-push-relations.invalid/admin', HTTPS, new Set(['https://fastify-push-relations.invalid'])), null,
    'even when listed as an origin')
})

t.test('leading and trailing spaces are encoded, not stripped', async (t) => {
  // The URL parser strips leading and trailing C0 controls and spaces. Controls are rejected
  // first; spaces are encoded before parsing.
  t.equal(p('/authors/1 '), '/authors/1%20', 'trailing space')
  t.equal(p(' /authors/1'), '/books/%20/authors/1', 'leading space (then a relative path)')
  t.equal(p('authors/1 '), '/books/authors/1%20', 'trailing space on a relative reference')
  t.equal(p(' https://fastify-push-relations.invalid/admin'), '/books/%20https://fastify-push-relations.invalid/admin',
    'an absolute URL of the placeholder host after a space is a relative path, not /admin')
  t.equal(p(' //evil.com/a'), '/books/%20//evil.com/a', 'nor is a scheme-relative URL after a space')
  t.equal(p(' '), '/books/%20', 'a lone space is a relative path')
  t.equal(p('/a b'), '/a%20b', 'an inner space is encoded')
  t.equal(p('https://api.example.com/a b '), '/a%20b%20', 'in an absolute URL')
  t.equal(p('/a?q=x y '), '/a?q=x%20y%20', 'in the query')
})

t.test('lone surrogates make the value skipped', async (t) => {
  // The URL parser replaces a lone surrogate with U+FFFD, so the link would name another
  // resource than the value; lib/links/uri/uri-template.ts skips such values too.
  t.equal(p('/authors/\ud800'), null, 'lone high surrogate')
  t.equal(p('authors/\udc00x'), null, 'lone low surrogate')
  t.equal(p('/a?q=\udbff'), null, 'in the query')
  t.equal(p('/\udc00\ud800'), null, 'a low then a high surrogate are no pair')
  t.equal(p('/\ud83d\ude00'), '/%F0%9F%98%80', 'a pair is a character')
})

t.test('percent signs that do not start an escape', async (t) => {
  // RFC 3986 allows "%" only as the start of a pct-encoded triplet.
  t.equal(p('/a%zz'), '/a%25zz', 'non-hex escape')
  t.equal(p('/100%'), '/100%25', 'trailing percent sign')
  t.equal(p('/a%2'), '/a%252', 'truncated escape')
  t.equal(p('%'), '/books/%25', 'a lone percent sign, relative')
  t.equal(p('/a?q=100%'), '/a?q=100%25', 'in the query')
  t.equal(p('https://api.example.com/%zz'), '/%25zz', 'in an absolute URL')
  t.equal(p('/a%2F'), '/a%2F', 'a valid escape is kept')
  t.equal(p('/a%2f%C3%A9'), '/a%2f%C3%A9', 'valid escapes, in any case, stay on the fast path')
  t.equal(p('/a%2Fb%zz'), '/a%2Fb%25zz', 'a valid and an invalid escape')
})

t.test('percent-encoded dot segments', async (t) => {
  // The URL parser treats %2e like "." (WHATWG URL); the fast path sends such values to it, so
  // a resource gets one spelling whichever path the value takes.
  t.equal(p('/a/%2e%2e/b'), '/b', '/%2e%2e/')
  t.equal(p('/a/%2E/b'), '/a/b', '/%2E/')
  t.equal(p('/a/.%2e/b'), '/b', '/.%2e/')
  t.equal(p('/a/%2e%2E'), '/', 'a trailing one')
  t.equal(p('/a/%2e%2e?x=1'), '/?x=1', 'before a query')
  t.equal(p('/a/%2e%2e/b c'), '/b%20c', 'with a character to encode')
  t.equal(p('/%2e%2e%2e/x'), '/%2e%2e%2e/x', 'three dots are no dot segment')
  t.equal(p('/a%2eb/x'), '/a%2eb/x', 'an encoded dot inside a segment')
  t.equal(p('/a?x=/%2e%2e/'), '/a?x=/%2e%2e/', 'the query is left alone')
})
