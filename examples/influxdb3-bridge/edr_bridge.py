"""edr bridge: a processing-engine plugin for InfluxDB 3 that forwards every WAL flush to `edr listen`.

InfluxDB 3 calls `process_writes` once per WAL flush with the rows just written. This plugin posts them, as
they came, to edr's `POST /api/edr/v1/table_batches`; edr reads the columns' types from the local instance,
transforms the rows, queues them durably and replicates them. Retries, queueing and durability are edr's:
the plugin only hands over the batch, and raises when edr did not take it, so the engine logs the failure
(and, with `--error-behavior retry`, calls the plugin again with the same batch).

Trigger arguments:
    edr_url   where `edr listen` listens (default http://127.0.0.1:8182)
    timeout   seconds to wait for edr's answer (default 10)

Standard library only; Python 3.9 or later.
"""

import json
import math
import urllib.error
import urllib.request

DEFAULT_EDR_URL = "http://127.0.0.1:8182"
TABLE_BATCHES_PATH = "/api/edr/v1/table_batches"
DEFAULT_TIMEOUT_S = 10.0


def process_writes(influxdb3_local, table_batches, args=None):
    """Posts the engine's table batches to edr; raises when edr did not take them."""
    args = args or {}
    url = args.get("edr_url", DEFAULT_EDR_URL).rstrip("/") + TABLE_BATCHES_PATH
    timeout = float(args.get("timeout", DEFAULT_TIMEOUT_S))
    rows = sum(len(batch["rows"]) for batch in table_batches)
    if rows == 0:
        return
    tables = ",".join(batch["table_name"] for batch in table_batches if batch["rows"])

    request = urllib.request.Request(
        url,
        data=_encode(influxdb3_local, table_batches),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            accepted = response.headers.get("x-edr-lines-accepted", "?")
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip()[:500]
        retry_after = error.headers.get("retry-after")
        wait = f" (retry after {retry_after} s)" if retry_after else ""
        message = f"edr did not take {rows} rows of {tables}: {error.code} {detail}{wait}"
        influxdb3_local.error(message)
        raise RuntimeError(message) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        message = f"edr is unreachable at {url}: {reason}; {rows} rows of {tables} not forwarded"
        influxdb3_local.error(message)
        raise RuntimeError(message) from None
    influxdb3_local.info(f"Forwarded {rows} rows of {tables} to edr: {accepted} lines accepted")


def _encode(influxdb3_local, table_batches):
    """The batches as JSON: ints exact (json writes Python ints in full), floats as repr (21.0 stays 21.0).

    JSON has no NaN or Infinity, and line protocol has neither: such a value is left out of its row (the
    rest of the row is kept) and each one is reported through influxdb3_local.warn, never dropped silently.
    """
    try:
        return json.dumps(table_batches, allow_nan=False, separators=(",", ":")).encode()
    except ValueError:
        pass
    cleaned = []
    for batch in table_batches:
        rows = []
        for row in batch["rows"]:
            kept = {}
            for column, value in row.items():
                if isinstance(value, float) and not math.isfinite(value):
                    influxdb3_local.warn(
                        f"left out {batch['table_name']}.{column}={value} at time {row.get('time')}: "
                        "line protocol has no NaN or Infinity"
                    )
                    continue
                kept[column] = value
            rows.append(kept)
        cleaned.append({"table_name": batch["table_name"], "rows": rows})
    return json.dumps(cleaned, allow_nan=False, separators=(",", ":")).encode()
