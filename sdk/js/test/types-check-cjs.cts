// Compiled with `tsc -p tsconfig.json` (never run): the package's types as a
// CommonJS user sees them, through its "exports" (require condition: dist/index.d.cts).
import appwheelPkg = require('appwheel')

const { AppWheel, ErrorCodes } = appwheelPkg
const Default: typeof AppWheel = appwheelPkg.default
const client = new Default('app_x', 'stripe', 'aws_x', { baseUrl: 'https://appwheel.example.com' })
async function list(): Promise<appwheelPkg.PaymentMethod[]> {
  const json: appwheelPkg.Envelope<appwheelPkg.PaymentMethodList> = await (await client.paymentMethod({ appUserId: 'u1' })).json()
  return json.code === ErrorCodes.SUCCESS ? json.data.methods : []
}
void list
void new AppWheel('app_x', 'stripe', 'aws_x')
const event: appwheelPkg.AppWheelWebhookEvent = appwheelPkg.verifyWebhook('{}', { 'x-appwheel-nonce': 'n' }, 'awhsec_x')
void [event, AppWheel.verifyWebhook, new appwheelPkg.AppWheelWebhookError('invalid_body', 'x').code]
