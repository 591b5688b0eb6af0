import { Router } from "express";
import type { Deps } from "../../deps.js";
import { actorOf } from "../../http/auth.js";
import { doc } from "../../http/openapi.js";
import { parse } from "../../http/validate.js";
import { IsoDate, ListQuery, VillageCode, z } from "../../http/zod.js";
import { pageList } from "../../http/pagination.js";
import { listNotices, NOTICE_KINDS, noticesHtml } from "./service.js";

const TAG = "Notices 公示";
const NoticeQuery = ListQuery.extend({
  kind: z.enum(NOTICE_KINDS).optional(),
  village_code: VillageCode.optional(),
  from: IsoDate.optional().openapi({ description: "Notices that began on or after (default: 90 days ago)" }),
  to: IsoDate.optional(),
  format: z.enum(["json", "html"]).optional(),
});
const NoticeList = z
  .object({
    items: z.array(
      z.object({
        kind: z.enum(NOTICE_KINDS),
        ref: z.string(),
        title: z.string(),
        village_code: z.string(),
        village_name: z.string(),
        period_start: z.string().nullable(),
        period_end: z.string().nullable(),
        entries: z.array(z.object({ name: z.string(), id_number: z.string(), household_no: z.string(), detail: z.string(), amount: z.string().optional() })),
      }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("NoticeList");

doc({
  method: "get",
  path: "/notices",
  tag: TAG,
  summary: "Public notices per village: poverty exits, subsidy recipients, distribution shares (names and ID numbers masked)",
  description: "`?format=html` (or `Accept: text/html`) gives a printable A4 page to post in the village, one sheet per notice of the page (paged by `limit` and `cursor` like every list). Ratings and loans are never published.",
  query: NoticeQuery,
  response: NoticeList,
  produces: ["html"],
  roles: "county staff in their counties; village officers their village",
});

export function noticesRoutes(deps: Deps): Router {
  const r = Router();
  r.get("/notices", async (req, res) => {
    const q = parse(NoticeQuery, req.query, "query");
    const to = q.to ?? deps.clock.today();
    const from = q.from ?? new Date(new Date(`${to}T00:00:00Z`).getTime() - 90 * 86_400_000).toISOString().slice(0, 10);
    const list = pageList(await listNotices(deps.db, actorOf(req), q.kind, q.village_code, from, to), (n) => `${n.kind}:${n.ref}`, q);
    const html = q.format === "html" || (!q.format && req.accepts(["application/json", "text/html"]) === "text/html");
    if (html) res.type("text/html; charset=utf-8").send(noticesHtml(list.items));
    else res.json(list);
  });
  return r;
}
