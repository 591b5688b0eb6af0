import type { IncomingMessage, ServerResponse } from "node:http";
import type { Request, Response } from "express";
import type { Deps } from "../../deps.js";
import { type HotAnswer, type HotRoute, sendJson } from "../../http/hot-path.js";
import { compiledJson } from "../../http/serializer.js";
import { sessionRegistry } from "../../http/sessions.js";
import type { Clock } from "../../lib/clock.js";
import { householdAtOnce, type HouseholdPrincipal } from "./auth.js";
import { portalDividends, portalSummary } from "./reads.js";
import { dividendsVersion } from "../distributions/index.js";
import { pageList } from "../../http/pagination.js";
import { ListQuery } from "../../http/zod.js";

const FIRST_PAGE = ListQuery.parse({});
import { partnerLimiter } from "./routes.js";
import { PortalDividends, PortalSummary } from "./schemas.js";

// The answers' JSON, written by serializers compiled from their schemas (the same text as JSON.stringify).
const dividendsJson = compiledJson(PortalDividends);
const summaryJson = compiledJson(PortalSummary);

/**
 * The household portal's two hottest reads — `GET /portal/me/dividends` and `GET
 * /portal/me/summary[?year=YYYY]` — answered before the app's Express stack (http/hot-path.ts)
 * when the request is exactly one of them, carries no body, and its token is a household token
 * good as it stands (verified, its session known not to have ended). Then the work is what the
 * routes do — the same partner rate limit (the same counts), the same read, the same JSON text
 * (from serializers compiled from the answers' schemas) — and nothing else. Any other request,
 * every refusal included (no token, a bad or ended token, a query the route would refuse, a body),
 * goes through Express and the routes in routes.ts, which answer it as they always have.
 */
export function portalHotReads(deps: Deps, mount: string): HotRoute {
  const dividendsPath = `${mount}/portal/me/dividends`;
  const summaryPath = `${mount}/portal/me/summary`;
  const sessions = sessionRegistry(deps.db, deps.logger);
  const limiter = partnerLimiter(deps);
  const limit = (req: IncomingMessage, res: ServerResponse) =>
    new Promise<void>((resolve, reject) => {
      void limiter(req as Request, res as Response, (err?: unknown) => (err ? reject(err) : resolve()));
    });
  const answer =
    (h: Readonly<HouseholdPrincipal>, read: (h: HouseholdPrincipal) => Promise<string>): HotAnswer =>
    async (req, res) => {
      (req as Request).household = h;
      res.setHeader("Content-Language", "zh-CN");
      res.setHeader("Vary", "Accept-Language");
      await limit(req, res);
      sendJson(res, await read(h));
    };
  // The same page the route answers without a query (the first, of the default size), kept with the
  // version of the county's dividends it was read at and read again once that version has moved on.
  const kept = new KeptAnswers();
  const dividends = async (h: HouseholdPrincipal) => {
    const version = await dividendsVersion(deps.db, h.countyCode);
    const answer = kept.get(h.householdId, version);
    if (answer !== undefined) return answer;
    const json = dividendsJson(pageList(await portalDividends(deps.db, h), (d) => d.distribution_id, FIRST_PAGE));
    kept.set(h.householdId, version, json);
    return json;
  };

  return (req) => {
    if (req.method !== "GET" || req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) return undefined;
    // A request that names a language goes through the stack, which negotiates it; the default is Chinese.
    if (req.headers["accept-language"] !== undefined) return undefined;
    const url = req.url ?? "";
    let read: ((h: HouseholdPrincipal) => Promise<string>) | undefined;
    if (url === dividendsPath) read = dividends;
    else if (url.startsWith(summaryPath)) {
      const year = summaryYear(url.slice(summaryPath.length), deps.clock);
      if (year !== undefined) read = async (h) => summaryJson(await portalSummary(deps.db, h, year));
    }
    if (!read) return undefined;
    const h = householdAtOnce(deps.jwt, sessions, req.headers.authorization);
    return h && answer(h, read);
  };
}

/** How many households' dividends answers a server keeps (about 2 KB each); past it the longest kept is dropped. */
const KEPT_ANSWERS = 20_000;

/**
 * Households' dividends answers (their JSON text), each with the version of its county's dividends
 * it was read at. The version is read first and the answer after it, so a kept answer is never older
 * than its version; a change moves the version on when it commits, and the next read of any
 * household of that county reads its answer again.
 */
class KeptAnswers {
  private readonly answers = new Map<string, { version: string; json: string }>();

  get(householdId: string, version: string): string | undefined {
    const a = this.answers.get(householdId);
    return a && a.version === version ? a.json : undefined;
  }

  set(householdId: string, version: string, json: string): void {
    this.answers.delete(householdId);
    this.answers.set(householdId, { version, json });
    if (this.answers.size > KEPT_ANSWERS) this.answers.delete(this.answers.keys().next().value as string);
  }
}

/** The year of the summary's query as the route reads it, for the plain forms only (none: this year; or `?year=YYYY` inside 2000–2100). */
function summaryYear(query: string, clock: Clock): number | undefined {
  if (query === "") return Number(clock.today().slice(0, 4));
  const m = /^\?year=(\d{4})$/.exec(query);
  const year = m ? Number(m[1]) : NaN;
  return year >= 2000 && year <= 2100 ? year : undefined;
}
