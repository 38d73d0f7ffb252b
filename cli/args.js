'use strict'
// A small strict argument parser: `--name value`, `--name=value`, boolean
// flags, and positionals. Unknown options are usage errors (exit 2).

const { UsageError } = require('./errors')

/**
 * spec: { valued?: string[], repeatable?: string[], flags?: string[] }
 * Returns { positional: string[], values: { name: string }, lists: { name: string[] }, flags: Set<string> }
 * (names without the leading dashes). `-h` is `--help`.
 */
function parseArgs(argv, spec = {}) {
  const valued = new Set(spec.valued || [])
  const repeatable = new Set(spec.repeatable || [])
  const flags = new Set([...(spec.flags || []), '--help'])
  const out = { positional: [], values: {}, lists: {}, flags: new Set() }
  for (const name of repeatable) out.lists[name.slice(2)] = []
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] === '-h' ? '--help' : argv[i]
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (valued.has(name) || repeatable.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`)
      const key = name.slice(2)
      if (repeatable.has(name)) out.lists[key].push(value)
      else if (out.values[key] !== undefined) throw new UsageError(`${name} given twice`)
      else out.values[key] = value
    } else if (flags.has(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`)
      out.flags.add(name.slice(2))
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}`)
    } else {
      out.positional.push(arg)
    }
  }
  return out
}

/** A comma-separated list of session ids (`a,b`), each non-empty. */
function sessionList(text, flag) {
  const ids = text.split(',').map((s) => s.trim())
  if (ids.some((id) => id === '')) throw new UsageError(`${flag} takes session ids separated by commas, e.g. ${flag} a,b`)
  return [...new Set(ids)]
}

/** A positive integer option. */
function positiveInt(text, flag, max) {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be an integer from 1 to ${max}, got '${text}'`)
  return n
}

module.exports = { parseArgs, sessionList, positiveInt }
