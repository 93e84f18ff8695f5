// verifyWebhook: deliveries signed here with node:crypto, independently of the
// SDK, as AppWheel signs them (the request signature with POST and the fixed
// request-target "webhook"), and every way one fails.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import { AppWheel, AppWheelWebhookError, verifyWebhook } from '../src/index.js'

const SECRET = 'awhsec_0123456789abcdef'
const TS = 1790000000
const NOW = TS * 1000
const BODY = '{"id":"evt_1","type":"payment_method.added","created":1790000000,"appUserId":"u1","data":{"methodId":"pm_1"}}'

function signature(secret, timestamp, body, nonce) {
  const bodyHash = createHash('sha256').update(body).digest('hex')
  return 'v1=' + createHmac('sha256', secret).update(`${timestamp}\nPOST\nwebhook\n${bodyHash}\n${nonce}`).digest('hex')
}

// delivery is the body and Node-style (lowercase) headers of one attempt.
function delivery({ body = BODY, secret = SECRET, timestamp = TS, nonce = 'nonce-1' } = {}) {
  return {
    body,
    headers: {
      'x-appwheel-app-id': 'app_test123',
      'x-appwheel-platform': 'stripe',
      'x-appwheel-timestamp': String(timestamp),
      'x-appwheel-nonce': nonce,
      'x-appwheel-event-id': 'evt_1',
      'x-appwheel-signature': signature(secret, timestamp, body, nonce),
    },
  }
}

function fails(fn, code, message) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof AppWheelWebhookError, `not an AppWheelWebhookError: ${err}`)
    assert.ok(err instanceof Error)
    assert.equal(err.name, 'AppWheelWebhookError')
    assert.equal(err.code, code)
    if (message) assert.match(err.message, message)
    return true
  })
}

test('a signed delivery verifies and returns the event', () => {
  const { body, headers } = delivery()
  const event = AppWheel.verifyWebhook(body, headers, SECRET, { now: NOW })
  assert.deepEqual(event, JSON.parse(BODY))
  assert.deepEqual(verifyWebhook(body, headers, SECRET, { now: NOW }), event)
})

test('the body as a string, Buffer, Uint8Array or ArrayBuffer', () => {
  const { headers } = delivery()
  const bytes = new TextEncoder().encode(BODY)
  // A Uint8Array that is a view into a larger buffer, as Node's pooled Buffers are.
  const padded = new Uint8Array(bytes.length + 8)
  padded.set(bytes, 4)
  for (const body of [BODY, Buffer.from(BODY), bytes, padded.subarray(4, 4 + bytes.length), bytes.buffer.slice(0)]) {
    assert.equal(verifyWebhook(body, headers, SECRET, { now: NOW }).id, 'evt_1')
  }
})

test('a non-ASCII body is signed as its UTF-8 bytes', () => {
  const body = '{"id":"evt_2","type":"invoice.paid","created":1,"appUserId":"用户","data":{"note":"é"}}'
  const d = delivery({ body })
  assert.equal(verifyWebhook(body, d.headers, SECRET, { now: NOW }).appUserId, '用户')
  assert.equal(verifyWebhook(Buffer.from(body), d.headers, SECRET, { now: NOW }).appUserId, '用户')
})

test('headers as a Headers instance or a plain object, looked up in any case', () => {
  const { body, headers } = delivery()
  assert.equal(verifyWebhook(body, new Headers(headers), SECRET, { now: NOW }).id, 'evt_1')
  const mixed = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()), v]))
  assert.ok('X-Appwheel-Signature' in mixed)
  assert.equal(verifyWebhook(body, mixed, SECRET, { now: NOW }).id, 'evt_1')
  assert.equal(verifyWebhook(body, { ...headers, 'x-appwheel-nonce': [headers['x-appwheel-nonce']] }, SECRET, { now: NOW }).id, 'evt_1')
})

test('a tampered body or a wrong secret: signature_mismatch', () => {
  const { body, headers } = delivery()
  fails(() => verifyWebhook(body.replace('pm_1', 'pm_2'), headers, SECRET, { now: NOW }), 'signature_mismatch')
  fails(() => verifyWebhook(body + '\n', headers, SECRET, { now: NOW }), 'signature_mismatch')
  // Re-serializing changes the bytes (here, the whitespace) and so the signature.
  fails(() => verifyWebhook(JSON.stringify(JSON.parse(body), null, 1), headers, SECRET, { now: NOW }), 'signature_mismatch')
  fails(() => verifyWebhook(body, headers, SECRET + 'x', { now: NOW }), 'signature_mismatch')
  fails(() => verifyWebhook(body, { ...headers, 'x-appwheel-nonce': 'nonce-2' }, SECRET, { now: NOW }), 'signature_mismatch')
  // Signed for another request-target (the receiver's path) or method: not a delivery.
  const bodyHash = createHash('sha256').update(body).digest('hex')
  for (const [method, target] of [['POST', '/webhooks/appwheel'], ['GET', 'webhook']]) {
    const sig = 'v1=' + createHmac('sha256', SECRET).update(`${TS}\n${method}\n${target}\n${bodyHash}\nnonce-1`).digest('hex')
    fails(() => verifyWebhook(body, { ...headers, 'x-appwheel-signature': sig }, SECRET, { now: NOW }), 'signature_mismatch')
  }
  // The hex digits in upper case are the same signature.
  const upper = 'v1=' + headers['x-appwheel-signature'].slice(3).toUpperCase()
  assert.equal(verifyWebhook(body, { ...headers, 'x-appwheel-signature': upper }, SECRET, { now: NOW }).id, 'evt_1')
})

test('the timestamp: within the tolerance either way, else timestamp_out_of_tolerance', () => {
  const { body, headers } = delivery()
  for (const offset of [-300, -299, 0, 299, 300]) {
    assert.equal(verifyWebhook(body, headers, SECRET, { now: NOW + offset * 1000 }).id, 'evt_1', `${offset} s`)
  }
  fails(() => verifyWebhook(body, headers, SECRET, { now: NOW + 301 * 1000 }), 'timestamp_out_of_tolerance', /301 s ago \(tolerance 300 s\)/)
  fails(() => verifyWebhook(body, headers, SECRET, { now: NOW - 301 * 1000 }), 'timestamp_out_of_tolerance', /301 s in the future/)
  fails(() => verifyWebhook(body, headers, SECRET, { now: NOW + 300500 }), 'timestamp_out_of_tolerance', /300\.5 s ago/)
  // options.tolerance
  fails(() => verifyWebhook(body, headers, SECRET, { now: NOW + 61 * 1000, tolerance: 60 }), 'timestamp_out_of_tolerance', /tolerance 60 s/)
  assert.equal(verifyWebhook(body, headers, SECRET, { now: NOW + 3600 * 1000, tolerance: 3600 }).id, 'evt_1')
  // Default now: Date.now(), against which this 2026 delivery is stale or early.
  if (Math.abs(Date.now() - NOW) > 300000) fails(() => verifyWebhook(body, headers, SECRET), 'timestamp_out_of_tolerance')
  const fresh = delivery({ timestamp: Math.floor(Date.now() / 1000) })
  assert.equal(verifyWebhook(fresh.body, fresh.headers, SECRET).id, 'evt_1')
  // Not an integer of Unix seconds.
  for (const ts of ['abc', '1790000000.5', '-1790000000', '0', ' 1790000000', '1e9']) {
    fails(() => verifyWebhook(body, { ...headers, 'x-appwheel-timestamp': ts }, SECRET, { now: NOW }), 'timestamp_out_of_tolerance', /Unix seconds/)
  }
})

test('a missing header: missing_header, naming it', () => {
  const { body, headers } = delivery()
  for (const name of ['X-AppWheel-Signature', 'X-AppWheel-Timestamp', 'X-AppWheel-Nonce']) {
    const without = { ...headers }
    delete without[name.toLowerCase()]
    fails(() => verifyWebhook(body, without, SECRET, { now: NOW }), 'missing_header', new RegExp(name))
    fails(() => verifyWebhook(body, new Headers(without), SECRET, { now: NOW }), 'missing_header', new RegExp(name))
    fails(() => verifyWebhook(body, { ...headers, [name.toLowerCase()]: '' }, SECRET, { now: NOW }), 'missing_header', new RegExp(name))
  }
  // The signature is checked first.
  fails(() => verifyWebhook(body, {}, SECRET, { now: NOW }), 'missing_header', /X-AppWheel-Signature/)
  // The other headers are not needed to verify.
  const { 'x-appwheel-app-id': _a, 'x-appwheel-platform': _p, 'x-appwheel-event-id': _e, ...needed } = headers
  assert.equal(verifyWebhook(body, needed, SECRET, { now: NOW }).id, 'evt_1')
})

test('a malformed signature: malformed_signature', () => {
  const { body, headers } = delivery()
  const hex = headers['x-appwheel-signature'].slice(3)
  for (const sig of [hex, 'v2=' + hex, 'v1=' + hex.slice(1), 'v1=' + hex + '0', 'v1=' + hex.slice(1) + 'g', 'v1= ' + hex, 'sha256=' + hex]) {
    fails(() => verifyWebhook(body, { ...headers, 'x-appwheel-signature': sig }, SECRET, { now: NOW }), 'malformed_signature')
  }
  // Checked before the timestamp.
  fails(() => verifyWebhook(body, { ...headers, 'x-appwheel-signature': 'v1=x' }, SECRET, { now: 0 }), 'malformed_signature')
})

test('a parsed object as the body: a TypeError saying to pass the raw body', () => {
  const { body, headers } = delivery()
  for (const parsed of [JSON.parse(body), {}, [], null, undefined, 42]) {
    assert.throws(() => verifyWebhook(parsed, headers, SECRET, { now: NOW }), (err) => {
      assert.ok(err instanceof TypeError)
      assert.ok(!(err instanceof AppWheelWebhookError))
      assert.match(err.message, /raw request body/)
      assert.match(err.message, /express\.raw\(\{ type: 'application\/json' \}\)/)
      return true
    })
  }
  assert.throws(() => verifyWebhook(JSON.parse(body), headers, SECRET), /not a parsed object/)
})

test('a body that is not an event: invalid_body (after the signature)', () => {
  for (const body of ['not json', '[]', 'null', '"evt_1"', '{"id":"evt_1"}', '{"type":"invoice.paid"}', '{"id":1,"type":"invoice.paid"}', '{"id":"","type":"invoice.paid"}']) {
    const d = delivery({ body })
    fails(() => verifyWebhook(d.body, d.headers, SECRET, { now: NOW }), 'invalid_body')
  }
  const bad = Buffer.from([0x7b, 0xff, 0x7d]) // not UTF-8
  const d = delivery({ body: bad })
  fails(() => verifyWebhook(bad, d.headers, SECRET, { now: NOW }), 'invalid_body')
  // Unsigned garbage is a signature mismatch, not a body error.
  fails(() => verifyWebhook('not json', delivery().headers, SECRET, { now: NOW }), 'signature_mismatch')
})

test('wrong arguments: TypeError', () => {
  const { body, headers } = delivery()
  for (const secret of ['', undefined, null, 1]) {
    assert.throws(() => verifyWebhook(body, headers, secret, { now: NOW }), { name: 'TypeError', message: /secret/ })
  }
  assert.throws(() => verifyWebhook(body, undefined, SECRET), { name: 'TypeError', message: /headers/ })
  assert.throws(() => verifyWebhook(body, headers, SECRET, null), { name: 'TypeError', message: /options/ })
  assert.throws(() => verifyWebhook(body, headers, SECRET, { tolerance: -1 }), { name: 'TypeError', message: /tolerance/ })
  assert.throws(() => verifyWebhook(body, headers, SECRET, { tolerance: '300' }), { name: 'TypeError', message: /tolerance/ })
  assert.throws(() => verifyWebhook(body, headers, SECRET, { now: new Date(NOW) }), { name: 'TypeError', message: /now/ })
})

// The vector the Go side checks too (client.VerifyWebhook, signature.Sign).
test('test vector: awhsec_test_vector, 1790000000, n1', () => {
  const body = '{"id":"evt_1","type":"payment_method.added","created":1790000000,"appUserId":"u1","data":{}}'
  const bodyHash = createHash('sha256').update(body).digest('hex')
  const hex = createHmac('sha256', 'awhsec_test_vector').update(`1790000000\nPOST\nwebhook\n${bodyHash}\nn1`).digest('hex')
  assert.equal(hex, 'c5c82db96189a28d508d6de06cce503842a641904117e9b004aff4d6f1e7b75d')
  console.log(`webhook test vector: X-AppWheel-Signature: v1=${hex}`)
  const headers = { 'x-appwheel-signature': `v1=${hex}`, 'x-appwheel-timestamp': '1790000000', 'x-appwheel-nonce': 'n1' }
  const event = AppWheel.verifyWebhook(body, headers, 'awhsec_test_vector', { now: 1790000000 * 1000 })
  assert.deepEqual(event, { id: 'evt_1', type: 'payment_method.added', created: 1790000000, appUserId: 'u1', data: {} })
})

// ESM on a Node without process.getBuiltinModule (18, early 20): node:crypto is
// imported as the module loads, and verifyWebhook works once it has.
test('ESM without process.getBuiltinModule', () => {
  const src = new URL('../src/index.js', import.meta.url).href
  const { body, headers } = delivery()
  const script = `
    delete process.getBuiltinModule
    const { verifyWebhook } = await import(${JSON.stringify(src)})
    await new Promise((resolve) => setTimeout(resolve, 50))
    const event = verifyWebhook(${JSON.stringify(body)}, ${JSON.stringify(headers)}, ${JSON.stringify(SECRET)}, { now: ${NOW} })
    console.log(event.id)
  `
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000, cwd: fileURLToPath(new URL('..', import.meta.url)) })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'evt_1')
})
