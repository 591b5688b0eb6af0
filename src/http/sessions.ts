import type { Knex } from "knex";
import pg from "pg";
import type { Logger } from "pino";

/**
 * Which tokens have been ended, known in memory so that checking a request costs a few map reads
 * and no query (a read must stay as fast as before: the verified-token cache in auth.ts keeps the
 * signature check off the hot path, and this keeps the database off it too).
 *
 * The state is small: the raised token versions (a user's `session_epoch`, a partner's or a
 * household's `token_epoch`; a token carrying a lower version is refused) and the sessions ended
 * by logout that have not expired yet. It is made true in three ways:
 *
 * - in the process that makes a change, at once when its transaction commits (`announce` hooks the
 *   transaction's commit), so the next request to that process is refused;
 * - in every other server process through PostgreSQL LISTEN/NOTIFY on `SESSIONS_CHANNEL`: the
 *   change's transaction sends `pg_notify`, which PostgreSQL delivers to the listeners when (and
 *   only if) it commits; after (re)connecting the listener, the whole state is read again, so
 *   nothing sent while it was away is missed;
 * - as a fallback, the state is read again before a request is checked whenever it is older than
 *   `REFRESH_MS.listening` (30 s) — or `REFRESH_MS.notListening` (2 s) while the listener is down.
 *
 * On PGlite there is one process and no listener: the in-process update is exact.
 * Versions only grow and ended sessions only accumulate (until they expire), so applying a change
 * twice, or a reload that overlaps a notification, never brings an ended token back.
 */
export const SESSIONS_CHANNEL = "huinong_sessions";
export const REFRESH_MS = { listening: 30_000, notListening: 2_000 } as const;

export type TokenSubject = "user" | "household" | "partner";
export type Revocation = { kind: TokenSubject; id: string; epoch: number } | { kind: "session"; id: string; expiresAt: number };

type PgConnection = string | pg.ClientConfig;

export class SessionRegistry {
  private readonly epochs: Record<TokenSubject, Map<string, number>> = { user: new Map(), household: new Map(), partner: new Map() };
  /** Sessions ended by logout → their expiry (epoch seconds); forgotten once expired. */
  private readonly ended = new Map<string, number>();
  private loadedAt = 0;
  private reloading: Promise<void> | undefined;
  private started: Promise<void> | undefined;
  private listener: pg.Client | undefined;
  private retryMs = 1000;
  private closed = false;
  /** Milliseconds from a notification's send (its `t`) to its arrival here, the last few (for measurement). */
  readonly notifyLatencies: number[] = [];

  constructor(
    private readonly db: Knex,
    private readonly connection: PgConnection | undefined,
    private readonly logger?: Logger,
  ) {}

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Whether the state may be used as it is (loaded, and recent enough when other processes can change it). */
  isFresh(now = Date.now()): boolean {
    if (this.loadedAt === 0) return false;
    if (!this.connection) return true; // one process (PGlite): every change went through `apply`
    return now - this.loadedAt < (this.listening ? REFRESH_MS.listening : REFRESH_MS.notListening);
  }

  /** Starts listening (first call) and reads the state again; concurrent callers share one read. */
  refresh(): Promise<void> {
    if (!this.started) {
      this.started = this.connection ? this.listen().catch((err: unknown) => this.scheduleListen(err)) : Promise.resolve();
    }
    return this.started.then(() => (this.isFresh() ? undefined : this.reload()));
  }

  /** Whether a staff token (user, version, session id) has been ended. */
  staffEnded(userId: string, epoch: number, sessionId: string): boolean {
    return (this.epochs.user.get(userId) ?? 0) > epoch || this.ended.has(sessionId);
  }

  /** Whether a household portal token has been ended (PIN re-issued, partner rotated or revoked). */
  householdEnded(householdId: string, householdEpoch: number, partnerId: string, partnerEpoch: number): boolean {
    return (this.epochs.household.get(householdId) ?? 0) > householdEpoch || (this.epochs.partner.get(partnerId) ?? 0) > partnerEpoch;
  }

  apply(r: Revocation): void {
    if (r.kind === "session") {
      if (r.expiresAt * 1000 > Date.now()) this.ended.set(r.id, r.expiresAt);
      return;
    }
    const m = this.epochs[r.kind];
    if ((m.get(r.id) ?? 0) < r.epoch) m.set(r.id, r.epoch);
  }

  /** Reads the whole state from the database (raised versions, sessions ended by logout). */
  reload(): Promise<void> {
    if (this.reloading) return this.reloading;
    const started = Date.now();
    this.reloading = (async () => {
      try {
        const { rows } = await this.db.raw<{ rows: { kind: Revocation["kind"]; id: string; n: number }[] }>(
          `SELECT 'user' AS kind, id::text AS id, session_epoch AS n FROM users WHERE session_epoch > 0
           UNION ALL SELECT 'partner', client_id, token_epoch FROM partners WHERE token_epoch > 0
           UNION ALL SELECT 'household', household_id::text, token_epoch FROM household_credentials WHERE token_epoch > 0
           UNION ALL SELECT 'session', id::text, ceil(extract(epoch FROM expires_at))::int FROM sessions WHERE end_reason = 'logout' AND expires_at > now()`,
        );
        const nowS = started / 1000;
        for (const [id, exp] of this.ended) if (exp <= nowS) this.ended.delete(id);
        for (const r of rows) this.apply(r.kind === "session" ? { kind: "session", id: r.id, expiresAt: Number(r.n) } : { kind: r.kind, id: r.id, epoch: Number(r.n) });
        this.loadedAt = started;
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  private async listen(): Promise<void> {
    if (this.closed || !this.connection) return;
    const client = new pg.Client(typeof this.connection === "string" ? { connectionString: this.connection } : this.connection);
    const lost = (err?: unknown) => {
      if (this.listener === client) this.listener = undefined;
      client.removeAllListeners();
      client.on("error", () => {});
      client.end().catch(() => {});
      if (!this.closed) this.scheduleListen(err);
    };
    client.on("error", lost);
    client.on("end", () => lost());
    client.on("notification", (m) => {
      if (m.channel !== SESSIONS_CHANNEL || !m.payload) return;
      try {
        const r = JSON.parse(m.payload) as Revocation & { t?: number };
        if (typeof r.t === "number") {
          this.notifyLatencies.push(Date.now() - r.t);
          if (this.notifyLatencies.length > 100) this.notifyLatencies.shift();
        }
        this.apply(r);
      } catch {
        this.logger?.warn({ channel: m.channel }, "unreadable session notification ignored");
      }
    });
    await client.connect();
    await client.query(`LISTEN ${SESSIONS_CHANNEL}`);
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
    this.retryMs = 1000;
    // Listening now: read everything again, so a change committed while nobody listened is not missed.
    this.loadedAt = 0;
    if (this.reloading) await this.reloading.catch(() => {});
    await this.reload();
  }

  private scheduleListen(err: unknown): void {
    if (this.closed) return;
    this.logger?.warn({ err: err instanceof Error ? err.message : undefined, retryInMs: this.retryMs }, "session listener not connected; falling back to short refreshes");
    const timer = setTimeout(() => {
      this.listen().catch((e: unknown) => this.scheduleListen(e));
    }, this.retryMs);
    timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  /** Stops listening (the database handle is being closed). */
  close(): void {
    this.closed = true;
    const l = this.listener;
    this.listener = undefined;
    if (l) {
      l.removeAllListeners();
      l.on("error", () => {});
      l.end().catch(() => {});
    }
  }
}

interface ClientInternals {
  config: { client?: unknown; connection?: unknown };
  pool?: { on(event: string, fn: () => void): void };
}

// One registry per database handle. A transaction's client shares its knex's `config` object, so a
// service holding only the transaction finds the registry of the app that opened it.
const registries = new WeakMap<object, SessionRegistry>();
const clientOf = (db: Knex | Knex.Transaction) => db.client as unknown as ClientInternals;
const onServer = (c: ClientInternals) => c.config.client === "pg";

/** The session registry of a database handle (made on first use; closed with the handle's pool). */
export function sessionRegistry(db: Knex, logger?: Logger): SessionRegistry {
  const c = clientOf(db);
  let r = registries.get(c.config);
  if (!r) {
    const conn = onServer(c) ? (c.config.connection as PgConnection) : undefined;
    const made = new SessionRegistry(db, conn, logger);
    r = made;
    registries.set(c.config, made);
    c.pool?.on("poolDestroyRequest", () => made.close());
  }
  return r;
}

/**
 * Records that tokens end, inside the transaction that makes the change: other server processes
 * hear it through NOTIFY at commit, and this process applies it as soon as the transaction commits
 * (nothing is applied if it rolls back).
 */
export async function announce(trx: Knex.Transaction, revocations: Revocation[]): Promise<void> {
  const c = clientOf(trx);
  if (onServer(c)) {
    for (const r of revocations) await trx.raw("SELECT pg_notify(?, ?)", [SESSIONS_CHANNEL, JSON.stringify({ ...r, t: Date.now() })]);
  }
  const registry = registries.get(c.config);
  if (!registry) return; // nothing checks tokens on this handle yet; its first check reads the state
  const apply = () => {
    for (const r of revocations) registry.apply(r);
  };
  if (trx.isTransaction && trx.executionPromise) trx.executionPromise.then(apply, () => {});
  else apply();
}
