"""Independent reader for the warehouse-loader tests: delta-rs + DuckDB.

argv[1] is JSON: {"root": "<lake uri>", "tables": [...], "storage_options": {...} | null,
"parquet_root": "<folder>" | null, "rows_of": [...]}. Prints JSON per table: version, schema,
rows, distinct ids, ids seen more than once, DuckDB count over the live files, and (rows_of) all rows.
"""
import json
import sys

import duckdb
from deltalake import DeltaTable


def main():
    args = json.loads(sys.argv[1])
    opts = args.get("storage_options")
    out = {}
    for name in args["tables"]:
        uri = f"{args['root']}/{name}"
        try:
            dt = DeltaTable(uri, storage_options=opts)
        except Exception as e:  # table not there yet
            out[name] = {"missing": True, "error": str(e)[:200]}
            continue
        table = dt.to_pyarrow_table()
        con = duckdb.connect()
        con.register("t", table)
        info = {
            "version": dt.version(),
            "schema": {f.name: str(f.type) for f in table.schema},
            "rows": table.num_rows,
        }
        if "id" in table.column_names:
            info["distinct_ids"] = con.execute("select count(distinct id) from t").fetchone()[0]
            info["duplicates"] = [r[0] for r in con.execute("select id from t group by id having count(*) > 1 limit 20").fetchall()]
        if name in (args.get("rows_of") or []):
            info["all_rows"] = table.to_pylist()
        if not opts:
            files = dt.file_uris()
            if files:
                info["duckdb_rows"] = duckdb.connect().execute(
                    "select count(*) from read_parquet(?, union_by_name = true)", [files]
                ).fetchone()[0]
                # DuckDB's own Delta reader when its extension is available offline.
                try:
                    d = duckdb.connect()
                    d.execute("LOAD delta")
                    info["duckdb_delta_scan_rows"] = d.execute(f"select count(*) from delta_scan('{uri}')").fetchone()[0]
                except Exception:
                    pass
        out[name] = info
    proot = args.get("parquet_root")
    if proot:
        p = {}
        for name in args["tables"]:
            try:
                p[name] = duckdb.connect().execute(
                    f"select count(*), count(distinct id) from read_parquet('{proot}/{name}/*/*.parquet', hive_partitioning = true, union_by_name = true)"
                ).fetchone()
            except Exception as e:
                p[name] = str(e)[:200]
        out["_parquet"] = p
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
