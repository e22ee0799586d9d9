"""An engine-shaped stand-in for the `influxdb3_local` object InfluxDB 3's processing engine hands a plugin.

Only the logging calls are real: like the engine's, `info`, `warn` and `error` take any arguments, join them
with spaces, and land as rows of `system.processing_engine_logs` (event_time, trigger_name, log_level,
log_text). Everything else a plugin could call raises, so a test notices a plugin that needs more.
"""

import time


class InfluxDB3Local:
    def __init__(self, trigger_name):
        self.trigger_name = trigger_name
        # The rows the engine would add to system.processing_engine_logs.
        self.processing_engine_logs = []

    def _log(self, level, args):
        self.processing_engine_logs.append(
            {
                "event_time": time.time_ns(),
                "trigger_name": self.trigger_name,
                "log_level": level,
                "log_text": " ".join(str(arg) for arg in args),
            }
        )

    def info(self, *args):
        self._log("INFO", args)

    def warn(self, *args):
        self._log("WARN", args)

    def error(self, *args):
        self._log("ERROR", args)

    def write(self, *args, **kwargs):
        raise NotImplementedError("influxdb3_local.write is not part of this stand-in")

    def query(self, *args, **kwargs):
        raise NotImplementedError("influxdb3_local.query is not part of this stand-in")
