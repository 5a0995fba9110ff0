/** One line of the results table. */
export interface Row {
  metric: string;
  value: string;
  unit: string;
  notes: string;
}

/** What a phase hands back to the report: table rows and any text charts. */
export interface PhaseResult {
  rows: Row[];
  charts: string[];
}
