"""Runs SQL through the Snowflake Python connector against fakesnow (in-process).

argv[1] is JSON: {"db_path": "<folder>", "database": "DB", "schema": "PUBLIC", "statements": [...]}.
Prints a JSON list: the rows of each statement (lists), or {"error": "..."} for a failing one (then stops).
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")

import fakesnow  # noqa: E402
import snowflake.connector  # noqa: E402


def main():
    args = json.loads(sys.argv[1])
    out = []
    with fakesnow.patch(db_path=args["db_path"]):
        conn = snowflake.connector.connect(database=args["database"], schema=args["schema"])
        cur = conn.cursor()
        for sql in args["statements"]:
            try:
                cur.execute(sql)
                out.append([list(r) for r in cur.fetchall()])
            except Exception as e:
                out.append({"error": f"{type(e).__name__}: {e}"[:500], "sql": sql[:300]})
                break
        conn.close()
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
