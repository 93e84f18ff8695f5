// Shared by the tests: an independent implementation of AppWheel's request
// signature (node:crypto, not Web Crypto) and a fetch that records its calls.
import { createHash, createHmac } from 'node:crypto'

export const APP_ID = 'app_test123'
export const PLATFORM = 'stripe'
export const SECRET = 'aws_test_secret_0123456789'

// sign is signature.Sign of the Go module: v1=hex(HMAC-SHA256(secret,
// timestamp "\n" METHOD "\n" target "\n" hex(SHA-256(body)) ["\n" nonce])).
export function sign(secret, timestamp, method, target, body, nonce) {
  const bodyHash = createHash('sha256').update(body ?? '').digest('hex')
  let s = `${timestamp}\n${method}\n${target}\n${bodyHash}`
  if (nonce) s += `\n${nonce}`
  return 'v1=' + createHmac('sha256', secret).update(s).digest('hex')
}

export function envelopeResponse(data = {}, status = 200) {
  return new Response(JSON.stringify({ code: 0, data, message: 'success' }), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': 'req_test' },
  })
}

// recordingFetch answers every call with a success envelope and keeps
// { url, init, headers, response, thisArg } for each.
export function recordingFetch(respond = () => envelopeResponse()) {
  const calls = []
  const fetch = function (url, init) {
    const response = respond(url, init)
    calls.push({ url, init, headers: new Headers(init.headers), response, thisArg: this })
    return Promise.resolve(response)
  }
  return { fetch, calls }
}

// verify checks a recorded call's signature headers against an independent
// computation over the URL's path and query and the body sent.
export function expectedSignature(call, secret = SECRET) {
  const u = new URL(call.url)
  return sign(
    secret,
    call.headers.get('X-AppWheel-Timestamp'),
    call.init.method,
    u.pathname + u.search,
    call.init.body ?? '',
    call.headers.get('X-AppWheel-Nonce'),
  )
}
