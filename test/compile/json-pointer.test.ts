// Unit tests of lib/compile/json-pointer.ts: RFC 6901 pointers in `$ref` fragments, and the escaping
// of payload positions (where `*` stands for every element and `~2` for a literal "*" key).
import t from 'tap'
import { escapePointerToken, parseJsonPointer } from '../../lib/compile/json-pointer.js'

t.test('escapePointerToken', async (t) => {
  t.equal(escapePointerToken('author'), 'author', 'a plain key is kept')
  t.equal(escapePointerToken(''), '', 'the empty key')
  t.equal(escapePointerToken('@id'), '@id', 'an @ key')
  t.equal(escapePointerToken('a b%20é'), 'a b%20é', 'spaces, percent signs and non-ASCII are not escaped')
  t.equal(escapePointerToken('a/b'), 'a~1b', '/ becomes ~1')
  t.equal(escapePointerToken('a~b'), 'a~0b', '~ becomes ~0')
  t.equal(escapePointerToken('~1'), '~01', '~ is escaped before /, so ~1 stays distinct from /')
  t.equal(escapePointerToken('/~'), '~1~0', 'both')
  t.equal(escapePointerToken('//~~'), '~1~1~0~0', 'every occurrence')
  t.equal(escapePointerToken('*'), '~2', 'a key that is exactly * becomes ~2')
  t.equal(escapePointerToken('**'), '**', 'only a key that is exactly * is escaped')
  t.equal(escapePointerToken('a*'), 'a*', 'a * inside a key is kept')
  t.equal(escapePointerToken('~2'), '~02', 'a key spelled ~2 stays distinct from *')
  t.equal(escapePointerToken('*/'), '*~1', 'a * key with more characters is escaped normally')
})

t.test('parseJsonPointer: pointers', async (t) => {
  t.same(parseJsonPointer(''), [], 'the empty fragment is the whole document')
  t.same(parseJsonPointer('/'), [''], '/ is the empty key')
  t.same(parseJsonPointer('//'), ['', ''], 'two empty keys')
  t.same(parseJsonPointer('/definitions/author'), ['definitions', 'author'], 'two tokens')
  t.same(parseJsonPointer('/$defs/Author/properties/id'), ['$defs', 'Author', 'properties', 'id'], 'TypeBox $defs')
  t.same(parseJsonPointer('/items/0'), ['items', '0'], 'array indexes stay strings')
  t.same(parseJsonPointer('/a~1b'), ['a/b'], '~1 is /')
  t.same(parseJsonPointer('/a~0b'), ['a~b'], '~0 is ~')
  t.same(parseJsonPointer('/~01'), ['~1'], '~01 is ~1, not / (RFC 6901 section 4: ~1 first, then ~0)')
  t.same(parseJsonPointer('/~0~1/~1~0'), ['~/', '/~'], 'several escapes')
  t.same(parseJsonPointer('/definitions/'), ['definitions', ''], 'a trailing slash is an empty last key')
  t.same(parseJsonPointer('/*'), ['*'], 'a * in a $ref pointer is a plain key')
})

t.test('parseJsonPointer: percent-decoding of URI fragments (RFC 6901 section 6)', async (t) => {
  t.same(parseJsonPointer('/a%20b'), ['a b'], '%20 is a space')
  t.same(parseJsonPointer('/%C3%A9'), ['é'], 'UTF-8 escapes')
  t.same(parseJsonPointer('/%7Bid%7D'), ['{id}'], 'braces')
  t.same(parseJsonPointer('/c%25d'), ['c%d'], '%25 is a percent sign')
  t.same(parseJsonPointer('%2Fdefinitions%2Fauthor'), ['definitions', 'author'], 'an escaped / is still a separator')
  t.same(parseJsonPointer('/a~1b%7E1c'), ['a/b/c'], '%7E1 decodes to ~1, an escape')
  t.same(parseJsonPointer('/%7E0'), ['~'], '%7E0 decodes to ~0')
  t.same(parseJsonPointer('/é'), ['é'], 'an unescaped non-ASCII fragment')
})

t.test('parseJsonPointer: not a pointer', async (t) => {
  t.equal(parseJsonPointer('author'), null, 'a plain-name fragment (an anchor)')
  t.equal(parseJsonPointer('definitions/author'), null, 'no leading slash')
  t.equal(parseJsonPointer('%41/a'), null, 'the first character after decoding is not a slash')
  t.equal(parseJsonPointer('/a%'), null, 'a truncated escape')
  t.equal(parseJsonPointer('/a%zz'), null, 'a non-hex escape')
  t.equal(parseJsonPointer('/%E0%A4%A'), null, 'an incomplete UTF-8 escape')
  t.equal(parseJsonPointer('/%FF'), null, 'an invalid UTF-8 byte')
  t.equal(parseJsonPointer('/%ED%A0%80'), null, 'an escaped lone surrogate')
})

t.test('escape then parse round-trips keys', async (t) => {
  // parseJsonPointer reads the URI-fragment form (percent-decoded first), escapePointerToken
  // writes the plain form: keys holding "%" are outside this round trip.
  const keys = ['', 'a', 'a/b', 'a~b', '~0', '~1', '/~', '~/', '//', '~~', 'é', 'a b', '@id', '$ref', '**', '~2']
  t.same(parseJsonPointer('/' + keys.map(escapePointerToken).join('/')), keys, 'the keys come back, in order')
  t.same(parseJsonPointer('/' + escapePointerToken('*')), ['~2'], '* is escaped for payload positions, which $ref pointers do not use')
})
