// A small OpenID Connect provider (the `oidc-provider` package) on the loopback interface, for the
// single sign-on tests only: one confidential client, test accounts read from a JSON file, and a
// plain login form that an HTTP client or a browser can fill in.
//
// Configuration, from the environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET        the one client (secret sent in the token request body)
//   OIDC_REDIRECT_URIS                        comma-separated redirect URIs of that client
//   OIDC_POST_LOGOUT_REDIRECT_URIS            comma-separated, for RP-initiated logout (optional)
//   OIDC_ALG                                  ID token signature: RS256 (default) or ES256
//   OIDC_ACCOUNTS_FILE                        JSON {"<sub>": {"password", "claims": {...}, "acr", "amr"}},
//                                             read again at every use, so a test can change a
//                                             person's claims between two logins
//   OIDC_PORT                                 0 (default): any free port
//
// Once listening, prints one JSON line on stdout: {"issuer": "http://127.0.0.1:<port>"}.
// Test-only route: GET /test/foreign-jwks publishes a different public key under the same key id
// and algorithm as the signing key (a relying party pointed there must refuse every ID token).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const env = process.env;
const required = (name) => {
  const value = env[name];
  if (!value) {
    process.stderr.write(`oidc test provider: ${name} is required\n`);
    process.exit(2);
  }
  return value;
};
const list = (value) => (value || '').split(',').map((item) => item.trim()).filter(Boolean);

const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUris = list(required('OIDC_REDIRECT_URIS'));
const postLogoutRedirectUris = list(env.OIDC_POST_LOGOUT_REDIRECT_URIS);
const accountsFile = required('OIDC_ACCOUNTS_FILE');
const alg = env.OIDC_ALG || 'RS256';
if (!['RS256', 'ES256'].includes(alg)) {
  process.stderr.write(`oidc test provider: OIDC_ALG must be RS256 or ES256, not ${alg}\n`);
  process.exit(2);
}

function signingKey(kid) {
  const pair = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const kid = `test-${alg.toLowerCase()}`;
const key = signingKey(kid);
const foreign = signingKey(kid); // same kid and alg, another key pair
const publicPart = ({ d, p, q, dp, dq, qi, ...rest }) => rest; // eslint-disable-line no-unused-vars

function accounts() {
  return JSON.parse(readFileSync(accountsFile, 'utf8'));
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, error = '') {
  return page('Fournisseur d\'identité de test', `${error ? `<p role="alert">${escape(error)}</p>` : ''}
    <form method="post" action="/interaction/${escape(uid)}/login">
      <label>Identifiant <input name="login" autocomplete="username"></label>
      <label>Mot de passe <input name="password" type="password" autocomplete="current-password"></label>
      <button type="submit">Se connecter</button>
    </form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = createServer();
server.listen(Number(env.OIDC_PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: alg,
    }],
    jwks: { keys: [key] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      email: ['email', 'email_verified'],
      roles: ['roles', 'groups'],
    },
    acrValues: ['eidas1', 'eidas2', 'eidas3', 'pwd'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page('Déconnexion', `${form}
            <button type="submit" form="op.logoutForm" value="yes" name="logout">Se déconnecter</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Déconnecté', '<p>Vous êtes déconnecté du fournisseur d\'identité.</p>');
        },
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // The one client is trusted: consent is granted without asking.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email roles');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, sub) {
      const account = accounts()[sub];
      if (!account) return undefined;
      return { accountId: sub, async claims() { return { ...(account.claims || {}), sub }; } };
    },
  });
  provider.proxy = false;

  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/test/foreign-jwks') {
      ctx.type = 'application/jwk-set+json';
      ctx.body = { keys: [publicPart(foreign)] };
      return;
    }
    const match = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (!match) {
      await next();
      return;
    }
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== match[1]) ctx.throw(400, 'interaction mismatch');
    ctx.type = 'html';
    if (ctx.method === 'GET' && !match[2]) {
      ctx.body = loginPage(details.uid);
      return;
    }
    if (ctx.method !== 'POST' || !match[2]) ctx.throw(405);
    const form = await readForm(ctx.req);
    const sub = form.get('login') || '';
    const account = accounts()[sub];
    if (!account || account.password !== form.get('password')) {
      ctx.status = 400;
      ctx.body = loginPage(details.uid, 'Identifiant ou mot de passe incorrect.');
      return;
    }
    const login = { accountId: sub };
    if (account.acr) login.acr = account.acr;
    if (account.amr) login.amr = account.amr;
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, { login },
      { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
