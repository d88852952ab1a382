// panva's openid-client (v6) as a relying party of a LeerID provider, one step per run.
//
// Driven by tests/interop/test_openid_client.py: reads one JSON request on stdin, prints one
// JSON answer on stdout. The package is installed by `make test-deps` (npm ci) into the folder
// named by LEERID_INTEROP_NODE, so it is loaded from there.
//
// Steps:
//   start  -> discovery, a PKCE verifier and challenge (S256; none when pkce is false), state,
//             nonce: the authorization URL
//   finish -> the callback (the redirected URL, or the form_post body as a POST Request):
//             openid-client checks state and iss, redeems the code (PKCE), validates the ID
//             token (signature through the JWKS, iss, aud, nonce, exp) and fetches userinfo
//             (its sub must equal the ID token's)
//   logout -> the end-session URL openid-client builds (RP-Initiated Logout 1.0)
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const folder = process.env.LEERID_INTEROP_NODE;
if (!folder) {
  throw new Error('LEERID_INTEROP_NODE must name the folder where make test-deps installed openid-client');
}
const require = createRequire(`${folder}/`);
const client = await import(pathToFileURL(require.resolve('openid-client')).href);

function read(stream) {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => { text += chunk; });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

function authentication(ask) {
  switch (ask.auth_method) {
    case 'client_secret_basic': return client.ClientSecretBasic(ask.client_secret);
    case 'client_secret_post': return client.ClientSecretPost(ask.client_secret);
    default: throw new Error(`unknown auth_method ${ask.auth_method}`);
  }
}

async function configuration(ask) {
  // Loopback http: the test's provider has no TLS.
  return client.discovery(new URL(ask.issuer), ask.client_id, {}, authentication(ask), {
    execute: [client.allowInsecureRequests],
  });
}

async function start(config, ask) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const parameters = {
    redirect_uri: ask.redirect_uri,
    scope: ask.scope,
    state,
    nonce,
  };
  if (ask.pkce !== false) {  // acm: PKCE is optional for a confidential client, as at ACM
    parameters.code_challenge = await client.calculatePKCECodeChallenge(verifier);
    parameters.code_challenge_method = 'S256';
  }
  if (ask.response_mode) parameters.response_mode = ask.response_mode;
  const url = client.buildAuthorizationUrl(config, parameters);
  return { url: url.href, state, nonce, verifier: ask.pkce === false ? null : verifier };
}

async function finish(config, ask) {
  let callback;
  if (ask.form_post) {
    callback = new Request(ask.redirect_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(ask.form_post).toString(),
    });
  } else {
    callback = new URL(ask.callback_url);
  }
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: ask.verifier ?? undefined,
    expectedState: ask.state,
    expectedNonce: ask.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  return { claims, userinfo, id_token: tokens.id_token, token_type: tokens.token_type };
}

function logout(config, ask) {
  const parameters = { post_logout_redirect_uri: ask.post_logout_redirect_uri };
  if (ask.id_token_hint) parameters.id_token_hint = ask.id_token_hint;
  return { url: client.buildEndSessionUrl(config, parameters).href };
}

const ask = JSON.parse(await read(process.stdin));
try {
  const config = await configuration(ask);
  const steps = { start, finish, logout };
  const answer = await steps[ask.step](config, ask);
  process.stdout.write(JSON.stringify(answer));
} catch (error) {
  // What openid-client reports, for the test to assert on: its error code and message.
  const reported = { error: error.name, code: error.code, message: error.message };
  if (error.error) reported.oauth_error = error.error;
  if (error.error_description) reported.error_description = error.error_description;
  if (error.cause instanceof Error) reported.cause = { code: error.cause.code, message: error.cause.message };
  process.stdout.write(JSON.stringify(reported));
  process.exitCode = 2;
}
