/** Slack intake as modules declare it; apart from types.ts so the Slack channel can name it without a cycle. */

export interface SlackCommandIntake {
  word: string;
  workflow: string;
  /** After the word in `/countersign help`, e.g. `open a form and start a card dispute`. */
  description: string;
  /** The intake modal's title (Slack allows 24 characters); default `New <word>`. */
  formTitle?: string;
}

export interface SlackShortcutIntake {
  /** Also declared in the Slack app's manifest (slack-app-manifest.yml). */
  callbackId: string;
  workflow: string;
  description: string;
  formTitle?: string;
  /** Form values read from the message's plain text (e.g. a charge id); default: none. */
  prefill?(text: string): Record<string, unknown>;
}

/** Slack intake, merged over every module: what `/countersign <word>`, shortcuts and mentions start. */
export interface SlackIntakeRoutes {
  commands: SlackCommandIntake[];
  shortcuts: SlackShortcutIntake[];
  mention: { workflow: string; intakeWord?: string } | undefined;
}
