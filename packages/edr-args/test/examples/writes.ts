// EDR_REMOTE_TOKEN=apiv3_… npx tsx writes.ts
import { ArgsError, parseWritesConfig } from "edr-args";

// An object of strings works as well as the string; here with downsampling to one point per minute.
const config = parseWritesConfig({
  host: "[::1]:8181",
  database: "replica",
  tables: "cpu",
  aggregate_interval: "1min",
  aggregations: "avg.cpu:usage_max@max",
});
console.log(config.remote.url);
console.dir(config.transform.downsampling, { depth: null });

// Every problem at once, with the nearest known name for a typo; the token is never echoed.
try {
  parseWritesConfig("host=ftp://12.4.0.1,database=replica,tabels=cpu,aggregations=mean,max_retries=-1");
} catch (error) {
  if (!(error instanceof ArgsError)) throw error;
  console.log(error.message);
}
