/** Points, parsing and formatting. */
export type { FieldType, FieldValue, Point } from "./point.js";
/** int64 and uint64 bounds as bigint. */
export { INT64_MAX, INT64_MIN, UINT64_MAX } from "./point.js";
/** Errors. */
export { TransformError, LineProtocolError, type TransformErrorCode } from "./errors.js";
/** Parse line protocol into points. */
export { parseLines, tryParseLines, splitLines, type ParseResult } from "./parse.js";
/** Format points as line protocol. */
export { formatPoint, formatPoints } from "./format.js";
/** Escape one name or string value, format one float, as the formatter does. */
export { escapeName, quoteString, formatFloat, type NameContext } from "./escape.js";
/** Query rows (SQL endpoint or engine) to points or lines. */
export {
  createRowConverter,
  rowsToPoints,
  rowsToLines,
  type ColumnInfo,
  type Row,
  type RowValue,
  type RowConverter,
  type RowRejection,
  type RowsResult,
} from "./rows.js";
/** The seed's rules as composable transforms over batches of lines or points. */
export {
  filterTables,
  excludeFields,
  renameTables,
  renameFields,
  composeTransforms,
  createTransform,
  type Transform,
  type TransformResult,
  type Rejection,
} from "./transform.js";
/** The rules config the transforms are built from. */
export type { ReplicationRules } from "./rules.js";
/** Downsampling into epoch-aligned buckets, in one batch or streaming. */
export {
  downsample,
  createDownsampler,
  type Aggregation,
  type AddResult,
  type AggregationRules,
  type DownsampleOptions,
  type DownsampleResult,
  type Downsampler,
  type OpenBucket,
} from "./downsample.js";
/** Zone-less UTC date-time text to exact nanosecond text. */
export { dateTimeToNanosText } from "./time.js";
