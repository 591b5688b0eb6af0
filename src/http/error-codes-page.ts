import { escapeHtml } from "../lib/html.js";
import { allErrorCodes } from "./errors.js";

/** Escaped text with `code` spans (the descriptions use Markdown's backticks). */
const inline = (s: string) => escapeHtml(s).replace(/`([^`]+)`/g, "<code>$1</code>");

let cached: string | undefined;

/**
 * Every problem+json `code` with its status, title and meaning, as one HTML page (`GET /docs/errors`).
 * It lives outside the OpenAPI description: swagger-ui renders Markdown tables of that size slowly,
 * and the reference page stayed unusable while it did.
 */
export function errorCodesPage(): string {
  if (cached) return cached;
  const rows = Object.entries(allErrorCodes())
    .sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b))
    .map(([code, c]) => `<tr id="${escapeHtml(code)}"><td><code>${escapeHtml(code)}</code></td><td>${c.status}</td><td>${inline(c.title)}</td><td>${inline(c.description)}</td></tr>`)
    .join("\n");
  cached = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Huinong API error codes</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:13px}</style>
</head><body>
<h1>Error codes</h1>
<p>Every error is an RFC 9457 <code>application/problem+json</code> body with <code>type</code>, <code>title</code>,
<code>status</code>, <code>detail</code> and a stable <code>code</code> (below); invalid input also lists each field in
<code>errors: [{path, message}]</code>. Back to the <a href="/docs">API reference</a>.</p>
<table><thead><tr><th>code</th><th>status</th><th>title</th><th>meaning</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
  return cached;
}
