import { type Connection, type Model, Schema } from 'mongoose';

/**
 * The public form links an admin made, so one can be withdrawn before it expires. The link itself stays a signed
 * token (form-links.ts) naming its row here; a visitor's link is checked by `_id`, which stays flat on any store.
 */
export interface FormLinkDoc {
  _id: string;
  workflow: string;
  mintedBy: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt?: Date;
  revokedBy?: string;
}

/** Enough for any team's links at once; older ones beyond it are still checked, only not listed. */
const LISTED = 200;

function formLinkModel(conn: Connection): Model<FormLinkDoc> {
  return (
    (conn.models.FormLink as Model<FormLinkDoc> | undefined) ??
    conn.model<FormLinkDoc>(
      'FormLink',
      new Schema<FormLinkDoc>(
        {
          _id: String,
          workflow: String,
          mintedBy: String,
          createdAt: Date,
          expiresAt: Date,
          revokedAt: Date,
          revokedBy: String,
        },
        { collection: 'form_links', versionKey: false, strict: true },
      ),
    )
  );
}

export interface FormLinkRegistry {
  /** Records a link before its token is shown, so no link exists that cannot be withdrawn. */
  record(link: Omit<FormLinkDoc, 'revokedAt' | 'revokedBy'>): Promise<void>;
  /** Whether a link whose signature checked out may still be used: recorded and not withdrawn. */
  usable(id: string): Promise<boolean>;
  /** Links not expired and not withdrawn, newest first. */
  active(now: Date): Promise<FormLinkDoc[]>;
  /** Withdraws a link; null when there is no such link or it was withdrawn already. */
  revoke(id: string, by: string, now: Date): Promise<FormLinkDoc | null>;
}

export function createFormLinkRegistry(conn: Connection): FormLinkRegistry {
  const model = formLinkModel(conn);
  return {
    async record(link) {
      await model.create(link);
    },
    async usable(id) {
      const doc = await model.findById(id).lean<FormLinkDoc>().exec();
      return doc !== null && doc.revokedAt == null;
    },
    active(now) {
      return model
        .find({ expiresAt: { $gt: now }, revokedAt: { $exists: false } })
        .sort({ expiresAt: -1 })
        .limit(LISTED)
        .lean<FormLinkDoc[]>()
        .exec()
        .then((docs) => docs.sort((a, b) => +b.createdAt - +a.createdAt));
    },
    revoke(id, by, now) {
      // Conditional: a withdrawn link stays withdrawn. FerretDB applies it as a read then a write, so two admins at
      // the same instant may both be named; either way the link is refused from then on.
      return model
        .findOneAndUpdate(
          { _id: id, revokedAt: { $exists: false } },
          { $set: { revokedAt: now, revokedBy: by } },
          { new: true },
        )
        .lean<FormLinkDoc>()
        .exec();
    },
  };
}
