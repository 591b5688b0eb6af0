/** Printable HTML pages (notices, schedules): escaping and the A4 page they are printed on. */

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

/** A whole page for the browser's print (A4, ruled tables, numbers right-aligned); `css` adds the page's own rules. */
export function printablePage(title: string, body: string, css = ""): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:"Noto Serif CJK SC","SimSun",serif;margin:0}
table{width:100%;border-collapse:collapse;font-size:11pt}
th,td{border:1px solid #000;padding:4px 6px}
.num{text-align:right}
@media print{@page{size:A4}}
${css}
</style></head><body>${body}</body></html>`;
}
