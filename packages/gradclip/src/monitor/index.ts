/** The gradient monitor: records, statistics, maxNorm suggestion, JSON/CSV history. */
export {
  GradientMonitor,
  columnsToSteps,
  type GradientMonitorOptions,
  type MonitorColumns,
  type MonitorLogValues,
  type Awaitable,
} from "./monitor.js";
export type { MonitorStepInput, MonitorRecord } from "./record.js";
export type { MonitorStats } from "./stats.js";
export { suggestMaxNorm, type SuggestMaxNormOptions, type MaxNormSuggestion } from "./suggest.js";
export {
  parseMonitorHistory,
  encodeMonitorHistory,
  monitorHistoryToCSV,
  MonitorHistoryError,
  MONITOR_HISTORY_FORMAT,
  MONITOR_HISTORY_VERSION,
  type MonitorHistory,
  type MonitorHistoryJSON,
  type MonitorRecordJSON,
  type MonitorTotals,
  type JsonNumber,
} from "./history.js";
