import type { Bilingual } from "./i18n.js";

/**
 * What an error code means: its HTTP status, and a title and a description in Chinese and English
 * (the problem+json `title` is the title in the request's language; the description is the `detail`
 * when a throw site gives none in that language). Both languages are required by the type.
 */
export interface ErrorSpec {
  status: number;
  title: Bilingual;
  description: Bilingual;
}

/**
 * One error type with a stable machine code and an HTTP status. Every code the API can answer is
 * listed here with its meaning; the OpenAPI description is generated from this list.
 */
export const ERROR_CODES = {
  BAD_JSON: {
    status: 400,
    title: { zh: "JSON 格式错误", en: "Malformed JSON" },
    description: { zh: "请求体不是有效的 JSON。", en: "The body is not valid JSON." },
  },
  BODY_TOO_DEEP: {
    status: 400,
    title: { zh: "请求体嵌套过深", en: "Body nested too deeply" },
    description: { zh: "JSON 请求体中对象或数组的嵌套层数超过上限（`BODY_MAX_DEPTH`，默认 32），解析前即被拒绝。", en: "The JSON body nests objects or arrays deeper than the limit (`BODY_MAX_DEPTH`, 32 by default); it is refused before it is parsed." },
  },
  UNKNOWN_QUERY_PARAMETER: {
    status: 400,
    title: { zh: "未知的查询参数", en: "Unknown query parameter" },
    description: { zh: "查询字符串含有本接口不接受的参数（拼错的筛选条件会被拒绝，不会被忽略）；`errors` 逐一列出。", en: "The query string has a parameter this route does not take (a misspelt filter is refused, never ignored); `errors` names each one." },
  },
  VALIDATION_FAILED: {
    status: 400,
    title: { zh: "输入无效", en: "Invalid input" },
    description: { zh: "字段缺失或格式错误；`errors` 逐一列出。", en: "Fields are missing or malformed; `errors` names each one." },
  },
  IDEMPOTENCY_KEY_REQUIRED: {
    status: 400,
    title: { zh: "缺少 Idempotency-Key", en: "Idempotency-Key required" },
    description: { zh: "此 POST 涉及资金变动，需要 `Idempotency-Key` 请求头。", en: "This POST moves money and needs an `Idempotency-Key` header." },
  },
  UNAUTHENTICATED: {
    status: 401,
    title: { zh: "未登录", en: "Not authenticated" },
    description: { zh: "没有 Bearer 令牌，或令牌无效、已过期。", en: "No bearer token, or it is invalid or expired." },
  },
  BAD_CREDENTIALS: {
    status: 401,
    title: { zh: "用户名或密码错误", en: "Wrong username or password" },
    description: { zh: "凭据与任何有效用户都不匹配。", en: "The credentials do not match an active user." },
  },
  FORBIDDEN: {
    status: 403,
    title: { zh: "无权操作", en: "Not allowed" },
    description: { zh: "您的角色不能执行此操作。", en: "Your role may not do this at all." },
  },
  NOT_FOUND: {
    status: 404,
    title: { zh: "未找到", en: "Not found" },
    description: { zh: "不存在，或不在您的管辖范围内。", en: "Unknown, or outside your jurisdiction." },
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: { zh: "不支持该请求方法", en: "Method not allowed" },
    description: { zh: "路径存在但不支持此方法；`Allow` 响应头列出支持的方法。", en: "The path exists but does not serve this method; the `Allow` header lists those it serves." },
  },
  CONFLICT: {
    status: 409,
    title: { zh: "冲突", en: "Conflict" },
    description: { zh: "记录已被修改或已存在。", en: "The record changed or already exists." },
  },
  INVALID_STATE: {
    status: 409,
    title: { zh: "状态不允许", en: "Invalid state" },
    description: { zh: "记录当前的状态不允许此操作。", en: "The record's state does not allow this action." },
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    title: { zh: "请求处理中", en: "Request in progress" },
    description: { zh: "使用此 Idempotency-Key 的请求仍在处理中，请稍后重试。", en: "A request with this Idempotency-Key is still being processed; retry shortly." },
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    title: { zh: "Idempotency-Key 重复使用", en: "Idempotency-Key reused" },
    description: { zh: "此 Idempotency-Key 已用于另一个不同的请求体。", en: "This Idempotency-Key was used with a different request body." },
  },
  RULE_VIOLATION: {
    status: 422,
    title: { zh: "违反业务规则", en: "Rule violation" },
    description: { zh: "请求格式正确，但违反了业务规则。", en: "A valid request that breaks a business rule." },
  },
  INVALID_ID_NUMBER: {
    status: 422,
    title: { zh: "身份证号无效", en: "Invalid ID number" },
    description: { zh: "居民身份证号不符合 GB 11643（格式、出生日期或校验码）。", en: "The resident ID number fails GB 11643 (format, birth date or check digit)." },
  },
  DUPLICATE_ID_NUMBER: {
    status: 409,
    title: { zh: "身份证号已登记", en: "ID number already registered" },
    description: { zh: "已有成员使用此身份证号登记。", en: "A member with this ID number is already registered." },
  },
  INVALID_DIVISION: {
    status: 422,
    title: { zh: "行政区划无效", en: "Invalid division" },
    description: { zh: "行政区划代码不符合 GB/T 2260 或与上级不符。", en: "The division code does not fit GB/T 2260 or its parent." },
  },
  INVALID_STATUS_CHANGE: {
    status: 422,
    title: { zh: "状态变更无效", en: "Invalid status change" },
    description: { zh: "当前状态不允许此变更，或缺少必需的审批。", en: "The change is not allowed from the current status, or misses required approvals." },
  },
  UNBALANCED_ENTRY: {
    status: 422,
    title: { zh: "会计分录不平衡", en: "Unbalanced journal entry" },
    description: { zh: "会计分录的借贷金额不相等。", en: "Debits and credits of a journal entry differ." },
  },
  TOO_MANY_REQUESTS: {
    status: 429,
    title: { zh: "请求过于频繁", en: "Too many requests" },
    description: { zh: "已限流；请参阅 Retry-After。", en: "Throttled; see Retry-After." },
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    title: { zh: "请求体过大", en: "Payload too large" },
    description: { zh: "请求体超过大小上限。", en: "The body exceeds the size limit." },
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: { zh: "不支持的媒体类型", en: "Unsupported media type" },
    description: { zh: "请发送 JSON（`Content-Type: application/json`）。", en: "Send JSON (`Content-Type: application/json`)." },
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    title: { zh: "服务不可用", en: "Service unavailable" },
    description: { zh: "无法连接数据库。", en: "The database is not reachable." },
  },
  INTERNAL: {
    status: 500,
    title: { zh: "内部错误", en: "Internal error" },
    description: { zh: "意外错误；详情以请求编号记录在服务器日志中。", en: "Unexpected; the detail is in the server log under the request id." },
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem with one field; `message` may be bilingual (`{ zh, en }` or "中文 / English"). */
export interface FieldError {
  path: string;
  message: string | Bilingual;
}

/** A detail in both languages (`{ zh, en }`), or one string: "中文 / English", or one language only. */
export type Detail = string | Bilingual;

/**
 * An error answered as problem+json. A detail given as `{ zh, en }` is kept as one string
 * "中文 / English" (the form the handler splits by the request's language, and what a log shows).
 */
export class AppError extends Error {
  readonly status: number;
  readonly detail?: string;
  constructor(
    readonly code: ErrorCode | string,
    detail?: Detail,
    readonly errors?: FieldError[],
    status?: number,
    readonly headers?: Record<string, string>,
  ) {
    const text = detail === undefined || typeof detail === "string" ? detail : `${detail.zh} / ${detail.en}`;
    super(text ?? code);
    this.detail = text;
    const known = (ERROR_CODES as Record<string, { status: number }>)[code];
    this.status = status ?? known?.status ?? 422;
  }
}

/** The Chinese names of the records callers of `notFound` name; a record not listed reads 未找到该记录. */
const RECORD_ZH: Record<string, string> = {
  alert: "预警",
  asset: "扶贫资产",
  "balance statement": "余额对账单",
  bank: "银行",
  "circuit breaker": "熔断记录",
  "compensation claim": "代偿申请",
  county: "县",
  distribution: "收益分配",
  household: "农户",
  "job run": "作业运行记录",
  "journal entry": "会计分录",
  loan: "贷款",
  "loan product": "贷款产品",
  objection: "异议",
  operator: "经营主体",
  partner: "合作方",
  "portal demo": "门户演示账户",
  rating: "评级",
  "register import": "建档立卡导入",
  repayment: "还款记录",
  "repayment file": "还款文件",
  "return report": "收益申报",
  "risk fund": "风险补偿金",
  scorecard: "评分卡",
  seal: "审计封存",
  "seal scope": "审计封存范围",
  "subsidy claim": "贴息申领",
  township: "乡镇",
  trusteeship: "委托经营合同",
  user: "用户",
  village: "村",
};

/** "loan" → 未找到该贷款; "county 469030" (a record and which one) → 未找到县 469030. */
function notFoundZh(what: string): string {
  const name = RECORD_ZH[what];
  if (name !== undefined) return `未找到该${name}`;
  const record = Object.keys(RECORD_ZH)
    .filter((k) => what.startsWith(`${k} `))
    .sort((a, b) => b.length - a.length)[0];
  return record === undefined ? "未找到该记录" : `未找到${RECORD_ZH[record]} ${what.slice(record.length + 1)}`;
}

export const notFound = (what = "resource") => new AppError("NOT_FOUND", { zh: notFoundZh(what), en: `No such ${what}` });
export const forbidden = (detail: Detail = { zh: "您的角色不能执行此操作", en: "Your role may not do this" }) => new AppError("FORBIDDEN", detail);
export const invalidState = (detail: Detail) => new AppError("INVALID_STATE", detail);
export const ruleViolation = (code: string, detail: Detail, status = 422) => new AppError(code, detail, undefined, status);

/** Codes added by modules (with their status and both languages), so the list in one place stays complete. */
const moduleCodes = new Map<string, ErrorSpec>();
export function registerErrorCodes(codes: Record<string, ErrorSpec>): void {
  for (const [code, spec] of Object.entries(codes)) moduleCodes.set(code, spec);
}
export function allErrorCodes(): Record<string, ErrorSpec> {
  return { ...ERROR_CODES, ...Object.fromEntries(moduleCodes) };
}
export function errorSpec(code: string): ErrorSpec | undefined {
  return allErrorCodes()[code];
}

/** Unique constraints whose violation has its own code (e.g. a bank reference recorded once), by constraint name. */
const constraintCodes = new Map<string, { code: string; detail: Detail; status: number }>();

export function registerConstraintCodes(codes: Record<string, { code: string; detail: Detail; status: number }>): void {
  for (const [name, c] of Object.entries(codes)) constraintCodes.set(name, c);
}

export function constraintError(constraint: string | undefined): AppError | undefined {
  const c = constraint ? constraintCodes.get(constraint) : undefined;
  return c ? new AppError(c.code, c.detail, undefined, c.status) : undefined;
}
