// EDR_REMOTE_TOKEN=apiv3_… npx tsx scheduled.ts
import { parseScheduledConfig } from "edr-args";

// The string the engine's --trigger-arguments takes; the token comes from EDR_REMOTE_TOKEN.
const config = parseScheduledConfig(
  "host=https://12.4.0.1,database=replica,tables=cpu.mem,window=1h,offset=10min," +
    "excluded_fields=cpu:usage_guest@usage_steal,tables_rename=mem:memory," +
    "field_renames=cpu:usage_idle@idle$usage_user@user",
);

console.log(config.remote.url); // the port rule: https without a port -> 443
console.log(config.windowMs, config.offsetMs);
console.log(config.transform.fieldRenames.get("cpu"));
console.log(config.queue.fileName);
