'use strict'
// The package root: the native bindings that `napi build` generates (index.js)
// plus the hand-written client adapters. Kept as plain `...require()` re-exports
// (not a variable) so Node's CommonJS export detection lets ESM
// `import { createStore, useBaileysAuthState } from 'wastore'` see every name.
require('./fast.js').install(require('./index.js'))

module.exports = {
  ...require('./index.js'),
  ...require('./adapters/baileys.js')
}
