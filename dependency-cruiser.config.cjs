/**
 * The boundaries of the code, checked in CI (`npm run deps`). What each rule keeps, and why, is in
 * docs/ARCHITECTURE.md › "Modules and their faces".
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: "no-cycle",
      severity: "error",
      comment: "No import cycles anywhere in src/: between modules, between lib and http, or inside a module.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "module-face-only",
      severity: "error",
      comment: "A module uses another module only through that module's index.ts (its public face).",
      from: { path: "^src/modules/([^/]+)/" },
      to: { path: "^src/modules/[^/]+/", pathNot: ["^src/modules/$1/", "^src/modules/[^/]+/index\\.ts$"] },
    },
    {
      name: "outside-uses-faces",
      severity: "error",
      comment:
        "The app, the jobs and scripts use a module through its index.ts too. Tests, benchmarks and the demo seed (which writes a year of business through the modules' use cases, as their users would) may reach inside.",
      from: { pathNot: ["^src/modules/", "^test/", "^scripts/bench/", "^db/seeds/"] },
      to: { path: "^src/modules/[^/]+/", pathNot: "^src/modules/[^/]+/index\\.ts$" },
    },
    {
      name: "lib-is-the-bottom",
      severity: "error",
      comment: "lib/ is the bottom layer: it knows nothing of HTTP, the database wiring, the jobs or any module (only the settings).",
      from: { path: "^src/lib/" },
      to: { path: "^src/(http|db|jobs|modules)/|^src/(app|server|bootstrap|deps)\\.ts$" },
    },
    {
      name: "http-knows-no-module",
      severity: "error",
      comment: "http/ (auth, errors, commands, OpenAPI) serves every module and depends on none.",
      from: { path: "^src/http/" },
      to: { path: "^src/(modules|jobs)/|^src/(app|server)\\.ts$" },
    },
    {
      name: "modules-not-to-app",
      severity: "error",
      comment: "Modules do not import the app or the server; the app imports them.",
      from: { path: "^src/(modules|jobs|lib|http)/" },
      to: { path: "^src/(app|server)\\.ts$|^scripts/|^test/|^db/seeds/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    parser: "swc",
  },
};
