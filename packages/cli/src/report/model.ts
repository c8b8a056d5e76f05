/**
 * What a report shows, independent of where it came from (a demo run or a
 * monitor history file): groups of runs (one group per strategy), each run a
 * monitor history, plus a summary table.
 */
import type { MonitorHistory } from "gradclip";

export interface ReportRun {
  /** Legend label, e.g. "seed 1". */
  label: string;
  history: MonitorHistory;
  /** The step the run diverged at, drawn as a marker; null when it did not. */
  divergedAtStep: number | null;
}

export interface ReportGroup {
  /** Heading, e.g. the strategy name. */
  name: string;
  /** One line on what the group is (the threshold rule). */
  description: string;
  runs: ReportRun[];
}

export interface ReportModel {
  title: string;
  /** Paragraphs of plain text (escaped when written). */
  intro: string[];
  groups: ReportGroup[];
  table: { columns: string[]; rows: string[][] };
}
