import { escapeHtml } from "../lib/html.js";
import { allErrorCodes } from "./errors.js";

/** Escaped text with `code` spans (the descriptions use Markdown's backticks). */
const inline = (s: string) => escapeHtml(s).replace(/`([^`]+)`/g, "<code>$1</code>");

let cached: string | undefined;

/**
 * Every problem+json `code` with its status, title and meaning in Chinese and English, as one HTML
 * page (`GET /docs/errors`).
 * It lives outside the OpenAPI description: swagger-ui renders Markdown tables of that size slowly,
 * and the reference page stayed unusable while it did.
 */
export function errorCodesPage(): string {
  if (cached) return cached;
  const rows = Object.entries(allErrorCodes())
    .sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b))
    .map(
      ([code, c]) =>
        `<tr id="${escapeHtml(code)}"><td><code>${escapeHtml(code)}</code></td><td>${c.status}</td><td lang="zh-CN">${inline(c.title.zh)}</td><td lang="en">${inline(c.title.en)}</td><td lang="zh-CN">${inline(c.description.zh)}</td><td lang="en">${inline(c.description.en)}</td></tr>`,
    )
    .join("\n");
  cached = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>惠农 API 错误代码 / Huinong API error codes</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:13px}</style>
</head><body>
<h1>错误代码 / Error codes</h1>
<p lang="zh-CN">每个错误都是 RFC 9457 <code>application/problem+json</code>，含 <code>type</code>、<code>title</code>、<code>status</code>、
<code>detail</code> 和稳定的 <code>code</code>（见下表）；输入无效时 <code>errors: [{path, message}]</code> 逐一列出字段。
<code>title</code> 和 <code>detail</code> 默认为中文，请求头 <code>Accept-Language: en</code> 时为英文；中文答复中，只有英文的具体说明保留在 <code>detail_en</code>。</p>
<p>Every error is an RFC 9457 <code>application/problem+json</code> body with <code>type</code>, <code>title</code>,
<code>status</code>, <code>detail</code> and a stable <code>code</code> (below); invalid input also lists each field in
<code>errors: [{path, message}]</code>. <code>title</code> and <code>detail</code> are in Chinese by default and in English
with <code>Accept-Language: en</code>; in a Chinese answer a detail the server wrote in English only is kept under
<code>detail_en</code>. Back to the <a href="/docs">API reference</a>.</p>
<table><thead><tr><th>code</th><th>status</th><th>标题</th><th>title</th><th>说明</th><th>meaning</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
  return cached;
}
