// Type declarations of the AppWheel JavaScript SDK (docs/api.md in the repository is the contract).
// Uses the global fetch types (Response, RequestInit, AbortSignal): from the
// "DOM" lib, or from @types/node 18+.

/** Where AppWheel is reached unless `options.baseUrl` says otherwise. */
export declare const DEFAULT_BASE_URL: 'http://127.0.0.1:8080'
/** How long a call may take unless `options.timeoutMs` says otherwise (ms). */
export declare const DEFAULT_TIMEOUT_MS: 30000

/** The envelope codes of the contract. */
export declare const ErrorCodes: Readonly<{
  SUCCESS: 0
  INVALID: 1001
  UNAUTHENTICATED: 1002
  FORBIDDEN: 1003
  NOT_FOUND: 1004
  LAST_METHOD: 1005
  RATE_LIMITED: 1006
  IDEMPOTENCY: 1007
  CONFLICT: 1008
  STRIPE: 2001
  STRIPE_UNAVAILABLE: 2002
  INTERNAL: 5000
}>

/**
 * A failure's envelope code: 1001 invalid parameter (400), 1002 not authenticated (401),
 * 1003 forbidden (403), 1004 not found (404), 1005 last payment method of a live
 * subscription (409), 1006 rate limited (429), 1007 Idempotency-Key reused (409), 1008 conflict:
 * the Stripe customer is another user's, or (linkCustomer) the user already has another, or
 * (startCustomerImport) another import of the app is being worked on (409),
 * 2001 Stripe declined or rejected (402), 2002 Stripe unavailable, safe to retry (502/503),
 * 5000 internal (500).
 */
export type ErrorCode = 1001 | 1002 | 1003 | 1004 | 1005 | 1006 | 1007 | 1008 | 2001 | 2002 | 5000

/** Every response body: `code` 0 with `data`, or a failure's code with `data` null. */
export type Envelope<T> = SuccessEnvelope<T> | ErrorEnvelope

export interface SuccessEnvelope<T> {
  code: 0
  data: T
  message: string
}

export interface ErrorEnvelope {
  code: ErrorCode
  data: null
  /** What is wrong, in words a developer can act on. */
  message: string
  /** Stripe's account of a 2001 or 2002 failure. */
  stripe?: StripeErrorDetail
}

export interface StripeErrorDetail {
  type?: string
  code?: string
  declineCode?: string
  param?: string
  requestId?: string
  httpStatus?: number
}

/** The fetch Response of a call; `json()` resolves to its envelope. */
export interface TypedResponse<T> extends Response {
  json(): Promise<Envelope<T>>
  clone(): TypedResponse<T>
}

/** A fetch implementation: the global fetch, or one of the same shape. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

export interface AppWheelOptions {
  /** AppWheel's URL: scheme, host and optional path prefix. Default `http://127.0.0.1:8080`. */
  baseUrl?: string | undefined
  /** The fetch to call. Default `globalThis.fetch`, looked up at each call. */
  fetch?: FetchLike | undefined
  /** Abort a call after this many milliseconds (response body included). Default 30000; 0 or Infinity: never. */
  timeoutMs?: number | undefined
}

/** Per-call options of the reads. */
export interface CallOptions {
  /** Aborts the call (together with the client's timeout). */
  signal?: AbortSignal | undefined
}

/** Per-call options of the writes. */
export interface WriteOptions extends CallOptions {
  /** Sent as `Idempotency-Key`: a retry with the same key and request returns the first response (24 h). */
  idempotencyKey?: string | undefined
}

export type PaymentMethodType = 'checkout' | 'setupIntent'

export interface CreatePaymentMethodParams {
  /** The user's id in your app (1–128 characters), e.g. a login openid. */
  appUserId: string
  /** `checkout`: a Stripe Checkout page; `setupIntent`: a client secret to confirm with Stripe.js. */
  type: PaymentMethodType
  /** Absolute http(s) URL Checkout returns to after the method is added; required for `checkout`. */
  successUrl?: string | undefined
  /** Absolute http(s) URL Checkout returns to when the user cancels; required for `checkout`. */
  cancelUrl?: string | undefined
  /**
   * Make the new card the default even when the user has one (the first card a user adds
   * becomes the default either way). Sent only when given.
   */
  makeDefault?: boolean | undefined
}

export interface PaymentMethodParams {
  appUserId: string
}

export interface RemovePaymentMethodParams {
  appUserId: string
  /** A `pm_…` id from paymentMethod(). */
  methodId: string
  /** Remove the user's last method even while a live subscription needs it. */
  force?: boolean | undefined
}

export interface InvoicesParams {
  appUserId: string
  /** 1–100; default 20. */
  limit?: number | undefined
  /** The last `orderId` of the previous page. */
  startingAfter?: string | undefined
}

export interface SetDefaultPaymentMethodParams {
  appUserId: string
  methodId: string
}

export interface SubscriptionsParams {
  appUserId: string
}

export interface LinkCustomerParams {
  /** The user's id in your app (1–128 characters). */
  appUserId: string
  /** An existing customer of the app's Stripe account (`cus_…`), e.g. one your backend created before AppWheel. */
  customerId: string
}

/** One user and the existing Stripe customer to link it to. */
export interface CustomerImportPair {
  /** The user's id in your app (1–128 characters); a pair that cannot be linked is skipped, with the reason. */
  appUserId: string
  /** A customer of the app's Stripe account (`cus_…`). */
  customerId: string
}

/**
 * startCustomerImport's parameters: exactly one of `metadataKey` and `pairs`.
 * `dryRun` links nothing and counts what would be linked.
 */
export type StartCustomerImportParams =
  | {
      /** The customer metadata key holding the user's appUserId (at most 40 characters): every customer of the account is considered. */
      metadataKey: string
      pairs?: undefined
      dryRun?: boolean | undefined
    }
  | {
      metadataKey?: undefined
      /** The users and the customers to link them to (at most what fits in the 1 MiB body). */
      pairs: CustomerImportPair[]
      dryRun?: boolean | undefined
    }

/** The hosted billing page's languages. */
export type PortalLocale = 'en' | 'zh-CN'

export interface CreatePortalSessionParams {
  /** The user's id in your app (1–128 characters). */
  appUserId: string
  /**
   * Absolute http(s) URL the page's way back sends the user to; checked as createPaymentMethod's
   * `successUrl` is (1003 when the app lists allowed redirect hosts and its host is not among them).
   */
  returnUrl: string
  /** The page's language; without it, the one the user's browser prefers among them, else English. Sent only when given. */
  locale?: PortalLocale | undefined
}

/** createPaymentMethod's data: all four keys present, `""` where they do not apply. */
export interface PaymentMethodSetup {
  /** `checkout`: the page to send the user to. */
  checkoutUrl: string
  /** `checkout`: the Checkout Session id (`cs_…`). */
  checkoutId: string
  /** `setupIntent`: the SetupIntent id (`seti_…`). */
  setupIntentId: string
  /** `setupIntent`: the client secret to confirm with Stripe.js. */
  clientSecret: string
}

export interface Address {
  city?: string | null
  country?: string | null
  line1?: string | null
  line2?: string | null
  postal_code?: string | null
  state?: string | null
}

export interface BillingDetails {
  address: Address | null
  email: string | null
  name: string | null
  phone: string | null
  [field: string]: unknown
}

export interface CardChecks {
  address_line1_check: string | null
  address_postal_code_check: string | null
  /** pass, fail, unavailable, unchecked */
  cvc_check: string | null
}

export interface CardNetworks {
  available: string[]
  preferred: string | null
}

export interface CardWallet {
  /** apple_pay, google_pay, link, … */
  type: string
  dynamic_last4?: string | null
  [field: string]: unknown
}

export interface Card {
  /** amex, diners, discover, eftpos_au, jcb, link, mastercard, unionpay, visa or unknown */
  brand: string
  last4: string
  exp_month: number
  exp_year: number
  /** credit, debit, prepaid or unknown */
  funding: string
  /** Two-letter ISO country code. */
  country: string | null
  fingerprint?: string | null
  checks: CardChecks | null
  networks: CardNetworks | null
  three_d_secure_usage: { supported: boolean } | null
  wallet: CardWallet | null
  display_brand?: string | null
  [field: string]: unknown
}

/** A Stripe PaymentMethod, in Stripe's JSON shape (the common fields typed). */
export interface PaymentMethod {
  /** `pm_…` */
  id: string
  object: 'payment_method'
  /** card, …: https://stripe.com/docs/payments/payment-methods/overview */
  type: string
  /** Unix seconds. */
  created: number
  /** The user's Stripe customer (`cus_…`). */
  customer: string | null
  billing_details: BillingDetails
  /** Present when `type` is `card`. */
  card?: Card
  livemode?: boolean
  metadata?: Record<string, string>
  [field: string]: unknown
}

/** paymentMethod's data: the user's methods, newest first. */
export interface PaymentMethodList {
  methods: PaymentMethod[]
  /** The customer's default method, `""` when none. */
  defaultMethodId: string
}

/** removePaymentMethod's data. */
export interface RemovedPaymentMethod {
  methodId: string
  /** The method promoted to default when the removed one was the default, else `""`. */
  newDefaultMethodId: string
  /** The subscriptions whose payment method moved to another of the user's cards (`sub_…`); `[]` when none. */
  movedSubscriptionIds: string[]
}

/** setDefaultPaymentMethod's data: the card that pays now, and the live subscriptions that named another card and moved to it. */
export interface DefaultPaymentMethod {
  defaultMethodId: string
  movedSubscriptionIds: string[]
}

/** linkCustomer's data: the user and the Stripe customer it is now linked to. */
export interface CustomerLink {
  appUserId: string
  /** `cus_…` */
  customerId: string
}

/**
 * createPortalSession's data. The link is a credential for that one user: send their browser to it,
 * send it to no one else, and do not log it.
 */
export interface PortalSession {
  /** The link that opens the billing page for the user: AppWheel's public URL, `/portal/` and a sealed token. */
  url: string
  /** Unix seconds, as a string: the link opens until then (5 minutes); the visit it starts lasts 1 hour after the user's last action. */
  expiresAt: string
}

/** An import's state: listing the app's Stripe customers (metadataKey only), linking the users found, or finished. */
export type CustomerImportState = 'listing' | 'linking' | 'finished'

/** startCustomerImport's and customerImportStatus's data. Times are strings of Unix seconds, "0" when none. */
export interface CustomerImport {
  /** `imp_…`, new for each import started; the same when one is resumed. */
  importId: string
  state: CustomerImportState
  /** `""` for an import of pairs. */
  metadataKey: string
  dryRun: boolean
  /** Worked on by AppWheel's jobs: true for every import startCustomerImport started. */
  background: boolean
  /** The customers considered so far: those listed, or the pairs. */
  seen: number
  /** Of those, the ones without an outcome yet. */
  pending: number
  /** The users linked; in a dry run, that would be linked. */
  linked: number
  /** Left unlinked: duplicate claims, customers without the key, pairs that cannot be linked, users linked already. */
  skipped: number
  /** Not linked for another reason (Stripe failing past the retries); a new import tries them again. */
  failed: number
  /** The failure that stopped the import last, while it has made no progress since; `""` otherwise. */
  error: string
  createdAt: string
  updatedAt: string
  /** `"0"` until it is finished. */
  finishedAt: string
}

/**
 * The subscription's status during an invoice's period: 0 none (one-off), 1 active,
 * 2 trialing, 3 past_due, 4 unpaid, 5 canceled, 6 incomplete, 7 incomplete_expired, 8 paused.
 */
export type OrderStatus = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8

/** An invoice in the original document's order format. Timestamps are strings of Unix seconds, "0" when none. */
export interface Order {
  /** The subscription id (`sub_…`), `""` for a one-off invoice. */
  originOrderId: string
  /** The invoice id (`in_…`). */
  orderId: string
  /** The price id of the subscription line. */
  productId: string
  /** ISO-8601 period of that price: P1D, P3D, P1W, P1M, P3M, P1Y, …; `""` for one-off. */
  productPeriod: string
  /** The subscription's next charge time (current period end). */
  billingCycleAnchor: string
  customerEmail: string
  invoicePdf: string
  hostedInvoiceUrl: string
  paidAt: string
  /** draft, open, paid, uncollectible, void */
  invoiceStatus: string
  orderStatus: OrderStatus
  /** Minor units. */
  amountDue: number
  /** Minor units. */
  amountPaid: number
  currency: string
  created: string
  periodStart: string
  periodEnd: string
  number: string
}

/** Another name for Order. */
export type Invoice = Order

/** invoices' data: one page, newest first. */
export interface InvoiceList {
  invoices: Order[]
  hasMore: boolean
}

export interface Subscription {
  /** `sub_…` */
  id: string
  /** Stripe's status: active, trialing, past_due, unpaid, canceled, incomplete, incomplete_expired, paused */
  status: string
  orderStatus: OrderStatus
  /** The price id. */
  productId: string
  /** The price's nickname, `""` when it has none. */
  productName: string
  productPeriod: string
  /** Unix seconds, as a string. */
  currentPeriodEnd: string
  cancelAtPeriodEnd: boolean
  /** The card the next invoice would be charged to (`pm_…`), `""` when none. */
  paymentMethodId: string
}

/** subscriptions' data: newest first. */
export interface SubscriptionList {
  subscriptions: Subscription[]
}

/** The event types AppWheel delivers to an app's endpoint (more may come: handle unknown ones by ignoring them). */
export type AppWheelWebhookEventType =
  | 'payment_method.added'
  | 'payment_method.removed'
  | 'payment_method.default_changed'
  | 'invoice.created'
  | 'invoice.paid'
  | 'invoice.payment_failed'
  | 'subscription.updated'

/** An event AppWheel delivered to the app's endpoint, as verifyWebhook returns it. */
export interface AppWheelWebhookEvent {
  /** `evt_…`: the same on every retry of the event; de-duplicate by it. */
  id: string
  type: AppWheelWebhookEventType | (string & {})
  /** Unix seconds: when the fact happened. */
  created: number
  /** The user the event is about. */
  appUserId: string
  /** The event's details; their shape depends on `type`. */
  data: Record<string, unknown>
}

/** How a delivery failed verifyWebhook. */
export type AppWheelWebhookErrorCode =
  | 'missing_header'
  | 'malformed_signature'
  | 'timestamp_out_of_tolerance'
  | 'signature_mismatch'
  | 'invalid_body'

/** Thrown by verifyWebhook for a delivery that fails verification: answer it 400 (or 401) and do not act on it. */
export declare class AppWheelWebhookError extends Error {
  constructor(code: AppWheelWebhookErrorCode, message: string)
  readonly code: AppWheelWebhookErrorCode
}

/** The request's body exactly as received: a string, Buffer, Uint8Array or ArrayBuffer, never a parsed object. */
export type WebhookRawBody = string | Uint8Array | ArrayBuffer

/** The request's headers: Node's `req.headers`, a plain object (any case), or a WHATWG `Headers`. */
export type WebhookHeaders = Headers | { readonly [name: string]: string | readonly string[] | undefined }

export interface VerifyWebhookOptions {
  /** How far the delivery's X-AppWheel-Timestamp may be from `now`, in seconds, either way. Default 300. */
  tolerance?: number | undefined
  /** The current time in milliseconds. Default `Date.now()`. */
  now?: number | undefined
}

/**
 * Verifies an event AppWheel delivered to the app's endpoint and returns it: the
 * `X-AppWheel-Signature` of `rawBody` under the endpoint's `secret`, the timestamp
 * within `tolerance`, then the body. Synchronous; needs node:crypto. Throws an
 * `AppWheelWebhookError` for a delivery that fails, a `TypeError` for wrong arguments
 * (e.g. a parsed body: with express, use `express.raw({ type: 'application/json' })`).
 */
export declare function verifyWebhook(
  rawBody: WebhookRawBody,
  headers: WebhookHeaders,
  secret: string,
  options?: VerifyWebhookOptions,
): AppWheelWebhookEvent

/**
 * Calls AppWheel for one app, signing each request with its AppSecret and a fresh
 * `X-AppWheel-Nonce` (required on the writes). Keep it on your server.
 */
export declare class AppWheel {
  /**
   * @param appId the app's AppID
   * @param platform the platform it is registered for: `stripe`
   * @param appSecret the app's AppSecret
   */
  constructor(appId: string, platform: string, appSecret: string, options?: AppWheelOptions)

  /** verifyWebhook, as a static method: `const event = AppWheel.verifyWebhook(rawBody, req.headers, secret)`. */
  static verifyWebhook(
    rawBody: WebhookRawBody,
    headers: WebhookHeaders,
    secret: string,
    options?: VerifyWebhookOptions,
  ): AppWheelWebhookEvent

  /** POST /v1/stripe/payment-methods */
  createPaymentMethod(params: CreatePaymentMethodParams, options?: WriteOptions): Promise<TypedResponse<PaymentMethodSetup>>
  /** GET /v1/stripe/payment-methods?appUserId=… */
  paymentMethod(params: PaymentMethodParams, options?: CallOptions): Promise<TypedResponse<PaymentMethodList>>
  /** DELETE /v1/stripe/payment-methods/{methodId}?appUserId=…[&force=true] */
  removePaymentMethod(params: RemovePaymentMethodParams, options?: WriteOptions): Promise<TypedResponse<RemovedPaymentMethod>>
  /** GET /v1/stripe/invoices?appUserId=…[&limit=…&startingAfter=…] */
  invoices(params: InvoicesParams, options?: CallOptions): Promise<TypedResponse<InvoiceList>>
  /** POST /v1/stripe/payment-methods/{methodId}/default */
  setDefaultPaymentMethod(params: SetDefaultPaymentMethodParams, options?: WriteOptions): Promise<TypedResponse<DefaultPaymentMethod>>
  /** GET /v1/stripe/subscriptions?appUserId=… */
  subscriptions(params: SubscriptionsParams, options?: CallOptions): Promise<TypedResponse<SubscriptionList>>
  /**
   * POST /v1/stripe/customer-links: links the user to an existing Stripe customer of the app's account.
   * 1004 when the account has no such customer (or it is deleted); 1008 when the customer is another
   * user's or the user has another customer. Linking the same pair again re-syncs.
   */
  linkCustomer(params: LinkCustomerParams, options?: WriteOptions): Promise<TypedResponse<CustomerLink>>
  /**
   * POST /v1/stripe/customer-imports: starts linking the app's existing Stripe customers to its users
   * in AppWheel's background jobs, by a metadata key or a list of pairs, and resolves to the import's
   * status. The same parameters while it is unfinished resume it (the same importId); others replace
   * it, unless it is being worked on at that moment (1008). Both or neither of metadataKey and pairs: 1001.
   */
  startCustomerImport(params: StartCustomerImportParams, options?: WriteOptions): Promise<TypedResponse<CustomerImport>>
  /** GET /v1/stripe/customer-imports/latest: the app's latest import, finished or not; 1004 when it has none. */
  customerImportStatus(options?: CallOptions): Promise<TypedResponse<CustomerImport>>
  /**
   * POST /v1/stripe/portal-sessions: a link that opens AppWheel's hosted billing page for the user,
   * valid for 5 minutes (`expiresAt`); the visit then lasts 1 hour after the user's last action.
   * 1001 for a bad appUserId, returnUrl or locale; 1003 for a returnUrl host the app does not allow;
   * 1004 when the server does not run the billing page.
   */
  createPortalSession(params: CreatePortalSessionParams, options?: WriteOptions): Promise<TypedResponse<PortalSession>>
}

export default AppWheel
