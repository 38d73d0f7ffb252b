'use strict'
// The cache-hit fast paths of the Signal domains, in JS: the native peek
// answers from the Signal cache when it can (a record, or null when known
// absent) and JS wraps it in an already-resolved promise, which is cheaper
// than building one through napi. Anything the cache cannot answer alone
// (misses, bad arguments, no cache) goes to the native method unchanged.
function install({ SessionStore, SenderKeyStore }) {
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
}

module.exports = { install }
