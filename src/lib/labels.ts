import type { Bilingual, Lang } from "./i18n.js";

/**
 * Display names (状态名称) of the status codes people read, by the kind of record, in Chinese and
 * English. Answers keep the code in `status` (clients rely on it) and add `status_label` in the
 * request's language beside it.
 */
export const STATUS_LABELS = {
  household: {
    POOR: { zh: "贫困户", en: "Poor" },
    EXITED: { zh: "脱贫户", en: "Exited poverty" },
    MONITORED: { zh: "监测户", en: "Monitored" },
    REMOVED: { zh: "已清退", en: "Removed" },
  },
  loan: {
    APPLIED: { zh: "已申请", en: "Applied" },
    APPROVED: { zh: "已审批", en: "Approved" },
    REJECTED: { zh: "已拒绝", en: "Rejected" },
    CANCELLED: { zh: "已取消", en: "Cancelled" },
    DISBURSED: { zh: "已放款", en: "Disbursed" },
    EXTENDED: { zh: "已展期", en: "Extended" },
    REPAID: { zh: "已结清", en: "Repaid" },
    RENEWED: { zh: "已续贷", en: "Renewed" },
    WRITTEN_OFF: { zh: "已核销", en: "Written off" },
    COMPENSATED: { zh: "已代偿", en: "Compensated" },
  },
  rating: {
    PENDING: { zh: "待审批", en: "Pending approval" },
    EFFECTIVE: { zh: "有效", en: "Effective" },
    EXPIRED: { zh: "已过期", en: "Expired" },
    SUPERSEDED: { zh: "已被替代", en: "Superseded" },
    REJECTED: { zh: "已拒绝", en: "Rejected" },
  },
  distribution: {
    DRAFT: { zh: "草稿", en: "Draft" },
    NOTICED: { zh: "公示中", en: "On public notice" },
    APPROVED: { zh: "已审批", en: "Approved" },
    PAID: { zh: "已兑付", en: "Paid" },
    REVERSED: { zh: "已冲正", en: "Reversed" },
  },
  trusteeship: {
    ACTIVE: { zh: "履约中", en: "Active" },
    CLOSED: { zh: "已结束", en: "Closed" },
  },
  subsidy_claim: {
    DRAFT: { zh: "待审批", en: "Draft" },
    APPROVED: { zh: "已审批", en: "Approved" },
    PAID: { zh: "已拨付", en: "Paid" },
  },
  compensation_claim: {
    SUBMITTED: { zh: "已申请", en: "Submitted" },
    APPROVED: { zh: "已审批", en: "Approved" },
    REJECTED: { zh: "已拒绝", en: "Rejected" },
    PAID: { zh: "已拨付", en: "Paid" },
  },
  alert_severity: {
    INFO: { zh: "提示", en: "Info" },
    WARNING: { zh: "警告", en: "Warning" },
    CRITICAL: { zh: "严重", en: "Critical" },
  },
} as const satisfies Record<string, Record<string, Bilingual>>;

export type LabelledKind = keyof typeof STATUS_LABELS;

/** The label of a status code of a kind of record, in a language; the code itself when it has none. */
export function statusLabel(kind: LabelledKind, code: string, lang: Lang): string {
  return (STATUS_LABELS[kind] as Record<string, Bilingual>)[code]?.[lang] ?? code;
}

/** Whether a kind of record has a label for a code. */
export function hasStatusLabel(kind: LabelledKind, code: string): boolean {
  return Object.hasOwn(STATUS_LABELS[kind], code);
}

/** Adds `status_label` beside a string `status`, in place of nothing else; returns a new object. */
export function withStatusLabel<T>(kind: LabelledKind, value: T, lang: Lang): T {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const status = (value as Record<string, unknown>).status;
  if (typeof status !== "string" || !hasStatusLabel(kind, status)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = v;
    if (k === "status") out.status_label = statusLabel(kind, status, lang);
  }
  return out as T;
}

/** A change to an answer: to the record itself, or to each of a list's `items`. */
export function mapAnswer<T>(body: T, fn: <R extends Record<string, unknown>>(r: R) => R): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const items = (body as { items?: unknown }).items;
  const one = (x: unknown) => (typeof x === "object" && x !== null && !Array.isArray(x) ? fn(x as Record<string, unknown>) : x);
  if (Array.isArray(items)) return { ...body, items: items.map(one) };
  return one(body) as T;
}

/**
 * `withStatusLabel` on an answer: the record itself, or each of a list's `items`, and the records
 * an answer carries under `children` (e.g. a renewal's `old_loan` and `new_loan`).
 */
export function labelAnswer<T>(kind: LabelledKind, body: T, lang: Lang, children: readonly string[] = []): T {
  const labelled = mapAnswer(body, (r) => withStatusLabel(kind, r, lang));
  if (children.length === 0 || typeof labelled !== "object" || labelled === null || Array.isArray(labelled)) return labelled;
  const out: Record<string, unknown> = { ...(labelled as Record<string, unknown>) };
  for (const c of children) if (c in out) out[c] = withStatusLabel(kind, out[c], lang);
  return out as T;
}
