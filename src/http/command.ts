import { createHash } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import type { Knex } from "knex";
import { affectedRows } from "../db/knex.js";
import { preparedQuery } from "../lib/prepared.js";
import { transaction } from "../db/transaction.js";
import { bufferAudit, flushAudit } from "../lib/audit.js";
import { canonicalJson } from "../lib/canonical-json.js";
import { Pii } from "../lib/pii.js";
import { AppError } from "./errors.js";
import { markIdempotent } from "./route-table.js";

export interface CommandResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Work started once the transaction has committed (e.g. a file processed in the background); not run on a replay. */
  afterCommit?: () => void;
}

export const KEY_TTL_HOURS = 24;
/** Keys created at or before this moment have expired. */
const EXPIRY = `now() - interval '${KEY_TTL_HOURS} hours'`;
class KeyTaken extends Error {}

interface StoredResponse {
  request_hash: string;
  status_code: number;
  response_body: unknown;
}

/**
 * Deletes the answers stored for keys past their lifetime (a retry with such a key runs anew
 * anyway); returns how many. Run by the close of business.
 */
export async function purgeExpiredKeys(db: Knex): Promise<number> {
  return affectedRows(await db("idempotency_keys").where("created_at", "<=", db.raw(EXPIRY)).delete());
}

async function findKey(db: Knex, owner: string, key: string): Promise<StoredResponse | undefined> {
  const [row] = await preparedQuery<StoredResponse>(db, db("idempotency_keys").where({ owner, key }).andWhere("created_at", ">", db.raw(EXPIRY)).limit(1));
  return row;
}

/**
 * The cipher that seals stored responses (`createApp` puts the app's PII cipher in `app.locals`).
 * A response may show personal data whole (to the village officer of the household's village), and
 * a database dump must not reveal it (docs/DOMAIN.md#personal-data), so the stored copy is encrypted like the register's.
 */
function sealerOf(req: Request): Pii {
  const pii: unknown = req.app.locals.pii;
  if (!(pii instanceof Pii)) throw new Error("app.locals.pii is not set: build the app with createApp");
  return pii;
}

function seal(pii: Pii, body: unknown): string {
  return JSON.stringify({ sealed: pii.encrypt(JSON.stringify(body ?? null)) });
}

function unseal(pii: Pii, stored: unknown): unknown {
  const sealed = typeof stored === "object" && stored !== null && "sealed" in stored ? (stored as { sealed: unknown }).sealed : undefined;
  if (typeof sealed !== "string") throw new Error("stored idempotent response is not sealed");
  return JSON.parse(pii.decrypt(sealed));
}

function replay(req: Request, res: Response, stored: StoredResponse, hash: string): void {
  if (stored.request_hash !== hash) {
    throw new AppError("IDEMPOTENCY_KEY_REUSED", { zh: "此 Idempotency-Key 已用于另一个不同的请求", en: "This Idempotency-Key was already used with a different request" });
  }
  res.set("Idempotent-Replayed", "true").status(stored.status_code).json(unseal(sealerOf(req), stored.response_body));
}

/**
 * What the idempotency hash covers: the JSON body, or a file body's bytes (by their hash) with the
 * query string that goes with it (a file's date comes as a query parameter).
 */
function requestText(req: Request): string {
  if (!Buffer.isBuffer(req.body)) return canonicalJson(req.body ?? null);
  return `file:${createHash("sha256").update(req.body).digest("hex")}?${canonicalJson(req.query)}`;
}

/**
 * Runs a state-changing handler in one database transaction. With an `Idempotency-Key` header,
 * the first successful response is stored (sealed) in that same transaction, so a retry with the same key
 * and body replays it (header `Idempotent-Replayed: true`) and changes nothing again, even when the
 * two requests race; the same key with another body is a 422. Failed requests are rolled back
 * and not stored. `requireKey` makes the header mandatory (POSTs that move money).
 */
export function command(
  db: Knex,
  handler: (req: Request, trx: Knex.Transaction) => Promise<CommandResult>,
  opts: { requireKey?: boolean } = {},
): RequestHandler {
  const handle: RequestHandler = async (req, res) => {
    const key = req.header("idempotency-key");
    if (key !== undefined && (key.length < 1 || key.length > 200)) {
      throw new AppError("VALIDATION_FAILED", { zh: "Idempotency-Key 须为 1 至 200 个字符", en: "Idempotency-Key must be 1 to 200 characters" }, [
        { path: "header.Idempotency-Key", message: { zh: "1 至 200 个字符", en: "1 to 200 characters" } },
      ]);
    }
    if (opts.requireKey && !key) {
      throw new AppError("IDEMPOTENCY_KEY_REQUIRED", {
        zh: "此请求涉及资金变动：请发送 Idempotency-Key 请求头（例如一个 UUID），重试时沿用同一个值",
        en: "This request moves money: send an Idempotency-Key header (e.g. a UUID) and reuse it on retries",
      });
    }
    const owner = req.actor ? `${req.actor.kind}:${req.actor.userId}` : "anonymous";
    const path = `${req.baseUrl}${req.path}`;
    const hash = createHash("sha256").update(`${req.method} ${path}\n${requestText(req)}`).digest("hex");
    if (key) {
      const prior = await findKey(db, owner, key);
      if (prior) return replay(req, res, prior, hash);
    }
    let result: CommandResult;
    try {
      result = await transaction(db, async (trx) => {
        bufferAudit(trx);
        const r = await handler(req, trx);
        // One statement: a new key is inserted, an expired one replaced; a live one (a concurrent
        // request that committed first) is left alone and nothing comes back. It goes to the
        // database with the audit flush's first query (one round trip for both).
        let along;
        if (key) {
          const row = { method: req.method, path, request_hash: hash, status_code: r.status, response_body: seal(sealerOf(req), r.body) };
          along = trx("idempotency_keys")
            .insert({ owner, key, ...row })
            .onConflict(["owner", "key"])
            .merge({ ...row, created_at: trx.fn.now() })
            .where("idempotency_keys.created_at", "<=", trx.raw(EXPIRY))
            .returning("key")
            .toSQL();
        }
        // Last: the audit append locks one of the county's chain heads until the commit.
        const stored = await flushAudit(trx, along);
        if (along && stored === 0) throw new KeyTaken();
        return r;
      });
    } catch (err) {
      if (key) {
        // A concurrent request with this key committed first: ours is rolled back; answer with theirs.
        // Ours may have failed on its writes rather than on the key (a unique ID number or code it
        // also inserted, a state it also changed), so look for theirs whatever the error.
        const prior = await findKey(db, owner, key);
        if (prior) return replay(req, res, prior, hash);
        if (err instanceof KeyTaken) throw new AppError("IDEMPOTENCY_IN_PROGRESS", { zh: "使用此 Idempotency-Key 的请求正在处理中", en: "A request with this Idempotency-Key is in progress" });
      }
      throw err;
    }
    if (result.headers) res.set(result.headers);
    res.status(result.status).json(result.body ?? null);
    result.afterCommit?.();
  };
  // The OpenAPI document declares the header from this mark (http/route-table.ts), so it cannot drift.
  return markIdempotent(handle, opts.requireKey ? "required" : "accepted");
}
