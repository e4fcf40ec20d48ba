// SPDX-License-Identifier: EUPL-1.2
// duckdb-query.mjs - runs SQL statements in DuckDB (the benchmark anchor) in one in-memory
// database and prints one JSON line each: {"label", "seconds" (wall), "cpu_seconds" (the
// process's user + system time, all DuckDB threads, spent in the statement), "rows", "first"}.
// CPU time is reported because the benchmark machine may be shared and wall times mislead.
// Usage: node duckdb-query.mjs LABEL=SQL [LABEL=SQL ...]
// DUCKDB_DATABASE=FILE opens (or creates) that persisted database instead of an in-memory one.
import { DuckDBInstance } from '@duckdb/node-api';

const threads = process.env.DUCKDB_THREADS || '2';
const instance = await DuckDBInstance.create(process.env.DUCKDB_DATABASE || ':memory:', { threads });
const conn = await instance.connect();
for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf('=');
  const label = arg.slice(0, eq), sql = arg.slice(eq + 1);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const reader = await conn.runAndReadAll(sql);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const rows = reader.getRows();
  const first = rows.length ? rows[0].map(String) : [];
  console.log(JSON.stringify({ label, seconds, cpu_seconds: (c.user + c.system) / 1e6, rows: rows.length, first }));
}
