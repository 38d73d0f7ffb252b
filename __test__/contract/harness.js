'use strict'
// Per-backend test harness: opens stores on fresh targets and destroys every
// store a test opened once the test is over.

const { createStore } = require('../..')
const { uid } = require('../helpers/util')

function createHarness(factory) {
  const open = []

  const h = {
    factory,
    name: factory.name,
    persistent: factory.persistent,

    /**
     * A new store on a fresh, empty target, plus one session in it.
     * `tweaks` is passed to factory.make (e.g. `{ cacheTtlMs: { retryMs: 100 } }`).
     */
    open(tweaks) {
      const target = factory.make(tweaks)
      const store = createStore(target.options)
      open.push(store)
      const sessionId = uid('session')
      return { store, target, sessionId, s: store.session(sessionId) }
    },

    /** A new store on the same data as `target` (a restart). Persistent factories only. */
    reopen(target) {
      if (typeof target.reopen !== 'function') throw new Error(`${factory.name} cannot reopen`)
      const next = target.reopen()
      const store = createStore(next.options)
      open.push(store)
      return { store, target: next }
    },

    /** Registers a store created outside open() so it is destroyed after the test. */
    track(store) {
      open.push(store)
      return store
    },

    async closeAll() {
      const stores = open.splice(0)
      await Promise.allSettled(stores.map((store) => store.destroy()))
    }
  }
  return h
}

module.exports = { createHarness }
