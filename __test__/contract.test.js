'use strict'
// Runs the whole behavioural contract (./contract/) once per backend.
// Backends are listed in ./helpers/backends.js; add a factory there to cover a new one.
// WASTORE_BACKENDS=sqlite,memory limits the run to the named factories.

const { factories } = require('./helpers/backends')
const { registerContractSuite } = require('./contract')

const only = (process.env.WASTORE_BACKENDS || '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean)

for (const factory of factories()) {
  if (only.length > 0 && !only.includes(factory.name)) continue
  registerContractSuite(factory)
}
