// The official JavaScript SDK against b24-emulator: server.time, a v2 batch, fetchList of all
// deals (exactly N unique rows), then REST v3: a batch (which the SDK sends as an object keyed
// "0", "1", ...) and the keyset fetchList of crm.item.list over the same deals. Run by run.sh;
// arguments come from the environment.
import { B24Hook } from '@bitrix24/b24jssdk'

const url = process.env.B24_WEBHOOK_URL
const expected = Number(process.env.B24_EXPECTED_ROWS)
const fail = (message) => { console.error(`FAIL: ${message}`); process.exit(1) }

const b24 = B24Hook.fromWebhookUrl(url)

const time = await b24.actions.v2.call.make({ method: 'server.time', params: {} })
if (!time.isSuccess) fail(`server.time: ${time.getErrorMessages().join('; ')}`)
const timeValue = time.getData().result
if (typeof timeValue !== 'string' || !timeValue.includes('T')) fail(`server.time returned ${JSON.stringify(timeValue)}`)
console.log(`server.time = ${timeValue}`)

const batch = await b24.actions.v2.batch.make({
  calls: {
    me: { method: 'user.current', params: {} },
    deal: { method: 'crm.deal.get', params: { id: 1 } },
    list: { method: 'crm.deal.list', params: { select: ['ID'], start: -1 } },
  },
  options: { isHaltOnError: true },
})
if (!batch.isSuccess) fail(`batch: ${batch.getErrorMessages().join('; ')}`)
const data = batch.getData()
const deal = data.deal?.getData ? data.deal.getData().result : data.deal
if (String(deal?.ID) !== '1') fail(`batch crm.deal.get returned ${JSON.stringify(deal)}`)
console.log('batch ok')

const seen = new Set()
let rows = 0
for await (const chunk of b24.actions.v2.fetchList.make({ method: 'crm.deal.list', params: { select: ['ID', 'TITLE'] }, idKey: 'ID' })) {
  for (const row of chunk) {
    seen.add(String(row.ID))
    rows += 1
  }
}
if (rows !== expected || seen.size !== expected) fail(`fetchList gave ${rows} rows, ${seen.size} unique; expected ${expected}`)
console.log(`fetchList: ${rows} rows, all unique`)

const v3batch = await b24.actions.v3.batch.make({
  calls: [
    ['crm.item.get', { entityTypeId: 2, id: 1 }],
    ['crm.item.list', { entityTypeId: 2, select: ['id', 'title'], pagination: { limit: 5 } }],
  ],
  options: { isHaltOnError: true },
})
if (!v3batch.isSuccess) fail(`v3 batch: ${v3batch.getErrorMessages().join('; ')}`)
const [v3item, v3list] = v3batch.getData()
if (Number(v3item?.item?.id) !== 1) fail(`v3 batch crm.item.get returned ${JSON.stringify(v3item)}`)
if (v3list?.items?.length !== 5) fail(`v3 batch crm.item.list returned ${JSON.stringify(v3list)}`)
console.log('v3 batch ok')

const v3seen = new Set()
let v3rows = 0
for await (const chunk of b24.actions.v3.fetchList.make({ method: 'crm.item.list', params: { entityTypeId: 2, select: ['id', 'title'] }, idKey: 'id', customKeyForResult: 'items' })) {
  for (const row of chunk) {
    v3seen.add(String(row.id))
    v3rows += 1
  }
}
if (v3rows !== expected || v3seen.size !== expected) fail(`v3 fetchList gave ${v3rows} rows, ${v3seen.size} unique; expected ${expected}`)
console.log(`v3 fetchList: ${v3rows} rows, all unique`)
console.log('1 passed, 0 failed')
