/**
 * Replaces the database in a MongoDB URI. With credentials and no authSource, the driver would authenticate
 * against the new database, so the original one is kept as authSource.
 */
export function withDatabase(uri: string, db: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/)([^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(uri);
  if (!m) throw new Error('MONGODB_URI is not a mongodb:// URI');
  const [, scheme, hosts = '', original = '', query = ''] = m;
  const params = new URLSearchParams(query);
  if (hosts.includes('@') && !params.has('authSource')) params.set('authSource', original || 'admin');
  const q = params.toString();
  return `${scheme}${hosts}/${db}${q ? `?${q}` : ''}`;
}
