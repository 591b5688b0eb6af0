/** The ledger check of the loans module: principal receivable against outstanding principal. */
import { ACCOUNTS, registerPartyBalanceCheck } from "../../lib/ledger.js";

registerPartyBalanceCheck({
  name: "loan_principal",
  description: "Each loan's principal receivable (account 1301, party = loan) equals its outstanding principal",
  account: ACCOUNTS.LOAN_PRINCIPAL,
  partyType: "loan",
  recordsSql: `SELECT id, county_code, outstanding_principal AS amount FROM loans
                WHERE outstanding_principal <> 0 OR status IN ('DISBURSED', 'EXTENDED', 'REPAID', 'RENEWED', 'WRITTEN_OFF', 'COMPENSATED')`,
});
