// The CommonJS build (dist/index.cjs, from `npm run build`): it loads with
// require(), exports what the ESM source exports, is generated from the
// current source, and signs the same way. Also the package's "exports" map.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import * as esm from '../src/index.js'
import { APP_ID, PLATFORM, SECRET, expectedSignature, recordingFetch } from './helpers.js'

const require = createRequire(import.meta.url)
const file = (rel) => fileURLToPath(new URL(rel, import.meta.url))

test('dist/index.cjs loads with require() and exports the same names as the ESM source', () => {
  const cjs = require('../dist/index.cjs')
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).sort())
  assert.equal(cjs.default, cjs.AppWheel)
  assert.equal(cjs.__esModule, true)
  assert.equal(cjs.DEFAULT_BASE_URL, esm.DEFAULT_BASE_URL)
  assert.equal(cjs.DEFAULT_TIMEOUT_MS, esm.DEFAULT_TIMEOUT_MS)
  assert.deepEqual(cjs.ErrorCodes, esm.ErrorCodes)
  assert.deepEqual(Object.getOwnPropertyNames(cjs.AppWheel.prototype).sort(), Object.getOwnPropertyNames(esm.AppWheel.prototype).sort())
  assert.equal(cjs.AppWheel.length, esm.AppWheel.length)
  assert.equal(typeof cjs.verifyWebhook, 'function')
  assert.equal(typeof cjs.AppWheel.verifyWebhook, 'function')
  assert.equal(new cjs.AppWheelWebhookError('invalid_body', 'x').code, 'invalid_body')
})

test('dist/index.cjs is built from the current src/index.js (run `npm run build`)', () => {
  const src = readFileSync(file('../src/index.js'), 'utf8')
  const cjs = readFileSync(file('../dist/index.cjs'), 'utf8')
  const body = src.replace(/^export \{[^}]*\}\s*$/m, '').replace(/^export default \w+\s*$/m, '').trimEnd()
  assert.ok(cjs.includes(body), 'dist/index.cjs is stale')
  assert.equal(readFileSync(file('../dist/index.d.cts'), 'utf8').replace(/^\/\/ Generated[^\n]*\n/, ''), readFileSync(file('../index.d.ts'), 'utf8'))
})

test('the CommonJS class makes the same signed requests', async () => {
  const { AppWheel } = require('../dist/index.cjs')
  const { fetch, calls } = recordingFetch()
  const c = new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl: 'http://127.0.0.1:1', fetch })
  await c.removePaymentMethod({ appUserId: 'u 1', methodId: 'pm_1', force: true }, { idempotencyKey: 'k' })
  const [call] = calls
  assert.equal(call.url, 'http://127.0.0.1:1/v1/stripe/payment-methods/pm_1?appUserId=u+1&force=true')
  assert.equal(call.init.method, 'DELETE')
  assert.equal(call.headers.get('Idempotency-Key'), 'k')
  assert.equal(call.headers.get('X-AppWheel-Signature'), expectedSignature(call))
})

test('the package name resolves: require -> dist/index.cjs, import -> src/index.js', async () => {
  assert.equal(require.resolve('appwheel'), file('../dist/index.cjs'))
  assert.equal(import.meta.resolve('appwheel'), new URL('../src/index.js', import.meta.url).href)
  const viaImport = await import('appwheel')
  assert.equal(viaImport.AppWheel, esm.AppWheel)
  assert.equal(require('appwheel').AppWheel, require('../dist/index.cjs').AppWheel)
  assert.equal(typeof require('appwheel').verifyWebhook, 'function')
  const pkg = JSON.parse(readFileSync(file('../package.json'), 'utf8'))
  assert.equal(pkg.type, 'module')
  assert.deepEqual(pkg.engines, { node: '>=18' })
  assert.deepEqual(pkg.dependencies ?? {}, {}, 'no runtime dependencies')
  for (const f of ['src/', 'dist/', 'index.d.ts']) assert.ok(pkg.files.includes(f), f)
})

test('require(\'appwheel\').verifyWebhook verifies a delivery (node:crypto through require)', () => {
  const { verifyWebhook, AppWheelWebhookError } = require('appwheel')
  const body = '{"id":"evt_1","type":"payment_method.added","created":1790000000,"appUserId":"u1","data":{}}'
  const headers = {
    'x-appwheel-signature': 'v1=c5c82db96189a28d508d6de06cce503842a641904117e9b004aff4d6f1e7b75d',
    'x-appwheel-timestamp': '1790000000',
    'x-appwheel-nonce': 'n1',
  }
  assert.equal(verifyWebhook(body, headers, 'awhsec_test_vector', { now: 1790000000 * 1000 }).id, 'evt_1')
  assert.throws(() => verifyWebhook(body, headers, 'awhsec_other', { now: 1790000000 * 1000 }), (e) => e instanceof AppWheelWebhookError && e.code === 'signature_mismatch')
})
