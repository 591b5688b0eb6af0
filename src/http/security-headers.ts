import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import helmet, { type HelmetOptions } from "helmet";

/** helmet's options for this API (its answers are JSON; the static pages are the dashboard, the portal demo and the API docs). */
const OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", "'unsafe-inline'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
    },
  },
};

/**
 * The security headers helmet sets with these options, worked out once: none of them depends on the
 * request (no directive is a function), so every answer gets the same list and helmet's
 * middlewares do not run again for each request.
 */
function helmetHeaders(options: Readonly<HelmetOptions>): ReadonlyArray<readonly [string, string]> {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader(name: string, value: string) {
      headers.push([name, String(value)]);
    },
    removeHeader(_name: string) {},
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
  });
  return Object.freeze(headers.map((h) => Object.freeze(h)));
}

export const SECURITY_HEADERS = helmetHeaders(OPTIONS);

/** Sets the security headers on an answer (Express or a bare Node response). */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
}

/** The security headers as an Express middleware (in place of `helmet(OPTIONS)`, same headers). */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  setSecurityHeaders(res);
  next();
};
