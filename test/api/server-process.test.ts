import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/knex.js";
import { DEMO_PASSWORD } from "../../db/seeds/demo.js";
import { withDatabase } from "../helpers/global-setup.js";

/**
 * The server as an operator runs it: spawned as its own process (and through `npm start`), read
 * through its log lines and its exit code.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECRETS = {
  JWT_SECRET: randomBytes(32).toString("base64url"),
  PII_ENC_KEY: randomBytes(32).toString("hex"),
  PII_HASH_KEY: randomBytes(32).toString("hex"),
  AUDIT_HMAC_KEY: randomBytes(32).toString("hex"),
  AUDIT_SEAL_PRIVATE_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"),
};
const dataDir = mkdtempSync(join(tmpdir(), "huinong-live-"));
let database: { url?: string; drop: () => Promise<void> } = { drop: async () => {} };

/** A fresh, empty database for the spawned server: a PGlite directory, or a new PostgreSQL database. */
async function emptyDatabase(): Promise<Record<string, string>> {
  const url = process.env.DATABASE_URL;
  if (!url) return { DATA_DIR: dataDir };
  if (!database.url) {
    const name = `huinong_proc_${process.pid}_${randomBytes(4).toString("hex")}`;
    const admin = createDb({ databaseUrl: url, poolMax: 1 });
    await admin.raw(`CREATE DATABASE ${name}`);
    database = {
      url: withDatabase(url, name),
      drop: async () => {
        await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.destroy();
      },
    };
  }
  return { DATA_DIR: dataDir, DATABASE_URL: database.url as string };
}

interface Run {
  child: ChildProcess;
  lines: () => Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns with only the variables given (plus PATH and HOME), in a directory without a `.env`. */
function run(command: string, args: string[], env: Record<string, string>, cwd = ROOT): Run {
  const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "info", ...env } });
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const lines = () =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, lines, stderr: () => err, exited };
}

/** The port from the "listening" line (PORT=0 lets the system pick a free one). */
async function listening(r: Run, timeoutMs = 240_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const line = r.lines().find((l) => l.msg === "listening");
    if (line) return Number(line.port);
    if (r.child.exitCode !== null) throw new Error(`server exited ${r.child.exitCode}: ${JSON.stringify(r.lines())} ${r.stderr()}`);
    if (Date.now() > until) throw new Error(`not listening after ${timeoutMs} ms: ${JSON.stringify(r.lines())}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

const server = ["--import", "tsx", "src/server.ts"];

afterAll(async () => {
  await database.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("production start", () => {
  it("refuses to start without its secrets, naming each one in one log line and exit code 78", async () => {
    const r = run(process.execPath, server, { NODE_ENV: "production", PORT: "0", ...(await emptyDatabase()) });
    const { code } = await r.exited;
    expect(code).toBe(78);
    const fatal = r.lines().filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0].msg).toMatch(/^refusing to start in production: /);
    expect(fatal[0].problems).toEqual(["JWT_SECRET is not set", "PII_ENC_KEY is not set", "PII_HASH_KEY is not set", "AUDIT_HMAC_KEY is not set", "AUDIT_SEAL_PRIVATE_KEY is not set"]);
    expect(r.lines().some((l) => l.msg === "listening")).toBe(false);
  }, 240_000);

  it("refuses the example values of the documentation and tests, and SEED_DEMO=true", async () => {
    const r = run(process.execPath, server, {
      NODE_ENV: "production",
      PORT: "0",
      JWT_SECRET: "test-secret-test-secret-test-secret-0123",
      PII_ENC_KEY: "0".repeat(64),
      PII_HASH_KEY: SECRETS.PII_HASH_KEY,
      AUDIT_HMAC_KEY: SECRETS.AUDIT_HMAC_KEY,
      AUDIT_SEAL_PRIVATE_KEY: SECRETS.AUDIT_SEAL_PRIVATE_KEY,
      SEED_DEMO: "true",
      ...(await emptyDatabase()),
    });
    expect((await r.exited).code).toBe(78);
    expect(r.lines().find((l) => l.level === 60)?.problems).toEqual([
      "JWT_SECRET is an example value, not a secret",
      "PII_ENC_KEY is an example value, not a secret",
      "SEED_DEMO=true: the demo county is never seeded in production (unset it)",
    ]);
  }, 240_000);

  it("with its secrets and an empty database: migrates, seeds no demo (its admin cannot log in), redirects / to the reference", async () => {
    const r = run(process.execPath, server, { NODE_ENV: "production", PORT: "0", HOST: "127.0.0.1", ...SECRETS, ...(await emptyDatabase()) });
    try {
      const port = await listening(r);
      const base = `http://127.0.0.1:${port}`;
      const login = await fetch(`${base}/api/v1/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: DEMO_PASSWORD }) });
      expect(login.status).toBe(401);
      expect(r.lines().some((l) => String(l.msg).includes("demo"))).toBe(false);
      expect(r.stderr()).not.toContain(DEMO_PASSWORD);
      const root = await fetch(`${base}/`, { redirect: "manual" });
      expect(root.status).toBe(302);
      expect(root.headers.get("location")).toBe("/docs");
      const errors = await fetch(`${base}/docs/errors`);
      expect(errors.headers.get("content-type")).toMatch(/text\/html/);
      expect(await errors.text()).toContain('<tr id="NOTICE_PERIOD_NOT_OVER">');
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      r.child.kill("SIGTERM");
      expect((await r.exited).code).toBe(0);
    }
  }, 300_000);
});

describe("npm start under a service manager", () => {
  it("SIGTERM to npm stops the server: it drains, closes the database, exits 0 within 10 s and the port is closed", async () => {
    const r = run("npm", ["start"], { PORT: "0", HOST: "127.0.0.1", SEED_DEMO: "false", ...SECRETS, ...(await emptyDatabase()) });
    const port = await listening(r);
    const serverPid = Number(r.lines().find((l) => l.msg === "listening")?.pid);
    expect(await portOpen(port)).toBe(true);
    const started = Date.now();
    r.child.kill("SIGTERM"); // to npm, as systemd or a container runtime does
    const { code } = await r.exited;
    const stoppedIn = Date.now() - started;
    expect(code).toBe(0);
    expect(stoppedIn).toBeLessThan(10_000);
    expect(r.lines().map((l) => l.msg)).toEqual(expect.arrayContaining(["shutting down: no new connections, finishing requests in flight", "stopped"]));
    expect(await portOpen(port)).toBe(false);
    // The server process itself is gone (not left behind, orphaned, still serving).
    expect(() => process.kill(serverPid, 0)).toThrow();
  }, 300_000);
});
