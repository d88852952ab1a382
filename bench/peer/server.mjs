// panva's oidc-provider configured as leerid's peer for bench/side_by_side.py.
//
//   NODE_ENV=production PEER_CLIENT_SECRET=S node bench/peer/server.mjs --port 8080 [--redis redis://127.0.0.1:6379/15]
//
// One confidential client (client_secret_basic, code flow, PKCE S256 required), RS256 ID
// tokens signed with an RSA-2048 key made at start, the LeerID scopes and claim names,
// development interactions (the login form accepts any login), no consent prompt (a grant is
// made for the client, as for a first-party client). State in memory (oidc-provider's own
// MemoryAdapter) or in Redis (./redis_adapter.mjs). Prints "listening on URL" when ready.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

// The packages are where `make bench-deps` installed them (npm ci from package-lock.json),
// not beside this file: LEERID_PEER_NODE, by default .leerid/peer of the repository.
const installed = process.env.LEERID_PEER_NODE ?? new URL('../../.leerid/peer/', import.meta.url).pathname;
const require = createRequire(`${installed.replace(/\/?$/, '/')}package.json`);
const load = async (name) => (await import(pathToFileURL(require.resolve(name)).href)).default;

const Provider = await load('oidc-provider');

const CLIENT_ID = 'bench';
const REDIRECT_URI = 'http://127.0.0.1/cb';
// The claims leerid releases under the seed protocol (src/leerid/protocol/release.py).
const CLAIMS = {
  openid: ['sub'],
  profile: ['given_name', 'family_name'],
  ov_leerling: ['ov_account_uuid', 'ov_leerid_uuid', 'ov_historiek_account_uuid', 'ov_orgcode'],
};

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PEER_PORT },
    'client-secret': { type: 'string', default: process.env.PEER_CLIENT_SECRET },
    redis: { type: 'string', default: process.env.PEER_REDIS_URL },
  },
});
if (!options.port || !options['client-secret']) {
  console.error('usage: PEER_CLIENT_SECRET=SECRET node bench/peer/server.mjs --port PORT [--redis redis://127.0.0.1:6379/15] (or --client-secret=SECRET)');
  process.exit(2);
}

// A UUID-shaped value derived from the account id and a label: fixed shape, same sizes as
// leerid's (its identifiers are UUIDs, its school numbers six digits).
function uuidFor(accountId, label) {
  const hex = createHash('sha256').update(`${label}:${accountId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

async function findAccount(ctx, accountId) {
  return {
    accountId,
    async claims() {
      return {
        sub: accountId,
        given_name: 'Voornaam',
        family_name: 'Familienaam',
        ov_account_uuid: accountId,
        ov_leerid_uuid: uuidFor(accountId, 'leerid'),
        ov_historiek_account_uuid: [],
        ov_orgcode: ['123456'],
      };
    },
  };
}

// No consent prompt, as leerid has none: the client's grant holds the scopes and claims it
// may have (oidc-provider's documented loadExistingGrant hook, first-party client pattern).
async function loadExistingGrant(ctx) {
  const grantId = ctx.oidc.result?.consent?.grantId
    || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
  if (grantId) {
    return ctx.oidc.provider.Grant.find(grantId);
  }
  const grant = new ctx.oidc.provider.Grant({
    clientId: ctx.oidc.client.clientId,
    accountId: ctx.oidc.session.accountId,
  });
  grant.addOIDCScope(Object.keys(CLAIMS).join(' '));
  grant.addOIDCClaims(Object.values(CLAIMS).flat());
  await grant.save();
  return grant;
}

async function adapterFor(url) {
  if (!url) {
    return undefined; // oidc-provider's MemoryAdapter
  }
  const Redis = await load('ioredis');
  const { RedisAdapter } = await import('./redis_adapter.mjs');
  const client = new Redis(url, { enableAutoPipelining: false, lazyConnect: true });
  await client.connect();
  return RedisAdapter.using(client);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
const issuer = `http://127.0.0.1:${options.port}`;

const provider = new Provider(issuer, {
  adapter: await adapterFor(options.redis),
  clients: [{
    client_id: CLIENT_ID,
    client_secret: options['client-secret'],
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: Object.keys(CLAIMS),
  claims: CLAIMS,
  conformIdTokenClaims: false, // leerid's ID token carries the claims userinfo carries
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  findAccount,
  loadExistingGrant,
});

provider.listen(Number(options.port), '127.0.0.1', () => {
  console.log(`listening on ${issuer} (${options.redis ? 'Redis' : 'memory'})`);
});
