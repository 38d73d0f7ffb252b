'use strict'
// The cache-hit fast paths of the Signal domains, in JS: the native peek
// answers from the Signal cache when it can (a record, or null when known
// absent) and JS wraps it in an already-resolved promise, which is cheaper
// than building one through napi. Anything the cache cannot answer alone
// (misses, bad arguments, no cache) goes to the native method unchanged.
function install({ SessionStore, SenderKeyStore, KeyStore }) {
  const getSession = SessionStore.prototype.getSession
  SessionStore.prototype.getSession = function (address) {
    if (address !== null && typeof address === 'object') {
      const hit = this.peekSession(address.user, address.server, address.device)
      if (hit !== undefined) return Promise.resolve(hit)
    }
    return getSession.call(this, address)
  }
  const getDeviceSenderKey = SenderKeyStore.prototype.getDeviceSenderKey
  SenderKeyStore.prototype.getDeviceSenderKey = function (groupId, sender) {
    if (sender !== null && typeof sender === 'object') {
      const hit = this.peekDeviceSenderKey(groupId, sender.user, sender.server, sender.device)
      if (hit !== undefined) return Promise.resolve(hit)
    }
    return getDeviceSenderKey.call(this, groupId, sender)
  }
  // Baileys' keys.get: every id cached (value or known absence) answers at once.
  const getKeys = KeyStore.prototype.get
  KeyStore.prototype.get = function (type, ids, options) {
    const asNull = missingAsNull(options)
    if (asNull !== undefined && typeof type === 'string' && Array.isArray(ids) && ids.every(isString)) {
      const hit = this.peek(type, ids, asNull)
      if (hit !== undefined) return Promise.resolve(hit)
    }
    return getKeys.call(this, type, ids, options)
  }
}

const isString = (x) => typeof x === 'string'

/** `get`'s `{ missing }` option as a boolean, `undefined` when unusual (the native call reports it). */
function missingAsNull(options) {
  if (options === undefined || options === null) return false
  if (typeof options !== 'object') return undefined
  const missing = options.missing
  if (missing === undefined || missing === 'omit') return false
  return missing === 'null' ? true : undefined
}

module.exports = { install }
