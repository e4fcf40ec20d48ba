// duckdb-query.mjs - runs SQL statements in DuckDB (the benchmark anchor) and prints the
// wall time of each as JSON lines: {"label": ..., "seconds": ..., "rows": ...}.
// Usage: node duckdb-query.mjs LABEL=SQL [LABEL=SQL ...]   (statements run in one in-memory db)
import { DuckDBInstance } from '@duckdb/node-api';

const threads = process.env.DUCKDB_THREADS || '2';
const instance = await DuckDBInstance.create(':memory:', { threads });
const conn = await instance.connect();
for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf('=');
  const label = arg.slice(0, eq), sql = arg.slice(eq + 1);
  const t0 = process.hrtime.bigint();
  const reader = await conn.runAndReadAll(sql);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rows = reader.getRows();
  const first = rows.length ? rows[0].map(String) : [];
  console.log(JSON.stringify({ label, seconds, rows: rows.length, first }));
}
