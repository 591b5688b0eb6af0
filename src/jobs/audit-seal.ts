import { raiseAlert } from "../lib/alerts.js";
import { auditKeys } from "../lib/audit-keys.js";
import { sealAuditChains } from "../lib/audit-seal.js";
import type { JobRegistry } from "./job-registry.js";

/**
 * The last step of the close of business: the signed daily seal of every audit chain head
 * (lib/audit-seal.ts), made only from a verified state. A county whose chains do not verify is not
 * sealed and gets a critical alert.
 */
export function registerAuditSealJobs(registry: JobRegistry): void {
  registry.step({
    job: "close_of_business",
    name: "audit_seal",
    order: 9950,
    module: "audit",
    run: async (trx, { businessDate, now }) => {
      const r = await sealAuditChains(trx, auditKeys(), businessDate);
      for (const refused of r.refused.filter((x) => /^\d{6}$/.test(x.scope))) {
        const first = refused.problems[0];
        await raiseAlert(
          trx,
          {
            countyCode: refused.scope,
            kind: "audit.seal_refused",
            severity: "CRITICAL",
            entityType: "audit_chain",
            entityId: first.chain,
            message: `审计日志校验失败，未封存 / audit log of ${refused.scope} does not verify and was not sealed for ${businessDate}: ${first.problem} at ${first.chain} row ${first.seq}`,
            details: { problems: refused.problems.slice(0, 20) },
            businessDate,
          },
          now,
        );
      }
      return { rows: r.sealed.length };
    },
  });
}
