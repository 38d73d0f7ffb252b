'use strict'
// The package root: the native bindings that `napi build` generates (index.js)
// plus the hand-written client adapters. Kept as plain re-exports so ESM
// `import { createStore, useBaileysAuthState, createZaileysMessageStore } from 'wastore'` sees every name.
module.exports = {
  ...require('./index.js'),
  ...require('./adapters/baileys.js'),
  ...require('./adapters/zaileys.js')
}
