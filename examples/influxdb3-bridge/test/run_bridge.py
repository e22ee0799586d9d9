"""Calls edr_bridge.process_writes as the processing engine does on a WAL flush, with the stand-in engine.

usage: python3 run_bridge.py <plugin.py> <trigger-arguments> <table_batches.json>

The trigger arguments are the `--trigger-arguments` string (`k=v,k2=v2`), split as the engine splits it.
The table batches are read with json.loads, which gives the values the engine gives: int (exact, any size),
float (21.0 stays a float, NaN allowed), str, bool, None. Prints one JSON object: the log rows and, when the
plugin raised, the exception; exits 1 when it raised.
"""

import importlib.util
import json
import sys

from engine_stub import InfluxDB3Local


def main():
    plugin_path, trigger_arguments, batches_path = sys.argv[1:4]
    spec = importlib.util.spec_from_file_location("plugin", plugin_path)
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    args = dict(pair.split("=", 1) for pair in trigger_arguments.split(",")) if trigger_arguments else None
    with open(batches_path, encoding="utf-8") as file:
        table_batches = json.load(file)
    influxdb3_local = InfluxDB3Local("edr_bridge")
    raised = None
    try:
        plugin.process_writes(influxdb3_local, table_batches, args)
    except Exception as error:  # the engine logs what a trigger raises
        raised = f"{type(error).__name__}: {error}"
    print(json.dumps({"logs": influxdb3_local.processing_engine_logs, "raised": raised}))
    sys.exit(1 if raised else 0)


if __name__ == "__main__":
    main()
