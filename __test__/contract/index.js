'use strict'
// The wastore behavioural contract: every domain, every backend.
// `registerContractSuite(factory)` registers one describe() block per domain
// area for the given backend factory (see ../helpers/backends.js).

const { describe, before, after, afterEach } = require('node:test')
const { createHarness } = require('./harness')

const AREAS = [
  'auth',
  'signal',
  'prekey',
  'sessions',
  'sender-keys',
  'app-state',
  'mailbox',
  'caches',
  'value-fidelity',
  'lifecycle',
  'isolation',
  'persistence',
  'hostile-input'
]

function registerContractSuite(factory, { timeout = 120_000 } = {}) {
  describe(`contract [${factory.name}]`, { timeout }, () => {
    const h = createHarness(factory)
    before(async () => {
      if (factory.setup) await factory.setup()
    })
    afterEach(async () => {
      await h.closeAll()
    })
    after(async () => {
      await h.closeAll()
      if (factory.teardown) await factory.teardown()
    })
    for (const area of AREAS) {
      require(`./${area}`)(h)
    }
  })
}

module.exports = { registerContractSuite, AREAS }
