'use strict'
// A strict reader of Prometheus text exposition, for the metrics tests.

const assert = require('node:assert/strict')

/**
 * A strict reader of the Prometheus text format 0.0.4: every line is a HELP,
 * a TYPE or a sample; each family has one HELP and one TYPE before its
 * samples; names and labels are well formed; values are numbers; no series
 * repeats. Returns Map<family, { type, samples: [{ labels, value }] }>.
 */
function parsePrometheus(text) {
  assert.ok(text.endsWith('\n'), 'ends with a newline')
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
  const families = new Map()
  const series = new Set()
  let current = null
  for (const line of text.slice(0, -1).split('\n')) {
    let m
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      assert.match(m[1], NAME)
      assert.ok(!families.has(m[1]), `one HELP for ${m[1]}`)
      current = { name: m[1], help: m[2], type: null, samples: [] }
      families.set(m[1], current)
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(current && current.name === m[1] && current.type === null, `TYPE of ${m[1]} follows its HELP`)
      current.type = m[2]
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line))) {
      assert.ok(current && current.name === m[1] && current.type, `sample ${m[1]} under its family`)
      const labels = {}
      if (m[2] !== undefined) {
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y
        let pos = 0
        while (pos < m[2].length) {
          re.lastIndex = pos
          const l = re.exec(m[2])
          assert.ok(l, `label syntax in: ${line}`)
          assert.ok(!(l[1] in labels), `label ${l[1]} once`)
          labels[l[1]] = l[2]
          pos = re.lastIndex
        }
      }
      assert.match(m[3], /^(?:[+-]?(?:\d+(?:\.\d*)?(?:e[+-]?\d+)?|NaN|Inf))$/i, `value of ${line}`)
      const value = Number(m[3].replace(/Inf$/i, 'Infinity'))
      if (current.type === 'counter') assert.ok(value >= 0, `counter ${line} is not negative`)
      const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`
      assert.ok(!series.has(key), `series once: ${line}`)
      series.add(key)
      current.samples.push({ labels, value })
    } else {
      assert.fail(`not Prometheus text: ${JSON.stringify(line)}`)
    }
  }
  return families
}

module.exports = { parsePrometheus }
