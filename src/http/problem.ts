import type { Application, ErrorRequestHandler, Request, RequestHandler } from "express";
import type { Logger } from "pino";
import { DEFAULT_LANG, splitBilingual, textIn, writtenIn } from "../lib/i18n.js";
import { AppError, errorSpec, fromPostgres } from "./errors.js";
import { FILE_TYPES, takesFiles } from "./upload.js";
import { pathPattern, servedRoutes } from "./route-table.js";

function bodyParserError(err: unknown): AppError | undefined {
  if (typeof err !== "object" || err === null || !("type" in err)) return undefined;
  switch ((err as { type: string }).type) {
    case "entity.parse.failed":
      return new AppError("BAD_JSON", { zh: "请求体不是有效的 JSON", en: "The request body is not valid JSON" });
    case "entity.too.deep":
      return new AppError("BODY_TOO_DEEP", { zh: "请求体中对象或数组嵌套过深", en: "The request body nests objects or arrays too deeply" });
    case "entity.too.large":
      return new AppError("PAYLOAD_TOO_LARGE", { zh: "请求体过大", en: "The request body is too large" });
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError("UNSUPPORTED_MEDIA_TYPE", { zh: "请发送 UTF-8 编码的 JSON", en: "Send UTF-8 JSON" });
    default: {
      // Any other client-side failure to read the body (aborted, bad length…) is a 400, not a 500
      // whose logged error would carry the raw body the parser attached to it.
      const status = (err as { status?: unknown }).status;
      return typeof status === "number" && status >= 400 && status < 500 ? new AppError("BAD_JSON", { zh: "无法读取请求体", en: "The request body could not be read" }) : undefined;
    }
  }
}

/**
 * The problem+json body in the request's language: `title` from the catalogue; `detail` as the throw
 * site wrote it in that language (`{ zh, en }` or "中文 / English"), else the catalogue's description
 * of the code. A detail written in English only is kept whole under `detail_en` in a Chinese answer
 * (it names the specific amounts, dates or fields); field messages likewise pick their language.
 */
function problemBody(req: Request, e: AppError): Record<string, unknown> {
  const lang = req.lang ?? DEFAULT_LANG;
  const spec = errorSpec(e.code);
  const englishOnly = e.detail !== undefined && writtenIn(e.detail) === "en" && !splitBilingual(e.detail);
  return {
    type: `https://huinong.example/problems/${e.code.toLowerCase().replaceAll("_", "-")}`,
    title: spec?.title[lang] ?? e.code,
    status: e.status,
    detail: textIn(e.detail, lang, spec?.description),
    ...(lang === "zh" && englishOnly ? { detail_en: e.detail } : {}),
    code: e.code,
    instance: req.originalUrl,
    ...(e.errors ? { errors: e.errors.map((f) => ({ ...f, message: textIn(f.message, lang) ?? "" })) } : {}),
  };
}

function send(req: Request, res: Parameters<ErrorRequestHandler>[2], e: AppError): void {
  if (e.headers) res.set(e.headers);
  res.status(e.status).type("application/problem+json").json(problemBody(req, e));
}

/** Every error becomes problem+json. Unexpected ones are a 500 with a generic body; detail goes to the log. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const known = err instanceof AppError ? err : (bodyParserError(err) ?? fromPostgres(err));
    if (known) {
      if (known.status >= 500) logger.error({ err, requestId: req.requestId }, "request failed");
      return send(req, res, known);
    }
    logger.error({ err, requestId: req.requestId }, "unexpected error");
    send(req, res, new AppError("INTERNAL", { zh: `意外错误；请提供请求编号 ${req.requestId}`, en: `Unexpected error; quote request id ${req.requestId}` }));
  };
}

const routeTables = new WeakMap<Application, { method: string; pattern: RegExp }[]>();

/**
 * A request that reached no route: if its path is served with other methods, 405 with the `Allow`
 * header naming them (HEAD goes with GET, OPTIONS is answered by the router itself), else on to 404.
 */
export const methodNotAllowed: RequestHandler = (req, _res, next) => {
  let table = routeTables.get(req.app);
  if (!table) {
    table = servedRoutes(req.app).routes.map((r) => ({ method: r.method, pattern: pathPattern(r.path) }));
    routeTables.set(req.app, table);
  }
  const methods = new Set(table.filter((r) => r.pattern.test(req.path)).map((r) => r.method));
  if (methods.size === 0) return next();
  if (methods.has("GET")) methods.add("HEAD");
  const allow = [...methods].sort().join(", ");
  throw new AppError(
    "METHOD_NOT_ALLOWED",
    { zh: `${req.path} 不支持 ${req.method}；支持 ${allow}`, en: `${req.method} is not served on ${req.path}; it serves ${allow}` },
    undefined,
    405,
    { Allow: allow },
  );
};

export const notFoundHandler: RequestHandler = (req) => {
  throw new AppError("NOT_FOUND", { zh: `没有 ${req.method} ${req.path} 这个接口`, en: `No route ${req.method} ${req.path}` });
};

/** JSON bodies only on write requests that carry one; CSV or XLSX too where a route takes files (`doc({ files: true })`). */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.header("content-length") ?? 0) > 0 || req.header("transfer-encoding") !== undefined;
  if (["POST", "PATCH", "PUT"].includes(req.method) && hasBody && !req.is("application/json")) {
    if (req.is([...FILE_TYPES]) && takesFiles(req.method, req.path)) return next();
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", { zh: "请以 application/json 发送请求体", en: "Send the body as application/json" });
  }
  next();
};
