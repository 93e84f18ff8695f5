// Compiled with `tsc -p tsconfig.json` (never run): every call and response type
// of the package, imported as users do, through its "exports" (import condition).
import AppWheelDefault, {
  AppWheel,
  AppWheelWebhookError,
  DEFAULT_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  ErrorCodes,
  verifyWebhook,
  type Address,
  type AppWheelOptions,
  type AppWheelWebhookErrorCode,
  type AppWheelWebhookEvent,
  type AppWheelWebhookEventType,
  type BillingDetails,
  type CallOptions,
  type Card,
  type CardChecks,
  type CardNetworks,
  type CardWallet,
  type CreatePaymentMethodParams,
  type CreatePortalSessionParams,
  type CustomerLink,
  type DefaultPaymentMethod,
  type Envelope,
  type ErrorCode,
  type ErrorEnvelope,
  type FetchLike,
  type Invoice,
  type InvoiceList,
  type InvoicesParams,
  type LinkCustomerParams,
  type Order,
  type OrderStatus,
  type PaymentMethod,
  type PaymentMethodList,
  type PaymentMethodParams,
  type PaymentMethodSetup,
  type PaymentMethodType,
  type PortalLocale,
  type PortalSession,
  type RemovedPaymentMethod,
  type RemovePaymentMethodParams,
  type SetDefaultPaymentMethodParams,
  type StripeErrorDetail,
  type Subscription,
  type SubscriptionList,
  type SubscriptionsParams,
  type SuccessEnvelope,
  type TypedResponse,
  type VerifyWebhookOptions,
  type WebhookHeaders,
  type WebhookRawBody,
  type WriteOptions,
} from 'appwheel'

const base: 'http://127.0.0.1:8080' = DEFAULT_BASE_URL
const timeout: 30000 = DEFAULT_TIMEOUT_MS
const lastMethod: 1005 = ErrorCodes.LAST_METHOD
const sameClass: typeof AppWheel = AppWheelDefault

const fetchImpl: FetchLike = (input, init) => fetch(input, init)
const options: AppWheelOptions = { baseUrl: base, fetch: fetchImpl, timeoutMs: timeout }
new AppWheel('app_x', 'stripe', 'aws_x', { fetch }) // the global fetch fits
new AppWheel('app_x', 'stripe', 'aws_x') // options are optional
const appwheel = new sameClass('app_x', 'stripe', 'aws_x', options)

// The document's examples, as written.
appwheel.createPaymentMethod({
  "appUserId": "appuserid",
  "type": "checkout",
  "successUrl": "http://www.baidu.com?success",
  "cancelUrl": "http://www.baidu.com?cancelurl"
}).then(res => res.json()).then(json => console.log)
appwheel.paymentMethod({
  "appUserId": "appuserid"
}).then(res => res.json()).then(json => console.log)
appwheel.removePaymentMethod({
  "appUserId": "stripe_test",
  "methodId" :"pm_1LQnxxxx"
}).then(res => res.json()).then(json => console.log)
appwheel.invoices({
  "appUserId": "stripe_test"
}).then(res => res.json()).then(json => console.log)

function unwrap<T>(env: Envelope<T>): T {
  if (env.code === 0) {
    const ok: SuccessEnvelope<T> = env
    return ok.data
  }
  const failed: ErrorEnvelope = env
  const code: ErrorCode = failed.code
  const nothing: null = failed.data
  const stripe: StripeErrorDetail | undefined = failed.stripe
  throw new Error(`${code} ${failed.message} ${stripe?.declineCode ?? ''} ${nothing}`)
}

async function everyCall(signal: AbortSignal): Promise<void> {
  const type: PaymentMethodType = 'setupIntent'
  const createParams: CreatePaymentMethodParams = { appUserId: 'u1', type }
  const makeDefaultParams: CreatePaymentMethodParams = { appUserId: 'u1', type, makeDefault: true }
  await appwheel.createPaymentMethod(makeDefaultParams)
  await appwheel.createPaymentMethod({ appUserId: 'u1', type, makeDefault: false })
  const writeOptions: WriteOptions = { idempotencyKey: 'k1', signal }
  const callOptions: CallOptions = { signal }

  const created: TypedResponse<PaymentMethodSetup> = await appwheel.createPaymentMethod(createParams, writeOptions)
  const status: number = created.status
  const requestId: string | null = created.headers.get('X-Request-Id')
  const setup: PaymentMethodSetup = unwrap(await created.clone().json())
  const urls: string[] = [setup.checkoutUrl, setup.checkoutId, setup.setupIntentId, setup.clientSecret]

  const listParams: PaymentMethodParams = { appUserId: 'u1' }
  const list: PaymentMethodList = unwrap(await (await appwheel.paymentMethod(listParams, callOptions)).json())
  const defaultId: string = list.defaultMethodId
  const pm: PaymentMethod | undefined = list.methods[0]
  if (pm) {
    const id: string = pm.id
    const object: 'payment_method' = pm.object
    const created: number = pm.created
    const customer: string | null = pm.customer
    const billing: BillingDetails = pm.billing_details
    const address: Address | null = billing.address
    const email: string | null = billing.email
    const card: Card | undefined = pm.card
    if (card) {
      const brand: string = card.brand
      const last4: string = card.last4
      const expiry: number = card.exp_month * 100 + card.exp_year
      const funding: string = card.funding
      const country: string | null = card.country
      const fingerprint: string | null | undefined = card.fingerprint
      const checks: CardChecks | null = card.checks
      const cvc: string | null | undefined = checks?.cvc_check
      const networks: CardNetworks | null = card.networks
      const available: string[] | undefined = networks?.available
      const threeDS: boolean | undefined = card.three_d_secure_usage?.supported
      const wallet: CardWallet | null = card.wallet
      const walletType: string | undefined = wallet?.type
      const other: unknown = card['iin']
      void [brand, last4, expiry, funding, country, fingerprint, cvc, available, threeDS, walletType, other]
    }
    void [id, object, created, customer, address, email]
  }

  const removeParams: RemovePaymentMethodParams = { appUserId: 'u1', methodId: 'pm_1', force: true }
  const removed: RemovedPaymentMethod = unwrap(await (await appwheel.removePaymentMethod(removeParams, writeOptions)).json())
  const removedIds: string[] = [removed.methodId, removed.newDefaultMethodId, ...removed.movedSubscriptionIds]

  const invoicesParams: InvoicesParams = { appUserId: 'u1', limit: 10, startingAfter: 'in_1' }
  const page: InvoiceList = unwrap(await (await appwheel.invoices(invoicesParams, callOptions)).json())
  const more: boolean = page.hasMore
  for (const order of page.invoices) {
    const invoice: Invoice = order
    const o: Order = invoice
    const strings: string[] = [
      o.originOrderId, o.orderId, o.productId, o.productPeriod, o.billingCycleAnchor, o.customerEmail,
      o.invoicePdf, o.hostedInvoiceUrl, o.paidAt, o.invoiceStatus, o.currency, o.created, o.periodStart,
      o.periodEnd, o.number,
    ]
    const orderStatus: OrderStatus = o.orderStatus
    const amounts: number[] = [o.amountDue, o.amountPaid]
    void [strings, orderStatus, amounts]
  }

  const setDefaultParams: SetDefaultPaymentMethodParams = { appUserId: 'u1', methodId: 'pm_1' }
  const made: DefaultPaymentMethod = unwrap(await (await appwheel.setDefaultPaymentMethod(setDefaultParams, writeOptions)).json())
  const madeId: string = made.defaultMethodId

  const subsParams: SubscriptionsParams = { appUserId: 'u1' }
  const subs: SubscriptionList = unwrap(await (await appwheel.subscriptions(subsParams, callOptions)).json())
  const sub: Subscription | undefined = subs.subscriptions[0]
  if (sub) {
    const fields: [string, string, OrderStatus, string, string, string, boolean, string] = [
      sub.id, sub.status, sub.orderStatus, sub.productId, sub.productPeriod, sub.currentPeriodEnd, sub.cancelAtPeriodEnd,
      sub.paymentMethodId,
    ]
    void fields
  }

  const linkParams: LinkCustomerParams = { appUserId: 'u1', customerId: 'cus_1' }
  const linked: CustomerLink = unwrap(await (await appwheel.linkCustomer(linkParams, writeOptions)).json())
  const linkedIds: [string, string] = [linked.appUserId, linked.customerId]
  await appwheel.linkCustomer({ appUserId: 'u1', customerId: 'cus_1' })

  const locale: PortalLocale = 'zh-CN'
  const portalParams: CreatePortalSessionParams = { appUserId: 'u1', returnUrl: 'https://shop.example.com/account', locale }
  const session: PortalSession = unwrap(await (await appwheel.createPortalSession(portalParams, writeOptions)).json())
  const sessionFields: [string, string] = [session.url, session.expiresAt]
  await appwheel.createPortalSession({ appUserId: 'u1', returnUrl: 'https://shop.example.com/account' })
  void [status, requestId, urls, defaultId, removedIds, more, madeId, linkedIds, sessionFields]
}
void everyCall

// What must not compile.
// @ts-expect-error type is checkout or setupIntent
appwheel.createPaymentMethod({ appUserId: 'u1', type: 'card' })
// @ts-expect-error appUserId is required
appwheel.paymentMethod({})
// @ts-expect-error methodId is required
appwheel.removePaymentMethod({ appUserId: 'u1' })
// @ts-expect-error limit is a number
appwheel.invoices({ appUserId: 'u1', limit: '10' })
// @ts-expect-error makeDefault is a boolean
appwheel.createPaymentMethod({ appUserId: 'u1', type: 'setupIntent', makeDefault: 'yes' })
// @ts-expect-error reads take no idempotency key
appwheel.invoices({ appUserId: 'u1' }, { idempotencyKey: 'k' })
// @ts-expect-error customerId is required
appwheel.linkCustomer({ appUserId: 'u1' })
// @ts-expect-error appUserId is required
appwheel.linkCustomer({ customerId: 'cus_1' })
// @ts-expect-error linkCustomer takes only appUserId and customerId
appwheel.linkCustomer({ appUserId: 'u1', customerId: 'cus_1', force: true })
// @ts-expect-error returnUrl is required
appwheel.createPortalSession({ appUserId: 'u1' })
// @ts-expect-error locale is en or zh-CN
appwheel.createPortalSession({ appUserId: 'u1', returnUrl: 'https://shop.example.com/account', locale: 'fr' })
// @ts-expect-error createPortalSession takes only appUserId, returnUrl and locale
appwheel.createPortalSession({ appUserId: 'u1', returnUrl: 'https://shop.example.com/account', type: 'checkout' })
// @ts-expect-error the constructor needs the platform and the secret
new AppWheel('app_x')
async function narrowing(): Promise<void> {
  const json = await (await appwheel.invoices({ appUserId: 'u1' })).json()
  // @ts-expect-error data may be null until code is checked
  json.data.invoices
  if (json.code === ErrorCodes.SUCCESS) json.data.invoices
  // @ts-expect-error orderStatus is a number, not a string
  const s: string = (json.data?.invoices[0] as Order).orderStatus
  void s
}
void narrowing

// Receiving AppWheel's events.
function receive(rawBody: Uint8Array, nodeHeaders: { [h: string]: string | string[] | undefined }): void {
  const verifyOptions: VerifyWebhookOptions = { tolerance: 300, now: Date.now() }
  try {
    const event: AppWheelWebhookEvent = AppWheel.verifyWebhook(rawBody, nodeHeaders, 'awhsec_x', verifyOptions)
    const fields: [string, string, number, string, Record<string, unknown>] = [event.id, event.type, event.created, event.appUserId, event.data]
    const added: AppWheelWebhookEventType = 'payment_method.added'
    if (event.type === added) void fields
  } catch (err) {
    if (err instanceof AppWheelWebhookError) {
      const code: AppWheelWebhookErrorCode = err.code
      const message: string = err.message
      void [code, message]
    }
  }
  const body: WebhookRawBody = '{"id":"evt_1","type":"invoice.paid"}'
  const headers: WebhookHeaders = new Headers()
  verifyWebhook(body, headers, 'awhsec_x')
  verifyWebhook(new ArrayBuffer(0), { 'x-appwheel-signature': ['v1=…'] }, 'awhsec_x', { now: undefined })
  // @ts-expect-error the raw body, not a parsed object
  verifyWebhook({ id: 'evt_1', type: 'invoice.paid' }, headers, 'awhsec_x')
  // @ts-expect-error the secret is required
  verifyWebhook(body, headers)
  // @ts-expect-error tolerance is in seconds, a number
  verifyWebhook(body, headers, 'awhsec_x', { tolerance: '300' })
}
void receive
