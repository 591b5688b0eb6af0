/** The ledger checks of the trusteeship module. */
import { ACCOUNTS, registerPartyBalanceCheck } from "../../lib/ledger.js";

registerPartyBalanceCheck({
  name: "trusteeship.entrusted_principal",
  description: "Entrusted principal (1401) per contract equals its open principal (principal − principal returned)",
  account: ACCOUNTS.ENTRUSTED_PRINCIPAL,
  partyType: "trusteeship",
  recordsSql: `SELECT id, county_code, principal - principal_returned AS amount FROM trusteeships`,
});
registerPartyBalanceCheck({
  name: "trusteeship.return_receivable",
  description: "Trustee return receivable (1402) per contract equals the unpaid part of its installments recognised as due",
  account: ACCOUNTS.TRUSTEE_RETURN_RECEIVABLE,
  partyType: "trusteeship",
  recordsSql: `SELECT trusteeship_id AS id, county_code, sum(amount_due - amount_paid) AS amount FROM trusteeship_installments
                WHERE accrued_on IS NOT NULL GROUP BY trusteeship_id, county_code`,
});
