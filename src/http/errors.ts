import { AppError, constraintError, type Detail } from "../lib/errors.js";

/** The error type and the catalogue of codes live in lib (every layer throws them); this adds what HTTP needs. */
export * from "../lib/errors.js";

/** The journal trigger's refusal ("journal entry … does not balance (debits …, credits …)") in both languages. */
function unbalanced(message: string): Detail {
  const m = /^journal entry (\S+) does not balance \(debits ([^,]+), credits ([^)]+)\)/.exec(message);
  return m ? { zh: `分录 ${m[1]} 借贷不平衡（借方合计 ${m[2]}，贷方合计 ${m[3]}）`, en: message } : message;
}

/** PostgreSQL SQLSTATEs that a request can cause, mapped to domain errors (never a 500). */
export function fromPostgres(err: unknown): AppError | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  const code = String((err as { code: unknown }).code);
  const message = "message" in err ? String((err as { message: unknown }).message) : "";
  switch (code) {
    case "23505":
      return constraintError("constraint" in err ? String((err as { constraint: unknown }).constraint) : undefined) ?? new AppError("CONFLICT", { zh: "已存在内容相同的记录", en: "A record with these values already exists" });
    case "23503":
      return new AppError("RULE_VIOLATION", { zh: "引用的记录不存在", en: "A referenced record does not exist" });
    case "23514":
      return message.includes("does not balance")
        ? new AppError("UNBALANCED_ENTRY", unbalanced(message))
        : new AppError("RULE_VIOLATION", { zh: "某个值违反了该记录的规则", en: "A value breaks a rule of the record" });
    case "22003":
    case "22P02":
    case "22007":
    case "22008":
    case "22001":
    case "22021": // character not in repertoire (e.g. NUL in text)
    case "22P05": // untranslatable character (e.g. \u0000 in jsonb)
      return new AppError("RULE_VIOLATION", { zh: "某个值超出范围或格式错误", en: "A value is out of range or malformed" });
    case "40001":
    case "40P01":
      return new AppError("CONFLICT", { zh: "记录正被同时修改，请重试", en: "Concurrent update; retry the request" });
    default:
      return undefined;
  }
}
