/** The ledger check of the distribution pool. */
import { ACCOUNTS, registerPartyBalanceCheck } from "../../lib/ledger.js";

/** A distribution's pool (2301) holds exactly its unpaid shares once approved, and nothing before or after. */
registerPartyBalanceCheck({
  name: "distribution-pool",
  description: "Each distribution's pool account (2301) = its approved shares not yet paid or returned (zero once paid, before approval and after a reversal)",
  account: ACCOUNTS.DISTRIBUTION_POOL,
  partyType: "distribution",
  normal: "credit",
  recordsSql: `SELECT id, county_code, CASE WHEN status IN ('APPROVED', 'PAID') THEN shares_total - paid_total - returned_total ELSE 0 END AS amount FROM distributions`,
});
