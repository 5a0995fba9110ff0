/**
 * Slack's own limits (docs.slack.dev, Block Kit reference). Slack answers `invalid_blocks` when one is exceeded, so
 * every builder clips to these instead of hoping the content is short.
 */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3_000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2_000,
  contextElements: 10,
  modalTitle: 24,
  inputLabel: 2_000,
  inputHint: 2_000,
  plainTextInput: 3_000,
  optionText: 75,
  selectOptions: 100,
  privateMetadata: 3_000,
  confirmTitle: 100,
  confirmText: 300,
  messageText: 40_000,
} as const;

/** Cuts `text` to `max` characters, ending with an ellipsis when it was cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * Cuts mrkdwn text to `max` and, when cut, appends a link to where the whole text can be read. The link is counted
 * inside the limit, so the result always fits.
 */
export function clipWithLink(text: string, max: number, url: string, label = 'full text in the run'): string {
  if (text.length <= max) return text;
  const tail = `… <${url}|${label}>`;
  return `${text.slice(0, Math.max(0, max - tail.length))}${tail}`;
}

/** Slack mrkdwn control characters; user text must not become links, mentions or broadcasts. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const plain = (text: string, max: number = LIMITS.sectionText) => ({
  type: 'plain_text' as const,
  text: clip(text || ' ', max),
  emoji: true,
});
export const mrkdwn = (text: string, max: number = LIMITS.sectionText) => ({
  type: 'mrkdwn' as const,
  text: clip(text || ' ', max),
});

/** A Slack-formatted date that each reader sees in their own time zone, with a plain fallback. */
export function slackDate(at: Date | string): string {
  const d = new Date(at);
  const unix = Math.floor(d.getTime() / 1000);
  return `<!date^${unix}^{date_short_pretty} at {time}|${d.toISOString()}>`;
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

/** Shows a person as a Slack mention when we know their Slack id, else as their email or name. */
export function who(actor: string, aliases: readonly string[] = []): string {
  const slackId = [actor, ...aliases].map((a) => a.toUpperCase()).find((a) => SLACK_USER.test(a));
  return slackId ? `<@${slackId}>` : escapeMrkdwn(actor);
}
