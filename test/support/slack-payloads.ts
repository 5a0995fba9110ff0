import { randomBytes } from 'node:crypto';
import { BOT_USER } from './slack-standin.js';

/** Payloads shaped like the ones Slack sends (Events API, interactivity, slash commands), trimmed of nothing we read. */

const TEAM = { id: 'T0TEST', domain: 'countersign-test' };
const APP_ID = 'A0COUNTERSIGN';
const trigger = () => `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(8).toString('hex')}`;
const actionTs = () => `${(Date.now() / 1000).toFixed(6)}`;
const userOf = (id: string) => ({ id, username: id.toLowerCase(), name: id.toLowerCase(), team_id: TEAM.id });

export function urlVerification(challenge: string) {
  return { token: 'legacy-verification-token', challenge, type: 'url_verification' };
}

export function eventCallback(
  event: Record<string, unknown>,
  eventId = `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
) {
  return {
    token: 'legacy-verification-token',
    team_id: TEAM.id,
    api_app_id: APP_ID,
    event: { event_ts: event.ts ?? actionTs(), ...event },
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      { enterprise_id: null, team_id: TEAM.id, user_id: BOT_USER, is_bot: true, is_enterprise_install: false },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(12).toString('hex')}`,
  };
}

export function appMention(o: { user: string; channel: string; text: string; ts: string; threadTs?: string }) {
  return {
    type: 'app_mention',
    user: o.user,
    text: `<@${BOT_USER}> ${o.text}`,
    ts: o.ts,
    channel: o.channel,
    ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
    client_msg_id: randomBytes(8).toString('hex'),
    team: TEAM.id,
    blocks: [],
  };
}

export function blockActions(o: {
  user: string;
  actionId: string;
  value: string;
  channel?: string;
  messageTs?: string;
  home?: boolean;
}) {
  const container = o.home
    ? { type: 'view', view_id: 'VHOME' }
    : { type: 'message', message_ts: o.messageTs, channel_id: o.channel, is_ephemeral: false };
  return {
    type: 'block_actions',
    user: userOf(o.user),
    api_app_id: APP_ID,
    token: 'legacy-verification-token',
    container,
    trigger_id: trigger(),
    team: TEAM,
    enterprise: null,
    is_enterprise_install: false,
    ...(o.home ? { view: { id: 'VHOME', type: 'home', blocks: [] } } : {}),
    ...(o.channel ? { channel: { id: o.channel, name: 'approvals' } } : {}),
    ...(o.messageTs ? { message: { type: 'message', ts: o.messageTs, user: BOT_USER, text: 'card', blocks: [] } } : {}),
    state: { values: {} },
    response_url: 'http://127.0.0.1:9/never-called',
    actions: [
      {
        action_id: o.actionId,
        block_id: 'countersign.decide',
        text: { type: 'plain_text', text: 'button', emoji: true },
        value: o.value,
        type: 'button',
        action_ts: actionTs(),
      },
    ],
  };
}

export function viewSubmission(o: {
  user: string;
  viewId?: string;
  callbackId: string;
  privateMetadata: string;
  values: Record<string, Record<string, Record<string, unknown>>>;
}) {
  return {
    type: 'view_submission',
    team: TEAM,
    user: userOf(o.user),
    api_app_id: APP_ID,
    token: 'legacy-verification-token',
    trigger_id: trigger(),
    view: {
      id: o.viewId ?? `V${randomBytes(5).toString('hex').toUpperCase()}`,
      team_id: TEAM.id,
      type: 'modal',
      blocks: [],
      private_metadata: o.privateMetadata,
      callback_id: o.callbackId,
      state: { values: o.values },
      hash: `${Date.now()}.abc`,
      title: { type: 'plain_text', text: 'Form' },
      clear_on_close: false,
      notify_on_close: false,
      root_view_id: null,
      app_id: APP_ID,
      bot_id: 'BCOUNTER',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export function viewClosed(o: { user: string; callbackId: string }) {
  return {
    type: 'view_closed',
    team: TEAM,
    user: userOf(o.user),
    api_app_id: APP_ID,
    token: 'legacy-verification-token',
    view: {
      id: 'VCLOSED',
      type: 'modal',
      callback_id: o.callbackId,
      private_metadata: '',
      state: { values: {} },
      blocks: [],
    },
    is_cleared: false,
    is_enterprise_install: false,
  };
}

export function slashCommand(o: { user: string; channel: string; text: string }) {
  return {
    token: 'legacy-verification-token',
    team_id: TEAM.id,
    team_domain: TEAM.domain,
    channel_id: o.channel,
    channel_name: 'support',
    user_id: o.user,
    user_name: o.user.toLowerCase(),
    command: '/countersign',
    text: o.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: 'http://127.0.0.1:9/never-called',
    trigger_id: trigger(),
  };
}

export function messageShortcut(o: { user: string; channel: string; text: string; ts: string; author: string }) {
  return {
    type: 'message_action',
    token: 'legacy-verification-token',
    action_ts: actionTs(),
    team: TEAM,
    user: { id: o.user, name: o.user.toLowerCase() },
    channel: { id: o.channel, name: 'support' },
    is_enterprise_install: false,
    enterprise: null,
    callback_id: 'countersign.dispute_from_message',
    trigger_id: trigger(),
    response_url: 'http://127.0.0.1:9/never-called',
    message_ts: o.ts,
    message: { type: 'message', user: o.author, text: o.text, ts: o.ts, team: TEAM.id },
  };
}
