import { PGlite } from "@electric-sql/pglite";
const t0=Date.now();
const db = new PGlite();
const r = await db.query("select 1.50::numeric(18,2) n, '2024-01-10'::date d, now() ts, 5::bigint b, '{\"a\":1}'::jsonb j, array['a','b']::text[] arr, gen_random_uuid() u");
console.log(r.rows, r.fields, Date.now()-t0);
const dump = await db.dumpDataDir('none'); console.log(dump.size, Date.now()-t0);
const db2 = new PGlite({loadDataDir: dump}); await db2.waitReady; console.log('loaded', Date.now()-t0);
