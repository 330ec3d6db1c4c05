// Unit tests of lib/links/uri/uri-template.ts: RFC 6570 level 1 templates, parsed once at registration
// and expanded per relation value.
import t from 'tap'
import { expandUriTemplate, parseUriTemplate, templateValue, type UriTemplate } from '../../../lib/links/uri/uri-template.js'

/** Parses a template that must be valid, failing the test with the parse error otherwise. */
function parsed (source: string): UriTemplate {
  const template = parseUriTemplate(source)
  if (typeof template === 'string') throw new Error(`"${source}" should parse: ${template}`)
  return template
}

/** Expands a one-variable template with `value`. */
function expandOne (source: string, value: unknown): string | null {
  return expandUriTemplate(parsed(source), () => value)
}

t.test('parseUriTemplate: valid templates', async (t) => {
  t.same(parseUriTemplate('/authors/{id}'), {
    source: '/authors/{id}',
    variables: ['id'],
    literals: ['/authors/', ''],
    parts: ['id'],
    pathParts: 1
  }, 'one variable at the end')

  t.same(parseUriTemplate('{id}'), { source: '{id}', variables: ['id'], literals: ['', ''], parts: ['id'], pathParts: 1 },
    'a template that is only a variable')

  t.same(parseUriTemplate('/shelves/{shelf}/books/{book}.json'), {
    source: '/shelves/{shelf}/books/{book}.json',
    variables: ['shelf', 'book'],
    literals: ['/shelves/', '/books/', '.json'],
    parts: ['shelf', 'book'],
    pathParts: 2
  }, 'literal parts around and between variables are kept')

  t.same(parseUriTemplate('{a}{b}'), { source: '{a}{b}', variables: ['a', 'b'], literals: ['', '', ''], parts: ['a', 'b'], pathParts: 2 },
    'adjacent variables get an empty literal between them')

  t.same(parseUriTemplate('/static'), { source: '/static', variables: [], literals: ['/static'], parts: [], pathParts: 0 },
    'a template without variables parses (the annotation layer rejects it)')

  t.same(parseUriTemplate(''), { source: '', variables: [], literals: [''], parts: [], pathParts: 0 }, 'the empty template')

  t.same(parseUriTemplate('/{id}/{x}/{id}'), {
    source: '/{id}/{x}/{id}',
    variables: ['id', 'x'],
    literals: ['/', '/', '/', ''],
    parts: ['id', 'x', 'id'],
    pathParts: 3
  }, 'a repeated variable is listed once in variables, at each position in parts')

  t.same(parseUriTemplate('/a b/é?q=1&r=2#frag/{id}'), {
    source: '/a b/é?q=1&r=2#frag/{id}',
    variables: ['id'],
    literals: ['/a b/é?q=1&r=2#frag/', ''],
    parts: ['id'],
    pathParts: 0
  }, 'literal characters are copied as they are (the URI layer encodes them later)')
})

t.test('parseUriTemplate: variable names (RFC 6570 section 2.3)', async (t) => {
  const valid = ['id', 'ID', 'a1', '_', '0', 'snake_case', 'a.b', 'a.b.c', '%41', '%e9', 'a%2Fb', '%41.%42', 'x.%41_1']
  for (const name of valid) {
    const template = parseUriTemplate(`/x/{${name}}`)
    t.same(template, { source: `/x/{${name}}`, variables: [name], literals: ['/x/', ''], parts: [name], pathParts: 1 }, `{${name}} is a valid name`)
  }

  const invalid: [string, string][] = [
    ['', 'empty expression'],
    ['a-b', 'hyphen'],
    ['a b', 'space'],
    ['a..b', 'empty dotted part'],
    ['a.', 'trailing dot'],
    ['%4', 'truncated pct-encoding'],
    ['%zz', 'non-hex pct-encoding'],
    ['%', 'lone percent'],
    ['é', 'non-ASCII'],
    ['a{b', 'nested opening brace'],
    ['$a', 'dollar'],
    ['a~b', 'tilde'],
    ['(a)', 'parentheses'],
    ['a\nb', 'newline']
  ]
  for (const [name, why] of invalid) {
    t.equal(parseUriTemplate(`/x/{${name}}`), `"{${name}}" is not a valid variable name`, `{${name}} is rejected (${why})`)
  }
})

t.test('parseUriTemplate: level 2 to 4 expressions are rejected', async (t) => {
  const higher: [string, string][] = [
    ['+id', 'reserved expansion (level 2)'],
    ['#id', 'fragment expansion (level 2)'],
    ['.id', 'label expansion (level 3)'],
    ['/id', 'path segment expansion (level 3)'],
    [';id', 'path-style parameters (level 3)'],
    ['?id', 'form-style query (level 3)'],
    ['&id', 'form-style query continuation (level 3)'],
    ['=id', 'reserved operator ='],
    [',id', 'reserved operator ,'],
    ['!id', 'reserved operator !'],
    ['@id', 'reserved operator @'],
    ['|id', 'reserved operator |'],
    ['a,b', 'several variables (level 3)'],
    ['id*', 'explode modifier (level 4)'],
    ['id:3', 'prefix modifier (level 4)'],
    ['+a,b*', 'combined operator and modifiers']
  ]
  for (const [expression, why] of higher) {
    t.equal(parseUriTemplate(`/x/{${expression}}`),
      `"{${expression}}" needs RFC 6570 level 2 or more; only simple "{name}" expressions are supported`,
      `{${expression}} is rejected: ${why}`)
  }
})

t.test('parseUriTemplate: malformed braces', async (t) => {
  t.equal(parseUriTemplate('/authors/{id'), 'unclosed "{" at offset 9', 'unclosed brace, with its offset')
  t.equal(parseUriTemplate('{'), 'unclosed "{" at offset 0', 'a lone opening brace')
  t.equal(parseUriTemplate('/a/{id}/{'), 'unclosed "{" at offset 8', 'the second expression is unclosed')
  t.equal(parseUriTemplate('/authors/id}'), 'unexpected "}" at offset 11', 'a stray closing brace, with its offset')
  t.equal(parseUriTemplate('}'), 'unexpected "}" at offset 0', 'a lone closing brace')
  t.equal(parseUriTemplate('/{id}}'), 'unexpected "}" at offset 5', 'a doubled closing brace')
  t.equal(parseUriTemplate('/{{id}}'), '"{{id}" is not a valid variable name', 'a doubled opening brace')
  t.equal(parseUriTemplate('/{}'), '"{}" is not a valid variable name', 'an empty expression')
  t.equal(parseUriTemplate('/{a}/{+b}'), '"{+b}" needs RFC 6570 level 2 or more; only simple "{name}" expressions are supported',
    'the first problem is reported even after a valid expression')
})

t.test('templateValue', async (t) => {
  t.equal(templateValue('abc'), 'abc', 'a string')
  t.equal(templateValue(' '), ' ', 'a blank string is a value')
  t.equal(templateValue(''), null, 'the empty string has no value (it would leave an empty segment)')
  t.equal(templateValue(42), '42', 'an integer')
  t.equal(templateValue(0), '0', 'zero')
  t.equal(templateValue(-0), '0', 'negative zero')
  t.equal(templateValue(-7), '-7', 'a negative integer')
  t.equal(templateValue(1.5), '1.5', 'a fraction')
  t.equal(templateValue(1e21), '1e+21', 'a large number in its JavaScript string form')
  t.equal(templateValue(Number.NaN), null, 'NaN')
  t.equal(templateValue(Number.POSITIVE_INFINITY), null, 'Infinity')
  t.equal(templateValue(Number.NEGATIVE_INFINITY), null, '-Infinity')
  t.equal(templateValue(12345678901234567890n), '12345678901234567890', 'a bigint')
  t.equal(templateValue(-1n), '-1', 'a negative bigint')
  t.equal(templateValue(true), null, 'true')
  t.equal(templateValue(false), null, 'false')
  t.equal(templateValue(null), null, 'null')
  t.equal(templateValue(undefined), null, 'undefined')
  t.equal(templateValue({ toString: () => '1' }), null, 'an object, even with toString')
  t.equal(templateValue(['1']), null, 'an array')
  t.equal(templateValue(new String('1')), null, 'a String object') // eslint-disable-line no-new-wrappers
  t.equal(templateValue(Symbol('s')), null, 'a symbol')
  t.equal(templateValue(() => '1'), null, 'a function')
})

t.test('expandUriTemplate: encoding of values (RFC 6570 section 3.2.2)', async (t) => {
  t.equal(expandOne('/authors/{id}', '1'), '/authors/1', 'a plain value')
  t.equal(expandOne('/authors/{id}', 1), '/authors/1', 'a number value')
  t.equal(expandOne('/authors/{id}', 9007199254740993n), '/authors/9007199254740993', 'a bigint value')
  t.equal(expandOne('/authors/{id}', 'AZaz09-._~'), '/authors/AZaz09-._~', 'unreserved characters stay as they are')
  t.equal(expandOne('/authors/{id}', 'a b/c'), '/authors/a%20b%2Fc', 'the example of the issue: space and slash')
  t.equal(expandOne('/x/{v}', "!'()*"), '/x/%21%27%28%29%2A', 'the sub-delims encodeURIComponent leaves alone')
  t.equal(expandOne('/x/{v}', ':/?#[]@$&+,;='), '/x/%3A%2F%3F%23%5B%5D%40%24%26%2B%2C%3B%3D', 'every reserved character')
  t.equal(expandOne('/x/{v}', '%41'), '/x/%2541', 'a percent sign is encoded (values are not pre-encoded)')
  t.equal(expandOne('/x/{v}', '<>"{}|\\^`'), '/x/%3C%3E%22%7B%7D%7C%5C%5E%60', 'characters outside RFC 3986')
  t.equal(expandOne('/x/{v}', '\r\n\0\t\x7f'), '/x/%0D%0A%00%09%7F', 'controls are percent-encoded, never kept')
  t.equal(expandOne('/x/{v}', 'é'), '/x/%C3%A9', 'non-ASCII as UTF-8 octets')
  t.equal(expandOne('/x/{v}', '中'), '/x/%E4%B8%AD', 'a three-byte character')
  t.equal(expandOne('/x/{v}', '😀'), '/x/%F0%9F%98%80', 'a surrogate pair as four octets')
  t.equal(expandOne('/x/{v}', 'a\ud800b'), null, 'a lone high surrogate has no UTF-8 form')
  t.equal(expandOne('/x/{v}', '\udc00'), null, 'a lone low surrogate has no UTF-8 form')
  t.equal(expandOne('/x/{v}', '1.5e3'), '/x/1.5e3', 'dots stay')
  t.equal(expandOne('/x/{v}', -2), '/x/-2', 'a negative number')
  t.equal(expandOne('/x/{v}', 1e21), '/x/1e%2B21', 'the plus of an exponent is encoded')
})

t.test('expandUriTemplate: values without a URI form', async (t) => {
  const unusable: [unknown, string][] = [
    ['', 'the empty string'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [true, 'true'],
    [false, 'false'],
    [null, 'null'],
    [undefined, 'undefined (missing property)'],
    [{ id: 1 }, 'an object'],
    [[1], 'an array']
  ]
  for (const [value, why] of unusable) {
    t.equal(expandOne('/authors/{id}', value), null, `${why} expands to null`)
  }
})

t.test('expandUriTemplate: "." and ".." in the path are skipped, never dot segments', async (t) => {
  // RFC 6570 leaves dots unencoded (unreserved), so "/authors/{id}" with ".." would be "/authors/..",
  // which resolves to "/": a value must never change which segments stand outside it.
  t.equal(expandOne('/authors/{id}', '..'), null, '".." would climb to /')
  t.equal(expandOne('/authors/{id}', '.'), null, '"." would be /authors/')
  t.equal(expandOne('/authors/{id}/books', '..'), null, 'in the middle of the path')
  t.equal(expandOne('{id}', '..'), null, 'a template that is only a variable')
  t.equal(expandOne('/authors/{id}.json', '.'), null, 'next to a literal dot, "." would make ".."')
  const two = parsed('/a/{x}/{y}')
  t.equal(expandUriTemplate(two, () => '..'), null, 'two ".." values cannot climb further')
  t.equal(expandUriTemplate(parsed('/a/{x}{y}'), () => '.'), null, 'nor two adjacent "." values make ".."')
  t.equal(expandUriTemplate(two, (name) => name === 'x' ? '1' : '.'), null, 'a later variable too')
  t.equal(expandOne('/authors/{id}', '...'), '/authors/...', 'three dots are no dot segment')
  t.equal(expandOne('/authors/{id}', '.a'), '/authors/.a', 'nor a dot and more')
  t.equal(expandOne('/authors/{id}', '%2e%2e'), '/authors/%252e%252e', 'an encoded form is encoded again: no dot segment')
  t.equal(expandOne('/search?q={q}', '..'), '/search?q=..', 'in the query, dots are data')
  t.equal(expandOne('/page#{id}', '.'), '/page#.', 'in the fragment too')
  t.equal(expandUriTemplate(parsed('/a/{x}?q={y}'), (name) => name === 'x' ? '1' : '..'), '/a/1?q=..', 'only the path variables count')
})

t.test('expandUriTemplate: several variables', async (t) => {
  const template = parsed('/shelves/{shelf}/books/{book}.json')
  const values: Record<string, unknown> = { shelf: 'sci fi', book: 7 }
  const asked: string[] = []
  const lookup = (name: string): unknown => {
    asked.push(name)
    return values[name]
  }
  t.equal(expandUriTemplate(template, lookup), '/shelves/sci%20fi/books/7.json', 'each variable in its place, literals kept')
  t.same(asked, ['shelf', 'book'], 'lookup is called once per expression, in order')

  t.equal(expandUriTemplate(parsed('{a}{b}'), (name) => name.toUpperCase()), 'AB', 'adjacent variables')
  t.equal(expandUriTemplate(parsed('/{a.b}/{%41}'), (name) => name === 'a.b' ? 'dotted' : name === '%41' ? 'pct' : null),
    '/dotted/pct', 'dotted and pct-encoded names are passed to lookup as written')

  const repeated: string[] = []
  t.equal(expandUriTemplate(parsed('/{id}/x/{id}'), (name) => {
    repeated.push(name)
    return 'v/1'
  }), '/v%2F1/x/v%2F1', 'a repeated variable is expanded at each position')
  t.same(repeated, ['id', 'id'], 'and looked up at each position')

  const shortCircuit: string[] = []
  t.equal(expandUriTemplate(template, (name) => {
    shortCircuit.push(name)
    return name === 'shelf' ? null : 'x'
  }), null, 'one missing variable makes the whole expansion null')
  t.same(shortCircuit, ['shelf'], 'expansion stops at the first missing variable')

  t.equal(expandUriTemplate(template, (name) => name === 'book' ? '\ud800' : 'x'), null,
    'a lone surrogate in a later variable makes the whole expansion null')

  t.equal(expandUriTemplate(parsed('/static'), () => t.fail('lookup must not be called')), '/static',
    'a template without variables expands to its literal')
  t.equal(expandUriTemplate(parsed('/a b/é/{id}'), () => 1), '/a b/é/1', 'literal parts are copied unchanged')
})
