import { inflateRawSync } from "node:zlib";

/**
 * Reads the cells of an XLSX workbook's first sheet as text — nothing else (no styles, formulas,
 * dates or merged cells): what an import of a spreadsheet export needs, fast and in little memory.
 * exceljs's whole-workbook reader builds a model of every cell (about 20 s and 2 GB for a sheet of
 * 100,000 rows × 15 columns on the development machine), and its streaming reader decodes each
 * compressed chunk on its own, so a Chinese character that straddles two chunks comes out as U+FFFD
 * (exceljs issue #2063). This reads the ZIP's central directory, inflates the parts it needs
 * whole, and scans the sheet's XML (SpreadsheetML, ISO/IEC 29500-1 §18.3) for rows and cells.
 */
export class XlsxReadError extends Error {}

interface ZipEntry {
  method: number;
  compressedSize: number;
  localOffset: number;
}

function zipEntries(zip: Buffer): Map<string, ZipEntry> {
  // End of central directory: the last 0x06054b50 within the final 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new XlsxReadError("not a ZIP archive");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries = new Map<string, ZipEntry>();
  for (let n = 0; n < count; n++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) throw new XlsxReadError("damaged ZIP central directory");
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    entries.set(name, { method: zip.readUInt16LE(at + 10), compressedSize: zip.readUInt32LE(at + 20), localOffset: zip.readUInt32LE(at + 42) });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function zipText(zip: Buffer, entries: Map<string, ZipEntry>, name: string): string | undefined {
  const e = entries.get(name);
  if (!e) return undefined;
  if (zip.readUInt32LE(e.localOffset) !== 0x04034b50) throw new XlsxReadError(`damaged ZIP entry ${name}`);
  const start = e.localOffset + 30 + zip.readUInt16LE(e.localOffset + 26) + zip.readUInt16LE(e.localOffset + 28);
  const data = zip.subarray(start, start + e.compressedSize);
  if (e.method === 0) return data.toString("utf8");
  if (e.method === 8) return inflateRawSync(data).toString("utf8");
  throw new XlsxReadError(`unsupported ZIP compression ${e.method}`);
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
function unescapeXml(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (m, e: string) =>
    e[0] === "#" ? String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e] ?? m),
  );
}

/** The text of a string item (`<si>` or `<is>`): its `<t>` runs, phonetic hints (`<rPh>`) left out. */
function runsText(xml: string): string {
  let out = "";
  const clean = xml.includes("rPh") ? xml.replace(/<(?:\w+:)?rPh\b[\s\S]*?<\/(?:\w+:)?rPh>/g, "") : xml;
  for (const m of clean.matchAll(/<(?:\w+:)?t\b[^>]*?(?:\/>|>([^<]*)<\/(?:\w+:)?t>)/g)) out += unescapeXml(m[1] ?? "");
  return out;
}

/** Column index (0-based) of a cell reference such as `B12`. */
function columnOf(ref: string): number {
  let n = 0;
  for (const ch of ref) {
    const c = ch.charCodeAt(0);
    if (c < 65 || c > 90) break;
    n = n * 26 + (c - 64);
  }
  return n - 1;
}

const attrPatterns = new Map<string, RegExp>();
function attr(attrs: string, name: string): string | undefined {
  let re = attrPatterns.get(name);
  if (!re) attrPatterns.set(name, (re = new RegExp(`\\b${name}="([^"]*)"`)));
  return re.exec(attrs)?.[1];
}

/** A number cell as Excel shows it: integers whole, others to 15 significant digits. */
function numberText(v: string): string {
  const n = Number(v);
  if (!Number.isFinite(n)) return v;
  return Number.isSafeInteger(n) ? String(n) : n.toPrecision(15).replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
}

function resolveTarget(base: string, target: string): string {
  if (target.startsWith("/")) return target.slice(1);
  const parts = base.split("/").slice(0, -1);
  for (const p of target.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/** The first sheet's rows with their row numbers, each a list of cell texts by column. */
export function readFirstSheet(zip: Buffer): { rowNo: number; cells: string[] }[] {
  const entries = zipEntries(zip);
  const workbook = zipText(zip, entries, "xl/workbook.xml");
  if (!workbook) throw new XlsxReadError("no xl/workbook.xml: not an XLSX workbook");
  const rels = zipText(zip, entries, "xl/_rels/workbook.xml.rels") ?? "";
  const firstSheet = /<(?:\w+:)?sheet\b([^>]*)>/.exec(workbook)?.[1] ?? "";
  const rid = attr(firstSheet, "r:id") ?? attr(firstSheet, "\\w+:id");
  let sheetPath = "xl/worksheets/sheet1.xml";
  let sharedPath = "xl/sharedStrings.xml";
  for (const m of rels.matchAll(/<(?:\w+:)?Relationship\b([^>]*)>/g)) {
    const target = attr(m[1], "Target");
    if (!target) continue;
    if (attr(m[1], "Id") === rid) sheetPath = resolveTarget("xl/workbook.xml", target);
    if ((attr(m[1], "Type") ?? "").endsWith("/sharedStrings")) sharedPath = resolveTarget("xl/workbook.xml", target);
  }
  const sheet = zipText(zip, entries, sheetPath);
  if (sheet === undefined) throw new XlsxReadError("the workbook has no sheet");
  const shared: string[] = [];
  const sst = zipText(zip, entries, sharedPath);
  if (sst) for (const m of sst.matchAll(/<(?:\w+:)?si\b[^>]*?(?:\/>|>([\s\S]*?)<\/(?:\w+:)?si>)/g)) shared.push(runsText(m[1] ?? ""));

  const rows: { rowNo: number; cells: string[] }[] = [];
  let lastRow = 0;
  for (const r of sheet.matchAll(/<(?:\w+:)?row\b([^>]*?)(?:\/>|>([\s\S]*?)<\/(?:\w+:)?row>)/g)) {
    const rowNo = Number(attr(r[1], "r") ?? lastRow + 1);
    lastRow = rowNo;
    const cells: string[] = [];
    let next = 0;
    for (const c of (r[2] ?? "").matchAll(/<(?:\w+:)?c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/(?:\w+:)?c>)/g)) {
      const ref = attr(c[1], "r");
      const col = ref ? columnOf(ref) : next;
      next = col + 1;
      const body = c[2] ?? "";
      const type = attr(c[1], "t") ?? "n";
      const v = /<(?:\w+:)?v\b[^>]*>([^<]*)<\/(?:\w+:)?v>/.exec(body)?.[1];
      let text = "";
      if (type === "inlineStr") text = runsText(/<(?:\w+:)?is\b[^>]*>([\s\S]*?)<\/(?:\w+:)?is>/.exec(body)?.[1] ?? "");
      else if (v === undefined) text = "";
      else if (type === "s") text = shared[Number(v)] ?? "";
      else if (type === "b") text = v === "1" ? "是" : "否";
      else if (type === "n") text = numberText(v);
      else text = unescapeXml(v); // str (a formula's text), e (an error)
      while (cells.length < col) cells.push("");
      cells[col] = text;
    }
    rows.push({ rowNo, cells });
  }
  return rows;
}
