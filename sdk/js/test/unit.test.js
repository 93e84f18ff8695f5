// Unit tests with an injected fetch (and, for what fetch really sends, a raw
// node:http server): requests, headers, bodies, signatures, nonces, timeouts.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

import AppWheelDefault, { AppWheel, DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS, ErrorCodes } from '../src/index.js'
import { APP_ID, PLATFORM, SECRET, envelopeResponse, expectedSignature, recordingFetch, sign } from './helpers.js'

const BASE = 'https://appwheel.example.com'

function client(fetch, options = {}) {
  return new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl: BASE, fetch, ...options })
}

// Every call, its expected method, URL (after BASE), JSON body or undefined, and whether it is a write.
const cases = [
  {
    name: 'createPaymentMethod checkout',
    call: (c, o) => c.createPaymentMethod({ appUserId: 'appuserid', type: 'checkout', successUrl: 'http://www.baidu.com?success', cancelUrl: 'http://www.baidu.com?cancelurl' }, o),
    method: 'POST',
    url: '/v1/stripe/payment-methods',
    body: '{"appUserId":"appuserid","type":"checkout","successUrl":"http://www.baidu.com?success","cancelUrl":"http://www.baidu.com?cancelurl"}',
    write: true,
  },
  {
    name: 'createPaymentMethod setupIntent (undefined fields left out)',
    call: (c, o) => c.createPaymentMethod({ appUserId: 'u1', type: 'setupIntent', successUrl: undefined, makeDefault: undefined }, o),
    method: 'POST',
    url: '/v1/stripe/payment-methods',
    body: '{"appUserId":"u1","type":"setupIntent"}',
    write: true,
  },
  {
    name: 'createPaymentMethod makeDefault true',
    call: (c, o) => c.createPaymentMethod({ appUserId: 'u1', type: 'setupIntent', makeDefault: true }, o),
    method: 'POST',
    url: '/v1/stripe/payment-methods',
    body: '{"appUserId":"u1","type":"setupIntent","makeDefault":true}',
    write: true,
  },
  {
    name: 'createPaymentMethod checkout makeDefault false',
    call: (c, o) => c.createPaymentMethod({ appUserId: 'u1', type: 'checkout', successUrl: 'https://s.example.com/ok', cancelUrl: 'https://s.example.com/no', makeDefault: false }, o),
    method: 'POST',
    url: '/v1/stripe/payment-methods',
    body: '{"appUserId":"u1","type":"checkout","successUrl":"https://s.example.com/ok","cancelUrl":"https://s.example.com/no","makeDefault":false}',
    write: true,
  },
  {
    name: 'paymentMethod',
    call: (c, o) => c.paymentMethod({ appUserId: 'appuserid' }, o),
    method: 'GET',
    url: '/v1/stripe/payment-methods?appUserId=appuserid',
  },
  {
    name: 'removePaymentMethod',
    call: (c, o) => c.removePaymentMethod({ appUserId: 'stripe_test', methodId: 'pm_1LQnxxxx' }, o),
    method: 'DELETE',
    url: '/v1/stripe/payment-methods/pm_1LQnxxxx?appUserId=stripe_test',
    write: true,
  },
  {
    name: 'removePaymentMethod force',
    call: (c, o) => c.removePaymentMethod({ appUserId: 'stripe_test', methodId: 'pm_1', force: true }, o),
    method: 'DELETE',
    url: '/v1/stripe/payment-methods/pm_1?appUserId=stripe_test&force=true',
    write: true,
  },
  {
    name: 'removePaymentMethod force false',
    call: (c, o) => c.removePaymentMethod({ appUserId: 'u', methodId: 'pm_1', force: false }, o),
    method: 'DELETE',
    url: '/v1/stripe/payment-methods/pm_1?appUserId=u',
    write: true,
  },
  {
    name: 'invoices',
    call: (c, o) => c.invoices({ appUserId: 'stripe_test' }, o),
    method: 'GET',
    url: '/v1/stripe/invoices?appUserId=stripe_test',
  },
  {
    name: 'invoices with a page',
    call: (c, o) => c.invoices({ appUserId: 'stripe_test', limit: 5, startingAfter: 'in_123' }, o),
    method: 'GET',
    url: '/v1/stripe/invoices?appUserId=stripe_test&limit=5&startingAfter=in_123',
  },
  {
    name: 'setDefaultPaymentMethod',
    call: (c, o) => c.setDefaultPaymentMethod({ appUserId: 'u1', methodId: 'pm_2' }, o),
    method: 'POST',
    url: '/v1/stripe/payment-methods/pm_2/default',
    body: '{"appUserId":"u1"}',
    write: true,
  },
  {
    name: 'subscriptions',
    call: (c, o) => c.subscriptions({ appUserId: 'u1' }, o),
    method: 'GET',
    url: '/v1/stripe/subscriptions?appUserId=u1',
  },
  {
    name: 'linkCustomer',
    call: (c, o) => c.linkCustomer({ appUserId: 'u1', customerId: 'cus_Existing1' }, o),
    method: 'POST',
    url: '/v1/stripe/customer-links',
    body: '{"appUserId":"u1","customerId":"cus_Existing1"}',
    write: true,
  },
  {
    name: 'startCustomerImport by metadataKey',
    call: (c, o) => c.startCustomerImport({ metadataKey: 'user_id' }, o),
    method: 'POST',
    url: '/v1/stripe/customer-imports',
    body: '{"metadataKey":"user_id"}',
    write: true,
  },
  {
    name: 'startCustomerImport pairs, dry run',
    call: (c, o) => c.startCustomerImport({ pairs: [{ appUserId: 'u1', customerId: 'cus_1' }, { appUserId: 'u2', customerId: 'cus_2' }], dryRun: true }, o),
    method: 'POST',
    url: '/v1/stripe/customer-imports',
    body: '{"pairs":[{"appUserId":"u1","customerId":"cus_1"},{"appUserId":"u2","customerId":"cus_2"}],"dryRun":true}',
    write: true,
  },
  {
    name: 'customerImportStatus',
    call: (c, o) => c.customerImportStatus(o),
    method: 'GET',
    url: '/v1/stripe/customer-imports/latest',
  },
  {
    name: 'createPortalSession',
    call: (c, o) => c.createPortalSession({ appUserId: 'u1', returnUrl: 'https://shop.example.com/account', locale: 'zh-CN' }, o),
    method: 'POST',
    url: '/v1/stripe/portal-sessions',
    body: '{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"zh-CN"}',
    write: true,
  },
  {
    name: 'createPortalSession without a locale (undefined left out)',
    call: (c, o) => c.createPortalSession({ appUserId: 'u1', returnUrl: 'https://shop.example.com/account', locale: undefined }, o),
    method: 'POST',
    url: '/v1/stripe/portal-sessions',
    body: '{"appUserId":"u1","returnUrl":"https://shop.example.com/account"}',
    write: true,
  },
  {
    name: 'special characters, encoded in path and query',
    call: (c, o) => c.removePaymentMethod({ appUserId: "用户 a+b&c=d/é'!*()~", methodId: 'pm/x?y#z %' }, o),
    method: 'DELETE',
    url: '/v1/stripe/payment-methods/pm%2Fx%3Fy%23z%20%25?appUserId=%E7%94%A8%E6%88%B7+a%2Bb%26c%3Dd%2F%C3%A9%27%21*%28%29%7E',
    write: true,
  },
]

describe('requests', () => {
  for (const tc of cases) {
    test(tc.name, async () => {
      const { fetch, calls } = recordingFetch()
      const before = Math.floor(Date.now() / 1000)
      const res = await tc.call(client(fetch))
      const after = Math.floor(Date.now() / 1000)
      assert.equal(calls.length, 1)
      const [call] = calls
      assert.equal(res, call.response, 'resolves to the fetch Response itself')
      assert.equal(call.init.method, tc.method)
      assert.equal(call.url, BASE + tc.url)
      assert.equal(call.init.body, tc.body)
      assert.equal(call.thisArg, undefined, 'fetch is called unbound')
      const h = call.headers
      assert.equal(h.get('X-AppWheel-App-Id'), APP_ID)
      assert.equal(h.get('X-AppWheel-Platform'), PLATFORM)
      const ts = Number(h.get('X-AppWheel-Timestamp'))
      assert.match(h.get('X-AppWheel-Timestamp'), /^\d+$/)
      assert.ok(ts >= before && ts <= after, 'timestamp is now, in Unix seconds')
      assert.match(h.get('X-AppWheel-Nonce'), /^[\x21-\x7e]{1,64}$/)
      assert.match(h.get('X-AppWheel-Signature'), /^v1=[0-9a-f]{64}$/)
      assert.equal(h.get('X-AppWheel-Signature'), expectedSignature(call))
      assert.equal(h.get('Content-Type'), tc.body === undefined ? null : 'application/json')
      assert.equal(h.get('Idempotency-Key'), null)
      assert.equal(h.get('Authorization'), null, 'the secret never travels')
      for (const [, v] of h) assert.ok(!v.includes(SECRET), 'the secret never travels')
      assert.ok(call.init.signal instanceof AbortSignal, 'the default timeout applies')
    })
  }

  test('Idempotency-Key on writes only', async () => {
    for (const tc of cases) {
      const { fetch, calls } = recordingFetch()
      await tc.call(client(fetch), { idempotencyKey: 'key-' + tc.name })
      assert.equal(calls[0].headers.get('Idempotency-Key'), tc.write ? 'key-' + tc.name : null, tc.name)
      assert.equal(calls[0].headers.get('X-AppWheel-Signature'), expectedSignature(calls[0]), 'the key is not signed')
    }
  })

  test('the document examples, as written, with the default export', async () => {
    const { fetch, calls } = recordingFetch()
    const appwheel = new AppWheelDefault(APP_ID, PLATFORM, SECRET, { baseUrl: BASE, fetch })
    const results = await Promise.all([
      appwheel.createPaymentMethod({
        "appUserId": "appuserid",
        "type": "checkout",
        "successUrl": "http://www.baidu.com?success",
        "cancelUrl": "http://www.baidu.com?cancelurl"
      }).then(res => res.json()).then(json => console.log),
      appwheel.paymentMethod({
        "appUserId": "appuserid"
      }).then(res => res.json()).then(json => console.log),
      appwheel.removePaymentMethod({
        "appUserId": "stripe_test",
        "methodId" :"pm_1LQnxxxx"
      }).then(res => res.json()).then(json => console.log),
      appwheel.invoices({
        "appUserId": "stripe_test"
      }).then(res => res.json()).then(json => console.log),
    ])
    assert.deepEqual(results, [console.log, console.log, console.log, console.log])
    // Started together, they reach fetch in any order (signing is asynchronous).
    assert.deepEqual(calls.map((c) => `${c.init.method} ${c.url.slice(BASE.length)}`).sort(), [
      'POST /v1/stripe/payment-methods',
      'GET /v1/stripe/payment-methods?appUserId=appuserid',
      'DELETE /v1/stripe/payment-methods/pm_1LQnxxxx?appUserId=stripe_test',
      'GET /v1/stripe/invoices?appUserId=stripe_test',
    ].sort())
  })

  test('a fresh nonce, and so a fresh signature, for identical requests', async () => {
    const { fetch, calls } = recordingFetch()
    const c = client(fetch)
    await Promise.all(Array.from({ length: 20 }, () => c.paymentMethod({ appUserId: 'u1' })))
    const nonces = new Set(calls.map((k) => k.headers.get('X-AppWheel-Nonce')))
    const sigs = new Set(calls.map((k) => k.headers.get('X-AppWheel-Signature')))
    assert.equal(nonces.size, 20)
    assert.equal(sigs.size, 20)
    for (const k of calls) assert.equal(k.headers.get('X-AppWheel-Signature'), expectedSignature(k))
  })

  test('every write carries a nonce, signed, new each time, also for identical writes', async () => {
    const writes = cases.filter((tc) => tc.write)
    assert.ok(writes.some((tc) => tc.method === 'POST') && writes.some((tc) => tc.method === 'DELETE'))
    for (const tc of writes) {
      const { fetch, calls } = recordingFetch()
      const c = client(fetch)
      await Promise.all([tc.call(c), tc.call(c), tc.call(c)])
      const nonces = calls.map((k) => k.headers.get('X-AppWheel-Nonce'))
      for (const [i, k] of calls.entries()) {
        assert.match(nonces[i], /^[\x21-\x7e]{1,64}$/, `${tc.name}: X-AppWheel-Nonce is required on ${tc.method}`)
        // Signed: the string-to-sign ends with "\n" + nonce, so another nonce breaks it.
        assert.equal(k.headers.get('X-AppWheel-Signature'), expectedSignature(k), tc.name)
        const u = new URL(k.url)
        const without = sign(SECRET, k.headers.get('X-AppWheel-Timestamp'), k.init.method, u.pathname + u.search, k.init.body ?? '', '')
        assert.notEqual(k.headers.get('X-AppWheel-Signature'), without, `${tc.name}: the nonce is signed`)
      }
      assert.equal(new Set(nonces).size, 3, `${tc.name}: identical writes get distinct nonces`)
    }
  })

  test('makeDefault is sent only when given, as the boolean given', async () => {
    const { fetch, calls } = recordingFetch()
    const c = client(fetch)
    await c.createPaymentMethod({ appUserId: 'u1', type: 'setupIntent', makeDefault: true })
    await c.createPaymentMethod({ appUserId: 'u1', type: 'setupIntent', makeDefault: false })
    await c.createPaymentMethod({ appUserId: 'u1', type: 'setupIntent' })
    assert.deepEqual(calls.map((k) => JSON.parse(k.init.body)), [
      { appUserId: 'u1', type: 'setupIntent', makeDefault: true },
      { appUserId: 'u1', type: 'setupIntent', makeDefault: false },
      { appUserId: 'u1', type: 'setupIntent' },
    ])
    assert.ok(!('makeDefault' in JSON.parse(calls[2].init.body)))
    for (const k of calls) assert.equal(k.headers.get('X-AppWheel-Signature'), expectedSignature(k), 'the body sent is the body signed')
  })

  test('linkCustomer sends exactly appUserId and customerId, and resolves to the link', async () => {
    const link = { appUserId: 'u1', customerId: 'cus_Existing1' }
    const { fetch, calls } = recordingFetch(() => envelopeResponse(link))
    const c = client(fetch)
    const res = await c.linkCustomer({ customerId: 'cus_Existing1', appUserId: 'u1', force: true, metadata: { a: 'b' } }, { idempotencyKey: 'link-u1' })
    assert.equal(res, calls[0].response)
    assert.deepEqual((await res.json()).data, link)
    const [call] = calls
    assert.equal(call.init.method, 'POST')
    assert.equal(call.url, BASE + '/v1/stripe/customer-links')
    assert.equal(call.init.body, '{"appUserId":"u1","customerId":"cus_Existing1"}', 'only the two fields, in order')
    assert.equal(call.headers.get('Content-Type'), 'application/json')
    assert.equal(call.headers.get('Idempotency-Key'), 'link-u1')
    assert.match(call.headers.get('X-AppWheel-Nonce'), /^[\x21-\x7e]{1,64}$/)
    assert.equal(call.headers.get('X-AppWheel-Signature'), expectedSignature(call))
    // Missing fields are left out, for the server to refuse (1001).
    await c.linkCustomer({ appUserId: 'u1' })
    assert.equal(calls[1].init.body, '{"appUserId":"u1"}')
    await assert.rejects(c.linkCustomer(), TypeError)
    await assert.rejects(c.linkCustomer('u1'), TypeError)
    assert.equal(calls.length, 2)
  })

  test('startCustomerImport sends exactly metadataKey, pairs and dryRun, and resolves to the status', async () => {
    const status = { importId: 'imp_0123456789abcdef01234567', state: 'linking', metadataKey: '', dryRun: false, background: true,
      seen: 2, pending: 2, linked: 0, skipped: 0, failed: 0, error: '', createdAt: '1700000000', updatedAt: '1700000000', finishedAt: '0' }
    const { fetch, calls } = recordingFetch(() => envelopeResponse(status))
    const c = client(fetch)
    const pairs = [{ customerId: 'cus_1', appUserId: 'u1', email: 'a@example.com' }, { appUserId: 'u2', customerId: 'cus_2' }]
    const res = await c.startCustomerImport({ pairs, dryRun: false, background: false, appUserId: 'u1' }, { idempotencyKey: 'import-1' })
    assert.equal(res, calls[0].response)
    assert.deepEqual((await res.json()).data, status)
    const [call] = calls
    assert.equal(call.init.method, 'POST')
    assert.equal(call.url, BASE + '/v1/stripe/customer-imports')
    assert.equal(call.init.body, '{"pairs":[{"appUserId":"u1","customerId":"cus_1"},{"appUserId":"u2","customerId":"cus_2"}],"dryRun":false}',
      'only the three fields, and each pair with only its two, in order')
    assert.equal(call.headers.get('Content-Type'), 'application/json')
    assert.equal(call.headers.get('Idempotency-Key'), 'import-1')
    assert.match(call.headers.get('X-AppWheel-Nonce'), /^[\x21-\x7e]{1,64}$/)
    assert.equal(call.headers.get('X-AppWheel-Signature'), expectedSignature(call))
    assert.equal(pairs[0].email, 'a@example.com', "the caller's pairs are left as they are")
    // What the server refuses (1001) is sent as given: both, neither, pairs that are not objects.
    await c.startCustomerImport({ metadataKey: 'user_id', pairs: [{ appUserId: 'u1', customerId: 'cus_1' }] })
    await c.startCustomerImport({})
    await c.startCustomerImport({ pairs: [['u1', 'cus_1'], null, 'u2'] })
    await c.startCustomerImport({ pairs: { u1: 'cus_1' } })
    assert.deepEqual(calls.slice(1).map((k) => k.init.body), [
      '{"metadataKey":"user_id","pairs":[{"appUserId":"u1","customerId":"cus_1"}]}',
      '{}',
      '{"pairs":[["u1","cus_1"],null,"u2"]}',
      '{"pairs":{"u1":"cus_1"}}',
    ])
    await assert.rejects(c.startCustomerImport(), TypeError)
    await assert.rejects(c.startCustomerImport('user_id'), TypeError)
    assert.equal(calls.length, 5)
  })

  test('customerImportStatus asks for the latest import, with no body, and resolves to its status', async () => {
    const status = { importId: 'imp_1', state: 'finished', metadataKey: 'user_id', dryRun: true, background: true,
      seen: 5, pending: 0, linked: 2, skipped: 3, failed: 0, error: '', createdAt: '1700000000', updatedAt: '1700000009', finishedAt: '1700000009' }
    const { fetch, calls } = recordingFetch(() => envelopeResponse(status))
    const c = client(fetch)
    const res = await c.customerImportStatus()
    assert.deepEqual((await res.json()).data, status)
    const [call] = calls
    assert.equal(call.init.method, 'GET')
    assert.equal(call.url, BASE + '/v1/stripe/customer-imports/latest')
    assert.equal(call.init.body, undefined)
    assert.equal(call.headers.get('Content-Type'), null)
    assert.equal(call.headers.get('X-AppWheel-Signature'), expectedSignature(call))
    await assert.rejects(c.customerImportStatus('latest'), TypeError)
    const none = { code: 1004, data: null, message: 'app app_test has no import' }
    const missing = client(recordingFetch(() => new Response(JSON.stringify(none), { status: 404 })).fetch)
    const r = await missing.customerImportStatus()
    assert.equal(r.status, 404)
    assert.equal((await r.json()).code, ErrorCodes.NOT_FOUND)
  })

  test('createPortalSession sends exactly appUserId, returnUrl and locale, and resolves to the session', async () => {
    const session = { url: 'https://appwheel.example.com/portal/AbCdEf0123456789', expiresAt: '1700000300' }
    const { fetch, calls } = recordingFetch(() => envelopeResponse(session))
    const c = client(fetch)
    const res = await c.createPortalSession({ locale: 'en', returnUrl: 'https://shop.example.com/account', appUserId: 'u1', type: 'checkout' }, { idempotencyKey: 'portal-u1' })
    assert.equal(res, calls[0].response)
    assert.deepEqual((await res.json()).data, session)
    const [call] = calls
    assert.equal(call.init.method, 'POST')
    assert.equal(call.url, BASE + '/v1/stripe/portal-sessions')
    assert.equal(call.init.body, '{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"en"}', 'only the three fields, in order')
    assert.equal(call.headers.get('Content-Type'), 'application/json')
    assert.equal(call.headers.get('Idempotency-Key'), 'portal-u1')
    assert.match(call.headers.get('X-AppWheel-Nonce'), /^[\x21-\x7e]{1,64}$/)
    assert.equal(call.headers.get('X-AppWheel-Signature'), expectedSignature(call))
    // What the server refuses (1001: a missing field, a locale it does not have) is sent as given.
    await c.createPortalSession({ appUserId: 'u1' })
    await c.createPortalSession({ appUserId: 'u1', returnUrl: 'https://shop.example.com/account', locale: 'fr' })
    assert.deepEqual(calls.slice(1).map((k) => k.init.body), [
      '{"appUserId":"u1"}',
      '{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"fr"}',
    ])
    await assert.rejects(c.createPortalSession(), TypeError)
    await assert.rejects(c.createPortalSession('u1'), TypeError)
    assert.equal(calls.length, 3)
    const refused = { code: 1003, data: null, message: 'returnUrl host "evil.example.net" is not allowed for this app' }
    const r = await client(recordingFetch(() => new Response(JSON.stringify(refused), { status: 403 })).fetch)
      .createPortalSession({ appUserId: 'u1', returnUrl: 'https://evil.example.net/' })
    assert.equal(r.status, 403)
    assert.equal((await r.json()).code, ErrorCodes.FORBIDDEN)
  })

  test('response data reaches the caller as the server sent it (movedSubscriptionIds, paymentMethodId)', async () => {
    const removed = { methodId: 'pm_1', newDefaultMethodId: 'pm_2', movedSubscriptionIds: ['sub_1', 'sub_2'] }
    const subs = { subscriptions: [{ id: 'sub_1', status: 'active', orderStatus: 1, productId: 'price_1', productPeriod: 'P1M', currentPeriodEnd: '1700000000', cancelAtPeriodEnd: false, paymentMethodId: 'pm_2' }] }
    const { fetch } = recordingFetch((url, init) => envelopeResponse(init.method === 'DELETE' ? removed : subs))
    const c = client(fetch)
    assert.deepEqual((await (await c.removePaymentMethod({ appUserId: 'u1', methodId: 'pm_1' })).json()).data, removed)
    assert.deepEqual((await (await c.subscriptions({ appUserId: 'u1' })).json()).data, subs)
  })

  test('a wrong secret makes a different signature', async () => {
    const { fetch, calls } = recordingFetch()
    await client(fetch).paymentMethod({ appUserId: 'u1' })
    assert.notEqual(calls[0].headers.get('X-AppWheel-Signature'), expectedSignature(calls[0], SECRET + 'x'))
  })

  test('the body and query leave out undefined and null', async () => {
    const { fetch, calls } = recordingFetch()
    const c = client(fetch)
    await c.invoices({ appUserId: 'u1', limit: undefined, startingAfter: null })
    await c.createPaymentMethod({ appUserId: 'u1', type: 'checkout', cancelUrl: undefined, extra: 'not sent' })
    assert.equal(calls[0].url, BASE + '/v1/stripe/invoices?appUserId=u1')
    assert.equal(calls[1].init.body, '{"appUserId":"u1","type":"checkout"}')
  })

  test('missing appUserId is left to the server to refuse (1001)', async () => {
    const { fetch, calls } = recordingFetch()
    await client(fetch).paymentMethod({})
    assert.equal(calls[0].url, BASE + '/v1/stripe/payment-methods')
  })

  test('error responses are resolved, not thrown', async () => {
    const body = { code: 1004, data: null, message: 'no such payment method' }
    const { fetch } = recordingFetch(() => new Response(JSON.stringify(body), { status: 404 }))
    const res = await client(fetch).removePaymentMethod({ appUserId: 'u', methodId: 'pm_x' })
    assert.equal(res.status, 404)
    assert.deepEqual(await res.json(), body)
    assert.equal(body.code, ErrorCodes.NOT_FOUND)
  })
})

describe('base URL', () => {
  test('defaults to http://127.0.0.1:8080', async () => {
    assert.equal(DEFAULT_BASE_URL, 'http://127.0.0.1:8080')
    const { fetch, calls } = recordingFetch()
    await new AppWheel(APP_ID, PLATFORM, SECRET, { fetch }).subscriptions({ appUserId: 'u' })
    assert.equal(calls[0].url, 'http://127.0.0.1:8080/v1/stripe/subscriptions?appUserId=u')
  })

  test('a path prefix is kept, and signed', async () => {
    for (const baseUrl of ['https://api.example.com/appwheel', 'https://api.example.com/appwheel/', 'https://api.example.com/appwheel//']) {
      const { fetch, calls } = recordingFetch()
      await new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl, fetch }).paymentMethod({ appUserId: 'u' })
      assert.equal(calls[0].url, 'https://api.example.com/appwheel/v1/stripe/payment-methods?appUserId=u')
      const ts = calls[0].headers.get('X-AppWheel-Timestamp')
      const nonce = calls[0].headers.get('X-AppWheel-Nonce')
      assert.equal(calls[0].headers.get('X-AppWheel-Signature'),
        sign(SECRET, ts, 'GET', '/appwheel/v1/stripe/payment-methods?appUserId=u', '', nonce))
    }
  })

  test('a trailing slash is dropped', async () => {
    const { fetch, calls } = recordingFetch()
    await new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl: 'http://localhost:9000/', fetch }).paymentMethod({ appUserId: 'u' })
    assert.equal(calls[0].url, 'http://localhost:9000/v1/stripe/payment-methods?appUserId=u')
  })
})

describe('argument checks', () => {
  test('the constructor refuses what cannot work', () => {
    assert.throws(() => new AppWheel('', PLATFORM, SECRET), TypeError)
    assert.throws(() => new AppWheel(APP_ID, undefined, SECRET), TypeError)
    assert.throws(() => new AppWheel(APP_ID, PLATFORM), /appSecret/)
    assert.throws(() => new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl: '127.0.0.1:8080' }), /baseUrl/)
    assert.throws(() => new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl: 'ftp://x' }), /baseUrl/)
    assert.throws(() => new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl: 'http://x/?a=b' }), /baseUrl/)
    assert.throws(() => new AppWheel(APP_ID, PLATFORM, SECRET, { fetch: 'no' }), /fetch/)
    assert.throws(() => new AppWheel(APP_ID, PLATFORM, SECRET, { timeoutMs: -1 }), /timeoutMs/)
    assert.throws(() => new AppWheel(APP_ID, PLATFORM, SECRET, null), /options/)
  })

  test('the secret is not on the instance', () => {
    const c = new AppWheel(APP_ID, PLATFORM, SECRET)
    assert.ok(!JSON.stringify(c).includes(SECRET))
    assert.deepEqual(Object.keys(c), [])
  })

  test('calls reject, never throw synchronously, on bad arguments', async () => {
    const { fetch, calls } = recordingFetch()
    const c = client(fetch)
    for (const methodId of [undefined, '', '.', '..', 42]) {
      const p = c.removePaymentMethod({ appUserId: 'u', methodId })
      assert.ok(p instanceof Promise)
      await assert.rejects(p, TypeError)
      await assert.rejects(c.setDefaultPaymentMethod({ appUserId: 'u', methodId }), TypeError)
    }
    await assert.rejects(c.paymentMethod(), TypeError)
    await assert.rejects(c.invoices('u1'), TypeError)
    await assert.rejects(c.paymentMethod({ appUserId: 'u' }, 'options'), TypeError)
    assert.equal(calls.length, 0)
  })

  test('ids made only of dots but longer than two are sent, encoded as is', async () => {
    const { fetch, calls } = recordingFetch()
    await client(fetch).removePaymentMethod({ appUserId: 'u', methodId: '...' })
    assert.equal(calls[0].url, BASE + '/v1/stripe/payment-methods/...?appUserId=u')
  })
})

// hangingFetch never answers; it rejects with the signal's reason, as fetch
// does. Like a real pending request (its socket), it keeps the event loop
// alive: AbortSignal.timeout's timer does not.
function hangingFetch(init) {
  return new Promise((_, reject) => {
    const { signal } = init
    if (!signal) return
    const alive = setInterval(() => {}, 1000)
    const fail = () => { clearInterval(alive); reject(signal.reason) }
    if (signal.aborted) fail()
    else signal.addEventListener('abort', fail, { once: true })
  })
}

describe('timeouts and cancellation', () => {
  test('the default timeout is 30 s', () => {
    assert.equal(DEFAULT_TIMEOUT_MS, 30000)
  })

  test('timeoutMs aborts a call with a TimeoutError', async () => {
    const c = client((url, init) => hangingFetch(init), { timeoutMs: 50 })
    const started = Date.now()
    await assert.rejects(c.paymentMethod({ appUserId: 'u' }), { name: 'TimeoutError' })
    const took = Date.now() - started
    assert.ok(took >= 40 && took < 5000, `aborted after ${took} ms`)
  })

  test('timeoutMs 0 means no timeout signal', async () => {
    const { fetch, calls } = recordingFetch()
    await client(fetch, { timeoutMs: 0 }).paymentMethod({ appUserId: 'u' })
    await client(fetch, { timeoutMs: Infinity }).paymentMethod({ appUserId: 'u' })
    assert.equal(calls[0].init.signal, undefined)
    assert.equal(calls[1].init.signal, undefined)
  })

  test("a caller's signal aborts a call, alongside the timeout", async () => {
    const c = client((url, init) => hangingFetch(init), { timeoutMs: 10000 })
    const ac = new AbortController()
    const p = c.invoices({ appUserId: 'u' }, { signal: ac.signal })
    setTimeout(() => ac.abort(new Error('user gave up')), 20)
    await assert.rejects(p, /user gave up/)
    const already = AbortSignal.abort(new Error('before'))
    await assert.rejects(c.createPaymentMethod({ appUserId: 'u', type: 'setupIntent' }, { signal: already }), /before/)
  })

  test('with the real fetch, a server that never answers is cut off', async () => {
    const sockets = new Set()
    const server = createServer(() => { /* never answers */ })
    server.on('connection', (s) => sockets.add(s))
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    try {
      const c = new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl: `http://127.0.0.1:${server.address().port}`, timeoutMs: 200 })
      const started = Date.now()
      await assert.rejects(c.paymentMethod({ appUserId: 'u' }), { name: 'TimeoutError' })
      assert.ok(Date.now() - started < 5000)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    }
  })
})

describe('what the real fetch sends', () => {
  test('the signature covers the raw request-target and the body bytes as received', async () => {
    const received = []
    const server = createServer((req, res) => {
      const chunks = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        const nonce = req.headers['x-appwheel-nonce']
        const expected = sign(SECRET, req.headers['x-appwheel-timestamp'], req.method, req.url, body, nonce)
        // As AppWheel does: writes must carry a nonce, reads may omit it.
        const nonceOk = req.method === 'GET' ? nonce === undefined || /^[\x21-\x7e]{1,64}$/.test(nonce) : /^[\x21-\x7e]{1,64}$/.test(nonce ?? '')
        const ok = expected === req.headers['x-appwheel-signature'] && nonceOk
        received.push({ method: req.method, url: req.url, headers: req.headers, body: body.toString('utf8'), ok })
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify(ok ? { code: 0, data: {}, message: 'success' } : { code: 1002, data: null, message: 'signature does not match the request' }))
      })
    })
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    try {
      const baseUrl = `http://127.0.0.1:${server.address().port}/prefix`
      const c = new AppWheel(APP_ID, PLATFORM, SECRET, { baseUrl })
      const user = "用户 a+b&c=d/é'!*()~%"
      const method = "pm_[x]{y}|\\^`'!*()~ é"
      const results = await Promise.all([
        c.createPaymentMethod({ appUserId: user, type: 'checkout', successUrl: 'https://shop.example.com/ok?x=1&y=é', cancelUrl: 'https://shop.example.com/c' }),
        c.paymentMethod({ appUserId: user }),
        c.removePaymentMethod({ appUserId: user, methodId: method, force: true }),
        c.invoices({ appUserId: user, limit: 3, startingAfter: 'in_ü' }),
        c.setDefaultPaymentMethod({ appUserId: user, methodId: method }),
        c.subscriptions({ appUserId: user }),
        c.linkCustomer({ appUserId: user, customerId: 'cus_Existing1' }),
        c.startCustomerImport({ pairs: [{ appUserId: user, customerId: 'cus_Existing1' }], dryRun: true }),
        c.customerImportStatus(),
        c.createPortalSession({ appUserId: user, returnUrl: 'https://shop.example.com/back?x=1&y=é', locale: 'zh-CN' }),
      ])
      for (const res of results) assert.equal(res.status, 200)
      assert.equal(received.length, 10)
      for (const r of received) {
        assert.ok(r.ok, `${r.method} ${r.url}: signature verified over the raw target`)
        assert.ok(r.url.startsWith('/prefix/v1/stripe/'))
      }
      const post = received.find((r) => r.method === 'POST' && r.url === '/prefix/v1/stripe/payment-methods')
      assert.deepEqual(JSON.parse(post.body), { appUserId: user, type: 'checkout', successUrl: 'https://shop.example.com/ok?x=1&y=é', cancelUrl: 'https://shop.example.com/c' })
      assert.equal(post.headers['content-type'], 'application/json')
      const link = received.find((r) => r.method === 'POST' && r.url === '/prefix/v1/stripe/customer-links')
      assert.deepEqual(JSON.parse(link.body), { appUserId: user, customerId: 'cus_Existing1' })
      assert.equal(link.headers['content-type'], 'application/json')
      const imp = received.find((r) => r.method === 'POST' && r.url === '/prefix/v1/stripe/customer-imports')
      assert.deepEqual(JSON.parse(imp.body), { pairs: [{ appUserId: user, customerId: 'cus_Existing1' }], dryRun: true })
      const portal = received.find((r) => r.method === 'POST' && r.url === '/prefix/v1/stripe/portal-sessions')
      assert.deepEqual(JSON.parse(portal.body), { appUserId: user, returnUrl: 'https://shop.example.com/back?x=1&y=é', locale: 'zh-CN' })
      assert.equal(portal.headers['content-type'], 'application/json')
      const latest = received.find((r) => r.method === 'GET' && r.url === '/prefix/v1/stripe/customer-imports/latest')
      assert.equal(latest.body, '')
      const del = received.find((r) => r.method === 'DELETE')
      assert.equal(decodeURIComponent(del.url.split('?')[0].split('/').pop()), method)
      assert.equal(new URLSearchParams(del.url.split('?')[1]).get('appUserId'), user)
      const get = received.find((r) => r.method === 'GET')
      assert.equal(get.body, '')
      assert.equal(get.headers['content-type'], undefined)
    } finally {
      await new Promise((r) => server.close(r))
    }
  })
})

describe('runtimes', () => {
  test('without a global crypto (Node 18), node:crypto webcrypto is used', () => {
    const sdk = new URL('../src/index.js', import.meta.url).href
    const helpers = new URL('./helpers.js', import.meta.url).href
    const script = `
      Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true })
      const { AppWheel } = await import(${JSON.stringify(sdk)})
      const { recordingFetch, expectedSignature } = await import(${JSON.stringify(helpers)})
      const { fetch, calls } = recordingFetch()
      const c = new AppWheel('app_x', 'stripe', ${JSON.stringify(SECRET)}, { fetch })
      await c.paymentMethod({ appUserId: 'u' })
      await c.paymentMethod({ appUserId: 'u' })
      if (globalThis.crypto !== undefined) throw new Error('crypto still global')
      if (calls[0].headers.get('X-AppWheel-Signature') !== expectedSignature(calls[0])) throw new Error('bad signature')
      if (calls[0].headers.get('X-AppWheel-Nonce') === calls[1].headers.get('X-AppWheel-Nonce')) throw new Error('same nonce')
      console.log('ok')
    `
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000, cwd: fileURLToPath(new URL('.', import.meta.url)) })
    assert.equal(r.stderr, '')
    assert.equal(r.stdout.trim(), 'ok')
  })

  test('without AbortSignal.any and AbortSignal.timeout (Node 18), timeouts and signals still abort', () => {
    const sdk = new URL('../src/index.js', import.meta.url).href
    const script = `
      delete AbortSignal.any
      delete AbortSignal.timeout
      if (AbortSignal.any || AbortSignal.timeout) throw new Error('still there')
      const { AppWheel } = await import(${JSON.stringify(sdk)})
      const hanging = (url, init) => new Promise((_, reject) => {
        if (init.signal.aborted) return reject(init.signal.reason)
        const alive = setInterval(() => {}, 1000)
        init.signal.addEventListener('abort', () => { clearInterval(alive); reject(init.signal.reason) }, { once: true })
      })
      const c = new AppWheel('app_x', 'stripe', 'secret', { fetch: hanging, timeoutMs: 50 })
      const started = Date.now()
      const timedOut = await c.paymentMethod({ appUserId: 'u' }).catch((e) => e)
      if (timedOut.name !== 'TimeoutError') throw new Error('timeout: ' + timedOut)
      if (Date.now() - started > 3000) throw new Error('too slow')
      const ac = new AbortController()
      const long = new AppWheel('app_x', 'stripe', 'secret', { fetch: hanging, timeoutMs: 10000 })
      const p = long.invoices({ appUserId: 'u' }, { signal: ac.signal }).catch((e) => e)
      setTimeout(() => ac.abort(new Error('cancelled')), 20) // once the request is in flight
      if ((await p).message !== 'cancelled') throw new Error('signal: ' + (await p))
      console.log('ok')
    `
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 })
    assert.equal(r.stderr, '')
    assert.equal(r.stdout.trim(), 'ok')
  })

  test('the body hash is over UTF-8 bytes', async () => {
    const { fetch, calls } = recordingFetch()
    await client(fetch).setDefaultPaymentMethod({ appUserId: '用户', methodId: 'pm_1' })
    const body = calls[0].init.body
    assert.equal(body, '{"appUserId":"用户"}')
    const u = new URL(calls[0].url)
    const ts = calls[0].headers.get('X-AppWheel-Timestamp')
    const nonce = calls[0].headers.get('X-AppWheel-Nonce')
    assert.equal(calls[0].headers.get('X-AppWheel-Signature'), sign(SECRET, ts, 'POST', u.pathname, Buffer.from(body, 'utf8'), nonce))
    assert.equal(createHash('sha256').update(Buffer.from(body, 'utf8')).digest('hex'), createHash('sha256').update(body).digest('hex'))
  })
})

test('exports', () => {
  assert.equal(AppWheelDefault, AppWheel)
  assert.equal(typeof AppWheel, 'function')
  for (const m of ['createPaymentMethod', 'paymentMethod', 'removePaymentMethod', 'invoices', 'setDefaultPaymentMethod', 'subscriptions', 'linkCustomer',
    'startCustomerImport', 'customerImportStatus', 'createPortalSession']) {
    assert.equal(typeof AppWheel.prototype[m], 'function', m)
  }
  assert.deepEqual(Object.getOwnPropertyNames(AppWheel.prototype).sort(),
    ['constructor', 'createPaymentMethod', 'createPortalSession', 'customerImportStatus', 'invoices', 'linkCustomer', 'paymentMethod',
      'removePaymentMethod', 'setDefaultPaymentMethod', 'startCustomerImport', 'subscriptions'])
  assert.equal(envelopeResponse() instanceof Response, true)
})
