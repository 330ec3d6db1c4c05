'use strict'

module.exports = require('neostandard')({
  ts: true,
  ignores: ['dist/**', '.tap/**', 'coverage/**', 'node_modules/**', 'test/.snippets/**']
})
