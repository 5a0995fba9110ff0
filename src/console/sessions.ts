import { type Connection, type Model, Schema } from 'mongoose';
import { macOf, randomId, sameMac } from './signed.js';

/**
 * Console sessions live in the store, so signing out (or an admin deleting a row) ends a session at once; the
 * cookie carries only the session id and its MAC, so a forged or altered cookie is refused without a read.
 */
export interface ConsoleSessionDoc {
  _id: string;
  email: string;
  /** How the person proved who they are. */
  via: 'email-link' | 'slack';
  /** Who Slack said they are, when they signed in with Slack. */
  slackUserId?: string;
  createdAt: Date;
  expiresAt: Date;
}

export const SESSION_COOKIE = 'countersign_session';

function sessionModel(conn: Connection) {
  return (
    (conn.models.ConsoleSession as Model<ConsoleSessionDoc> | undefined) ??
    conn.model<ConsoleSessionDoc>(
      'ConsoleSession',
      new Schema<ConsoleSessionDoc>(
        { _id: String, email: String, via: String, slackUserId: String, createdAt: Date, expiresAt: Date },
        { versionKey: false, collection: 'console_sessions' },
      ),
    )
  );
}

export interface ConsoleSessions {
  /** Creates a session and returns the cookie value for it. */
  create(s: { email: string; via: ConsoleSessionDoc['via']; slackUserId?: string; now: Date; ttlMs: number }): Promise<{
    cookie: string;
    session: ConsoleSessionDoc;
  }>;
  /** The live session a cookie names, or null (forged, unknown, expired or signed out). */
  read(cookie: string | undefined, now: Date): Promise<ConsoleSessionDoc | null>;
  end(sessionId: string): Promise<void>;
  /** A token a form of this session carries; a request without it is not the person's own. */
  csrfToken(sessionId: string): string;
  csrfValid(sessionId: string, given: unknown): boolean;
}

export function createConsoleSessions(conn: Connection, secret: string): ConsoleSessions {
  const sessions = sessionModel(conn);
  return {
    async create({ email, via, slackUserId, now, ttlMs }) {
      const session: ConsoleSessionDoc = {
        _id: randomId(24),
        email: email.toLowerCase(),
        via,
        ...(slackUserId ? { slackUserId } : {}),
        createdAt: now,
        expiresAt: new Date(now.getTime() + ttlMs),
      };
      await sessions.create(session);
      return { cookie: `${session._id}.${macOf(secret, 'session', session._id)}`, session };
    },
    async read(cookie, now) {
      if (!cookie || cookie.length > 200) return null;
      const [id = '', mac = ''] = cookie.split('.');
      if (!id || !sameMac(mac, macOf(secret, 'session', id))) return null;
      const session = await sessions.findById(id).lean<ConsoleSessionDoc>().exec();
      if (!session || session.expiresAt.getTime() <= now.getTime()) return null;
      return session;
    },
    async end(sessionId) {
      await sessions.deleteOne({ _id: sessionId });
    },
    csrfToken: (sessionId) => macOf(secret, 'csrf', `session:${sessionId}`),
    csrfValid: (sessionId, given) =>
      typeof given === 'string' && sameMac(given, macOf(secret, 'csrf', `session:${sessionId}`)),
  };
}

/** A form shown to someone not signed in (the sign-in form, a public intake form) is tied to a random cookie. */
export function anonymousCsrfToken(secret: string, browserId: string): string {
  return macOf(secret, 'csrf', `browser:${browserId}`);
}

export function anonymousCsrfValid(secret: string, browserId: string | undefined, given: unknown): boolean {
  return (
    typeof browserId === 'string' &&
    browserId.length > 0 &&
    typeof given === 'string' &&
    sameMac(given, anonymousCsrfToken(secret, browserId))
  );
}
