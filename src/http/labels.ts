import type { RequestHandler } from "express";
import { alertInLanguage } from "../lib/alerts.js";
import type { Lang } from "../lib/i18n.js";
import { labelAnswer, type LabelledKind, mapAnswer } from "../lib/labels.js";

type InLanguage = (body: unknown, lang: Lang) => unknown;
const status =
  (kind: LabelledKind, children: readonly string[] = []): InLanguage =>
  (body, lang) =>
    labelAnswer(kind, body, lang, children);

/**
 * Which answers are put in the request's language: the path (under /api/v1) of the records whose
 * `status` people read, and the kind of record it answers (the first match wins); alerts also get
 * their message in that language and the names of their kind and severity.
 */
const IN_LANGUAGE: [RegExp, InLanguage][] = [
  [/^\/households\/[^/]+\/ratings$/, status("rating")],
  [/^\/households(\/[^/]+)?$/, status("household")],
  [/^\/ratings(\/[^/]+(\/(approve|reject))?)?$/, status("rating")],
  [/^\/loans(\/[^/]+(\/(approve|reject|cancel|disburse|extend|write-off|renew))?)?$/, status("loan", ["old_loan", "new_loan"])],
  [/^\/portal\/me\/loans$/, status("loan")],
  [/^\/portal\/me$/, status("household")],
  [/^\/distributions(\/[^/]+(\/(approve|notice|pay|recompute|reverse|returns|objections\/[^/]+\/resolve))?)?$/, status("distribution")],
  [/^\/trusteeships(\/[^/]+(\/(payments|principal-return))?)?$/, status("trusteeship", ["trusteeship"])],
  [/^\/subsidy-claims(\/[^/]+(\/(approve|pay))?)?$/, status("subsidy_claim")],
  [/^\/compensation-claims(\/[^/]+(\/(approve|reject|pay))?)?$/, status("compensation_claim")],
  [/^\/alerts(\/[^/]+\/acknowledge)?$/, (body, lang) => mapAnswer(body, (a) => alertInLanguage(a, lang))],
];

/**
 * Puts the answers listed above in the request's language: `status_label` beside `status` (the
 * record, or each item of a list), alerts' messages and names. The codes are unchanged; an
 * idempotent replay is put in the language of the replaying request (the stored answer is not).
 */
export const inLanguage: RequestHandler = (req, res, next) => {
  const fn = IN_LANGUAGE.find(([re]) => re.test(req.path))?.[1];
  if (fn) {
    const json = res.json.bind(res);
    res.json = (body: unknown) => json(res.statusCode < 300 ? fn(body, req.lang) : body);
  }
  next();
};
