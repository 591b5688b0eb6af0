#!/usr/bin/env bash
# The README walk-through ("A walk-through with curl"), as one script: run it against a freshly
# started server with its demo county, e.g.
#   rm -rf /tmp/demo && DATA_DIR=/tmp/demo PORT=3456 npm start &
#   BASE=http://localhost:3456 bash scripts/walkthrough.sh
# Needs curl and node only. Keep the commands here and in README.md the same.
set -euo pipefail
BASE=${BASE:-http://localhost:3000}
step() { printf '\n== %s\n' "$*"; }

# --- 1. Log in
API=$BASE/api/v1
j() { node -pe "const r = JSON.parse(require('fs').readFileSync(0, 'utf8')); $1"; }
login() { curl -s $API/auth/token -H 'content-type: application/json' -d "{\"username\":\"$1\",\"password\":\"Huinong-2026\"}" | j r.access_token; }
ADMIN=$(login admin); VILLAGE=$(login village); OFFICER=$(login officer); MANAGER=$(login manager)
OPERATOR=$(login operator); REGULATOR=$(login regulator)
TODAY=$(node -pe "new Date().toLocaleDateString('sv', { timeZone: 'Asia/Shanghai' })")
key() { node -pe 'crypto.randomUUID()'; }
step "logged in; business date $TODAY"

# --- 2. Rate a household of 新市村 (loan officer), approve the rating (bank manager)
# The one POOR household of the village the demo has not rated yet:
RATED=$(curl -s "$API/ratings?village_code=469030100201&limit=500" -H "authorization: Bearer $VILLAGE" | j 'r.items.map((x) => x.household_id).join()')
HH=$(curl -s "$API/households?village_code=469030100201&status=POOR&limit=500" -H "authorization: Bearer $VILLAGE" | RATED=$RATED j 'r.items.find((h) => !process.env.RATED.includes(h.id)).id')
MEMBERS=$(curl -s $API/households/$HH/members -H "authorization: Bearer $VILLAGE")
HEAD_ID_NUMBER=$(echo "$MEMBERS" | j 'r.items.find((m) => m.relation === "HEAD").id_number')
BORROWER=$(echo "$MEMBERS" | j 'r.items.find((m) => { const age = new Date().getFullYear() - Number(m.birth_date.slice(0, 4)); return age >= 19 && age <= 64; }).id')
step "household $HH, borrower $BORROWER"
CHECK="{\"date\":\"$TODAY\",\"by\":\"客户经理\",\"note\":\"入户核实一致\"}"
RATING=$(curl -s $API/households/$HH/ratings -H "authorization: Bearer $OFFICER" -H 'content-type: application/json' -d "{
  \"assessments\": {\"CREDIT_RECORD\":{\"level\":\"CLEAN\",\"evidence\":\"征信报告无不良\"},\"PROJECT\":{\"level\":\"RUNNING\"},
                    \"ASSETS\":{\"level\":\"MEDIUM\"},\"REPUTATION\":{\"level\":\"GOOD\"},\"DEBT\":{\"level\":\"NONE\"}},
  \"checks\": {\"documents\":$CHECK,\"neighbours\":$CHECK,\"phone\":$CHECK,\"cross_team\":$CHECK,\"repeat_question\":$CHECK},
  \"village_review\": {\"date\":\"$TODAY\",\"reviewed_by\":\"新市村评议小组\",\"note\":\"村评议通过\"}}")
echo "$RATING" | j '`score ${r.score}, grade ${r.grade}, line ${r.credit_line}, ${r.status}`'
RATING_ID=$(echo "$RATING" | j r.id)
curl -s -X POST $API/ratings/$RATING_ID/approve -H "authorization: Bearer $MANAGER" | j '`rating ${r.status} until ${r.valid_until}`'
curl -s $API/households/$HH/credit-line -H "authorization: Bearer $OFFICER" | j '`line ${r.line}, available ${r.available}`'

# --- 3. Lend: apply (officer) → approve (manager) → disburse (officer, with an Idempotency-Key)
step "loan"
PRODUCT=$(curl -s "$API/loan-products?latest=true" -H "authorization: Bearer $OFFICER" | j 'r.items[0].id')
LOAN=$(curl -s $API/loans -H "authorization: Bearer $OFFICER" -H 'content-type: application/json' -d "{
  \"household_id\":\"$HH\",\"borrower_member_id\":\"$BORROWER\",\"product_id\":\"$PRODUCT\",
  \"amount\":\"10000.00\",\"term_months\":12,\"repayment_method\":\"EQUAL_INSTALLMENT\",\"purpose\":\"PLANTING\",\"purpose_detail\":\"种植绿橙\"}" | j r.id)
curl -s -X POST $API/loans/$LOAN/approve -H "authorization: Bearer $MANAGER" | j '`${r.status} at ${r.annual_rate} (${r.rate_basis})`'
DISBURSE_KEY=$(key)
curl -s -X POST $API/loans/$LOAN/disburse -H "authorization: Bearer $OFFICER" -H "Idempotency-Key: $DISBURSE_KEY" | j '`${r.status} ${r.amount}, matures ${r.maturity_date}`'
# The same key again replays the first answer (header Idempotent-Replayed: true) and disburses nothing twice.
curl -s -i -X POST $API/loans/$LOAN/disburse -H "authorization: Bearer $OFFICER" -H "Idempotency-Key: $DISBURSE_KEY" | grep -i '^idempotent-replayed'
curl -s $API/loans/$LOAN/schedule -H "authorization: Bearer $OFFICER" | j 'r.periods.slice(0, 3).map((p) => `${p.due_date} principal ${p.principal} interest ${p.interest} (subsidy ${p.interest_subsidy})`).join("\n")'

# --- 4. Repay (officer): a first 1,000.00
step "repayment"
curl -s $API/loans/$LOAN/repayments -H "authorization: Bearer $OFFICER" -H "Idempotency-Key: $(key)" \
  -H 'content-type: application/json' -d '{"amount":"1000.00","reference":"柜面还款"}' | j 'JSON.stringify(r)'
curl -s $API/loans/$LOAN -H "authorization: Bearer $OFFICER" | j '`outstanding ${r.outstanding_principal}, payoff today ${r.payoff_amount}`'

# --- 5. Asset income: the operator reports last month of the 新市村 photovoltaic station, the village confirms
step "asset return report"
ASSET=$(curl -s "$API/assets?village_code=469030100201&asset_type=PHOTOVOLTAIC" -H "authorization: Bearer $OPERATOR" | j 'r.items[0].id')
PERIOD=$(node -pe "const d = new Date(); d.setDate(1); d.setMonth(d.getMonth() - 1); d.toISOString().slice(0, 7)")
REPORT=$(curl -s $API/assets/$ASSET/return-reports -H "authorization: Bearer $OPERATOR" -H 'content-type: application/json' -d "{
  \"period\":\"$PERIOD\",\"revenue\":\"9800.00\",\"costs\":\"1200.00\",\"net_income\":\"8600.00\",\"amount_payable\":\"5160.00\"}" | j r.id)
curl -s -X POST $API/return-reports/$REPORT/confirm -H "authorization: Bearer $VILLAGE" | j '`report ${r.period} ${r.status}: ${r.amount_payable}`'

# --- 6. Distribute: compute (village) → notice (village) → approve (regulator) → pay (admin, a week later)
step "distribution"
DIST=$(curl -s $API/distributions -H "authorization: Bearer $VILLAGE" -H 'content-type: application/json' \
  -d "{\"asset_id\":\"$ASSET\",\"period\":\"$PERIOD\",\"reference_date\":\"$TODAY\"}" | j r.id)
curl -s $API/distributions/$DIST -H "authorization: Bearer $VILLAGE" | j '`${r.status}: income ${r.income_total} = retained ${r.retention_amount} + earmarks ${r.earmarks_total} + cap excess ${r.cap_excess} + ${r.household_count} households share ${r.shares_total}`'
curl -s -X POST $API/distributions/$DIST/notice -H "authorization: Bearer $VILLAGE" | j '`${r.status} on ${r.notice_date}, payable from ${r.payable_from}`'
curl -s -X POST $API/distributions/$DIST/approve -H "authorization: Bearer $REGULATOR" | j r.status
# Paying is refused until the 7-day notice has run (422 NOTICE_PERIOD_NOT_OVER); a week later:
curl -s $API/distributions/$DIST/pay -H "authorization: Bearer $ADMIN" -H "Idempotency-Key: $(key)" \
  -H 'content-type: application/json' -d "{\"batch_reference\":\"FH-$PERIOD\"}" | j '`${r.status} ${r.code ?? ""} ${r.detail ?? ""}`'

# --- 7. The household reads its dividends through a partner portal
step "portal"
CLIENT_SECRET=$(curl -s $API/partners -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"client_id":"demo-wechat","name":"惠农微信小程序","county_codes":["469030"]}' | j r.client_secret)
PIN=$(curl -s -X POST $API/households/$HH/portal-pin -H "authorization: Bearer $VILLAGE" | j r.pin)
PORTAL=$(curl -s $API/portal/token -H 'content-type: application/json' \
  -d "{\"client_id\":\"demo-wechat\",\"client_secret\":\"$CLIENT_SECRET\",\"id_number\":\"$HEAD_ID_NUMBER\",\"pin\":\"$PIN\"}" | j r.access_token)
curl -s $API/portal/me/dividends -H "authorization: Bearer $PORTAL" | j 'r.items.map((d) => `${d.period} ${d.amount} ${d.status} (${d.why})`).join("\n")'
curl -s $API/portal/me/loans -H "authorization: Bearer $PORTAL" | j 'r.items.map((l) => `${l.bank_name} ${l.amount} ${l.status}, next ${JSON.stringify(l.next_due)}`).join("\n")'

# --- 8. Import the register (建档立卡): the village officer checks the national system's export (dry run)
step "register import"
FILE=$(base64 -w0 docs/examples/register-import.csv)
curl -s $API/register-imports -H "authorization: Bearer $VILLAGE" -H 'content-type: application/json' \
  -d "{\"file_name\":\"register-import.csv\",\"content_base64\":\"$FILE\",\"dry_run\":true}" \
  | j '`${r.status}: ${r.rows} rows, ${r.problem_count} problems\n` + r.problems.map((p) => `row ${p.row} ${p.column} ${p.code} ${p.message}`).join("\n")'
