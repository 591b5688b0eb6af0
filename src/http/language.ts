import type { RequestHandler } from "express";
import { type Lang, langOf } from "../lib/i18n.js";

declare module "express-serve-static-core" {
  interface Request {
    /** The language of the answer, from `Accept-Language` (Chinese unless English is asked for). */
    lang: Lang;
  }
}

/**
 * Resolves `Accept-Language` once per request (Express's `acceptsLanguages`, the `negotiator`
 * parser) into `req.lang`, and says which language the answer is in (`Content-Language`) and that it
 * depends on the header (`Vary`).
 */
export const language: RequestHandler = (req, res, next) => {
  req.lang = langOf(req.header("accept-language"), (...langs) => req.acceptsLanguages(...langs));
  res.set("Content-Language", req.lang === "en" ? "en" : "zh-CN");
  res.vary("Accept-Language");
  next();
};
