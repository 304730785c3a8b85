// The OpenID Connect provider the tests sign in through: npm's oidc-provider (a certified
// implementation) with one confidential client for Orgdesk, on a loopback port.
//
//   IDP_PORT=4010 IDP_REDIRECT_URIS=http://127.0.0.1:3000/sso/callback node identity-provider.mjs
//
// Its login form is oidc-provider's development form: whatever is typed as the login is the
// account, and any address is a user of this provider:
// - sub is derived from the address, so the same address is the same person every time;
// - name comes from the address: "ivy.ito-123@acme.test" is "Ivy Ito";
// - addresses starting with "unverified" come with email_verified = false;
// - addresses starting with "mfa" sign in with a second factor: the ID token's amr is
//   ["pwd", "otp"] (RFC 8176); everyone else's is ["pwd"];
// - addresses starting with "acr" come with acr "urn:example:mfa" (and amr ["pwd"]).
// Consent is granted at once (first-party client), so the form is the only page.
import { createHash } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.IDP_PORT ?? 4010);
const redirectUris = (process.env.IDP_REDIRECT_URIS ?? 'http://127.0.0.1:3000/sso/callback')
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean);
const CLIENT_ID = 'orgdesk';
const CLIENT_SECRET = 'orgdesk-test-client-secret';

function nameFrom(email) {
  const base = email.split('@')[0].split('-')[0];
  return base
    .split(/[._]/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(' ');
}

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  claims: {
    // amr (how the person authenticated) goes with the openid scope, so the ID token
    // carries it whenever the session has it.
    openid: ['sub', 'amr', 'acr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  cookies: { keys: ['orgdesk-test-identity-provider'] },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    // Short, so a test can present an expired ID token by moving its own clock ahead.
    IdToken: 120,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  async findAccount(ctx, id) {
    const email = String(id).trim().toLowerCase();
    if (!email.includes('@')) return undefined;
    return {
      accountId: email,
      async claims() {
        return {
          sub: `sub-${createHash('sha256').update(email).digest('hex').slice(0, 24)}`,
          email,
          email_verified: !email.startsWith('unverified'),
          name: nameFrom(email),
        };
      },
    };
  },
  async loadExistingGrant(ctx) {
    // Runs after the login form, before the code is issued: the session's amr goes into it.
    const account = String(ctx.oidc.session.accountId ?? '');
    ctx.oidc.session.amr = account.startsWith('mfa') ? ['pwd', 'otp'] : ['pwd'];
    // Addresses starting with "acr" get an acr a provider might send after MFA instead.
    if (account.startsWith('acr')) ctx.oidc.session.acr = 'urn:example:mfa';
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

// Started by a test harness that may not stop it: end with the parent (its pipe closes).
if (process.env.IDP_EXIT_WITH_PARENT) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

provider.listen(port, '127.0.0.1', () => {
  console.log(`identity provider listening on ${issuer}`);
});
