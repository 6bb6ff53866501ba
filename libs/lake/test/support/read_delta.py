"""Independent reader for the lake integration tests: delta-rs + DuckDB (+ pyarrow).

argv[1] is JSON: {"tables": [{"uri": ..., "ids": [...]}], "storage_options": {...} | null,
"s3": {"endpoint", "bucket", "key", "secret", "region"} | null}. Prints JSON per table.
"""
import json
import os
import sys
import tempfile
from urllib.parse import urlparse

import duckdb
from deltalake import DeltaTable


def local_copies(uris, s3):
    """DuckDB reads the live Parquet files; S3 objects are fetched first (no DuckDB extensions offline)."""
    if not s3:
        return [urlparse(u).path if u.startswith("file://") else u for u in uris]
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3["endpoint"],
        aws_access_key_id=s3["key"],
        aws_secret_access_key=s3["secret"],
        region_name=s3["region"],
    )
    folder = tempfile.mkdtemp(prefix="sluice-read-")
    out = []
    for i, uri in enumerate(uris):
        parsed = urlparse(uri)
        target = os.path.join(folder, f"{i}.parquet")
        client.download_file(parsed.netloc, parsed.path.lstrip("/"), target)
        out.append(target)
    return out


def main():
    args = json.loads(sys.argv[1])
    result = {}
    for spec in args["tables"]:
        dt = DeltaTable(spec["uri"], storage_options=args.get("storage_options"))
        table = dt.to_pyarrow_table()
        con = duckdb.connect()
        con.register("t", table)
        info = {
            "version": dt.version(),
            "history": len(dt.history()),
            "schema": {f.name: str(f.type) for f in table.schema},
            "rows": table.num_rows,
            "txn": {app: dt.transaction_version(app) for app in spec.get("txn_apps") or []},
        }
        if "id" in table.column_names:
            info["distinct_ids"] = con.execute("select count(distinct id) from t").fetchone()[0]
            ids = spec.get("ids") or []
            if ids:
                rows = con.execute(
                    "select * from t where id in (select unnest(?)) order by id", [ids]
                ).fetch_arrow_table().to_pylist()
                info["by_id"] = {r["id"]: r for r in rows}
        files = local_copies(dt.file_uris(), args.get("s3"))
        if files:
            duck = duckdb.connect()
            info["duckdb_rows"] = duck.execute(
                "select count(*) from read_parquet(?, union_by_name = true)", [files]
            ).fetchone()[0]
            info["duckdb_types"] = dict(
                duck.execute(
                    "select column_name, column_type from (describe select * from read_parquet(?, union_by_name = true))",
                    [files],
                ).fetchall()
            )
        else:
            info["duckdb_rows"] = 0
        result[spec["uri"]] = info
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
