// A real OpenID Provider (panva/oidc-provider) for Tokendesk's end-to-end tests.
//
// Started by internal/testenv (Go). It listens on 127.0.0.1 on a free port, prints
// "listening <port>" on stdout once it accepts requests, and exits as soon as stdin
// closes, so it never outlives the test binary that started it (even after SIGKILL).
//
// Configuration (environment, set by the Go side):
//   TOKENDESK_PROVIDER_PUBLIC_CLIENT        native public client id
//   TOKENDESK_PROVIDER_CONFIDENTIAL_CLIENT  confidential client id
//   TOKENDESK_PROVIDER_CLIENT_SECRET        confidential client secret (never on argv)
//   TOKENDESK_PROVIDER_INSTALLED_CLIENT     native client that must send that secret too
//   TOKENDESK_PROVIDER_JWT=1                access tokens are RS256 JWTs (typ at+jwt)
//   TOKENDESK_PROVIDER_STOCK_CONSENT=1      keep the library's stock consent and
//                                           refresh-token rules (what real providers do)
//   TOKENDESK_PROVIDER_AT_TTL=N             access tokens live N seconds (default 3600)
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as http from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const env = process.env;
const publicClient = env.TOKENDESK_PROVIDER_PUBLIC_CLIENT || 'tokendesk-native';
const confidentialClient = env.TOKENDESK_PROVIDER_CONFIDENTIAL_CLIENT || 'tokendesk-confidential';
const clientSecret = env.TOKENDESK_PROVIDER_CLIENT_SECRET || randomBytes(24).toString('hex');
const installedClient = env.TOKENDESK_PROVIDER_INSTALLED_CLIENT || 'tokendesk-installed';
const jwtAccessTokens = env.TOKENDESK_PROVIDER_JWT === '1';
const stockConsent = env.TOKENDESK_PROVIDER_STOCK_CONSENT === '1';
const accessTokenTTL = Number(env.TOKENDESK_PROVIDER_AT_TTL) || 3600;

// The resource every request is pinned to. Resource indicators are always on, because
// they are oidc-provider's only way to accept and return scopes it does not know
// ("api://x/read", "User.Read"): without them such scopes are silently dropped and
// the token response's scope would not echo what the client asked for.
const defaultResource = 'urn:tokendesk:test-api';
const oidcScopes = new Set(['openid', 'offline_access', 'profile', 'email']);
// Every non-OIDC scope any client has asked for; the test API "supports" all of them.
const apiScopes = new Set();

function rememberScopes(scope) {
  for (const s of (scope || '').split(' ')) {
    if (s && !oidcScopes.has(s)) apiScopes.add(s);
  }
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}

// Users exist for any login: "alice" becomes alice@example.test, named "Alice".
function account(login) {
  const user = login.includes('@') ? login.split('@')[0] : login;
  const email = login.includes('@') ? login : `${login}@example.test`;
  const name = user.charAt(0).toUpperCase() + user.slice(1);
  return {
    accountId: login,
    async claims() {
      return {
        sub: login,
        name,
        preferred_username: email,
        email,
        email_verified: true,
      };
    },
  };
}

const loopbackRedirects = ['http://127.0.0.1/', 'http://[::1]/', 'http://localhost/'];

function configuration() {
  const policy = interactionPolicy.base();
  if (!stockConsent) {
    // Stock rule: native clients must consent on every login. Tests run unattended.
    policy.get('consent').checks.remove('native_client_prompt');
  }

  const config = {
    clients: [
      {
        client_id: publicClient,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        redirect_uris: loopbackRedirects,
        post_logout_redirect_uris: loopbackRedirects,
      },
      {
        // A native ("installed") app whose secret ships with every copy, as Google's
        // desktop clients have: the token endpoint still insists on it.
        client_id: installedClient,
        client_secret: clientSecret,
        application_type: 'native',
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: loopbackRedirects,
      },
      {
        client_id: confidentialClient,
        client_secret: clientSecret,
        application_type: 'web',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/'],
      },
    ],
    // Both secret styles are accepted; the client picks one per request.
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // A new signing key (and kid) at every start, as real providers rotate keys: clients
    // must fetch the JWKS, never pin a key. Without this the library signs with its
    // built-in development key, the same for every instance.
    jwks: { keys: [signingKey()] },
    pkce: { required: () => true, methods: ['S256'] },
    scopes: [...oidcScopes],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    // Put the profile claims into the ID token, where MSAL-style clients read them.
    conformIdTokenClaims: false,
    findAccount: (ctx, sub) => account(sub),
    interactions: { policy },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => defaultResource,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resource) {
          rememberScopes(ctx.oidc.params?.scope);
          const info = {
            scope: [...apiScopes].join(' '),
            audience: resource,
            accessTokenFormat: jwtAccessTokens ? 'jwt' : 'opaque',
          };
          if (jwtAccessTokens) info.jwt = { sign: { alg: 'RS256' } };
          return info;
        },
      },
    },
    ttl: {
      AccessToken: accessTokenTTL,
      AuthorizationCode: 300,
      ClientCredentials: 3600,
      DeviceCode: 600,
      Grant: 14 * 24 * 3600,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
    },
  };

  if (!stockConsent) {
    // Grant whatever is asked for, so no consent screen appears.
    config.loadExistingGrant = async (ctx) => {
      const { Grant } = ctx.oidc.provider;
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      let grant = grantId ? await Grant.find(grantId) : undefined;
      if (!grant) {
        grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      }
      const requested = (ctx.oidc.params.scope || '').split(' ').filter((s) => oidcScopes.has(s));
      if (requested.length) grant.addOIDCScope(requested.join(' '));
      for (const [indicator, rs] of Object.entries(ctx.oidc.resourceServers || {})) {
        if (rs.scope) grant.addResourceScope(indicator, rs.scope);
      }
      await grant.save();
      return grant;
    };
    // Always issue refresh tokens (the stock rule needs offline_access plus prompt=consent),
    // and rotate them on every use like real providers do for public clients.
    // check_scope drops offline_access from the code without prompt=consent; put it back
    // so the refresh token's scope covers what MSAL-style clients send when refreshing.
    config.issueRefreshToken = async (ctx, client, code) => {
      if (!client.grantTypeAllowed('refresh_token')) return false;
      if (code && code.scope !== undefined && !code.scopes.has('offline_access')) {
        code.scope = `${code.scope} offline_access`.trim();
      }
      return true;
    };
    config.rotateRefreshToken = () => true;
  }
  return config;
}

// Bind first: the issuer must carry the port, and the port is only known after listen.
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, configuration());
  // Errors are the test's business, not the console's; keep stderr for startup failures.
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.message}\n`));
  // Successful token-endpoint grants by grant_type, for tests that must prove how many
  // refreshes really happened ("N processes, one refresh"). Served on this loopback
  // listener only, outside the provider's routes.
  const grants = {};
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params.grant_type;
    grants[type] = (grants[type] || 0) + 1;
  });
  // How the token endpoint misbehaves, for tests of clients against hostile servers:
  // {"mode": "normal" | "stall" (never answer) | "drip" (headers, then one body byte a
  // second, forever) | "redirect" (answer `status` with Location `location`)}.
  let tokenMode = { mode: 'normal' };
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'GET' && req.url === '/_tokendesk/grants') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(grants));
      return;
    }
    if (req.method === 'POST' && req.url === '/_tokendesk/token-mode') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        tokenMode = JSON.parse(body);
        res.writeHead(204);
        res.end();
      });
      return;
    }
    if (tokenMode.mode !== 'normal' && req.url.split('?')[0] === '/token') {
      req.resume(); // read and drop the form: it never reaches the provider
      switch (tokenMode.mode) {
        case 'stall':
          return; // the socket stays open without an answer
        case 'drip': {
          res.writeHead(200, { 'content-type': 'application/json' });
          const body = '{"access_token":"' + 'x'.repeat(4096) + '"}';
          let i = 0;
          const timer = setInterval(() => {
            if (i >= body.length || res.destroyed) return clearInterval(timer);
            res.write(body[i++]);
          }, 1000);
          res.on('close', () => clearInterval(timer));
          return;
        }
        case 'redirect':
          res.writeHead(tokenMode.status, { location: tokenMode.location });
          res.end();
          return;
      }
    }
    callback(req, res);
  });
  process.stdout.write(`listening ${port}\n`);
});

// The parent holds our stdin open; when it exits (even killed), stdin closes and so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
