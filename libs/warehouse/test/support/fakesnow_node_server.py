"""fakesnow's HTTP server, with query results in the JSON form Node's snowflake-sdk reads.

TEST-SIDE ADAPTER (docs/decisions/0703). fakesnow's server answers every non-DML
statement (SELECT, DDL, BEGIN/COMMIT, ...) with an Arrow rowset
(`queryResultFormat: "arrow"`, `rowsetBase64`) and leaves out `returned`. The Python
connector and JDBC read that; snowflake-sdk 3.x has no Arrow reader (it expects
`rowset`, as real Snowflake sends to Node clients) and crashes on the missing
field, and without `returned` it never ends a row stream. This wrapper changes only
the body of `/queries/v1/query-request` answers: the Arrow rowset becomes a JSON
rowset of strings in Snowflake's JSON result encoding, `returned` is added, and a
PUT's answer gets the `region` real Snowflake always sends (the sdk's GCS upload
reads it) and the statement's own `OVERWRITE = TRUE` (fakesnow always answers
false, which sends the sdk to a GET that fakesnow does not serve).
Statements, SQL semantics, PUT uploads and errors are fakesnow's own.

usage: python fakesnow_node_server.py PORT   (0 = any free port; prints "ready <port>" once listening)
"""
import base64
import datetime
import decimal
import gzip
import json
import re
import sys
import threading
import time

import pyarrow as pa
import uvicorn

import fakesnow.server


def _value(v, field: pa.Field, scale: int):
    if v is None:
        return None
    t = field.type
    if pa.types.is_struct(t):
        # fakesnow's timestamp struct: Snowflake's JSON form is "<epoch>.<9-digit fraction>[ <tz minutes + 1440>]"
        s = f"{v['epoch']}.{v['fraction']:09d}"
        return f"{s} {v['timezone']}" if "timezone" in v else s
    if pa.types.is_boolean(t):
        return "1" if v else "0"
    if pa.types.is_integer(t):
        return str(decimal.Decimal(v).scaleb(-scale)) if scale else str(v)
    if pa.types.is_floating(t):
        return repr(float(v))
    if pa.types.is_date(t):
        return str((v - datetime.date(1970, 1, 1)).days)
    return str(v)


def _json_rowset(b64: str) -> list[list[str | None]]:
    if not b64:
        return []
    table = pa.ipc.open_stream(base64.b64decode(b64)).read_all()
    cols = []
    for i, field in enumerate(table.schema):
        scale = int((field.metadata or {}).get(b"scale", b"0"))
        cols.append([_value(v, field, scale) for v in table.column(i).to_pylist()])
    return [list(r) for r in zip(*cols)] if cols else []


OVERWRITE_TRUE = re.compile(r"\bOVERWRITE\s*=\s*TRUE\b", re.IGNORECASE)


def _rewrite(body: bytes, sql: str) -> bytes:
    doc = json.loads(body)
    data = doc.get("data")
    if isinstance(data, dict) and doc.get("success"):
        stage = data.get("stageInfo")
        if isinstance(stage, dict):
            if stage.get("region") is None:
                # A PUT's upload target: real Snowflake always names the stage's region, and
                # the sdk's GCS client reads it (to pick a regional endpoint) before uploading.
                stage["region"] = "us-central1"
            if OVERWRITE_TRUE.search(sql):
                # fakesnow answers overwrite=false whatever the PUT said; the sdk then first
                # GETs the presigned url (which fakesnow does not serve) and never uploads.
                data["overwrite"] = True
        if data.get("queryResultFormat") == "arrow":
            data["rowset"] = _json_rowset(data.pop("rowsetBase64", ""))
            data["queryResultFormat"] = "json"
            data["total"] = len(data["rowset"])
        if "rowset" in data:
            data["returned"] = len(data["rowset"])
    return json.dumps(doc).encode()


class NodeJsonResults:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/queries/v1/query-request":
            return await self.app(scope, receive, send)
        start = {}
        chunks: list[bytes] = []
        request: list[bytes] = []

        async def receive_and_keep():
            message = await receive()
            if message["type"] == "http.request":
                request.append(message.get("body", b""))
            return message

        def sql_text() -> str:
            raw = b"".join(request)
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            try:
                return str(json.loads(raw).get("sqlText", ""))
            except ValueError:
                return ""

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if start.get("status") == 200:
                body = _rewrite(body, sql_text())
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive_and_keep, capture)


def main():
    port = int(sys.argv[1])
    server = uvicorn.Server(
        uvicorn.Config(NodeJsonResults(fakesnow.server.app), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while thread.is_alive() and not server.started:
        time.sleep(0.05)
    if not server.started:
        sys.exit(1)
    bound = server.servers[0].sockets[0].getsockname()[1]
    print(f"ready {bound}", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
