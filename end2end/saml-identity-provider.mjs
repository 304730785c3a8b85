// The SAML 2.0 identity provider the tests sign in through: npm's samlify (with
// @authenio/samlify-node-xmllint as its schema validator) behind a small login page, on a
// loopback port.
//
//   SAML_IDP_PORT=4020 node saml-identity-provider.mjs
//
// - GET /metadata: the provider's metadata (entity ID http://127.0.0.1:<port>/metadata).
// - POST /sp: registers a service provider from its SP metadata (the body), as an
//   administrator adds an app at a real provider.
// - GET /sso: the HTTP-Redirect binding. The AuthnRequest's Issuer names the registered SP,
//   whose certificate checks the request's signature. Then it shows its login form:
//   whatever address is typed is the person.
// - POST /login: answers the request with a signed assertion, posted to the ACS by a form
//   (submitted by a script, or by its button without JavaScript).
// - GET /tile?sp=<SP entity ID>: the app tile, an unsolicited response for the person who
//   signed in last.
// Names come from the address ("ivy.ito@…" is Ivy Ito); ticking "Signed in with a second
// factor" sends AuthnContextClassRef urn:test:mfa instead of PasswordProtectedTransport;
// ticking "Encrypt the assertion" encrypts it to the SP (the response itself stays unsigned).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import * as samlify from 'samlify';
import * as validator from '@authenio/samlify-node-xmllint';

samlify.setSchemaValidator(validator);

const port = Number(process.env.SAML_IDP_PORT ?? 4020);
const base = `http://127.0.0.1:${port}`;
const MFA_CLASS = 'urn:test:mfa';
const PASSWORD_CLASS = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

// A fresh key and self-signed certificate per run, made by the openssl command line.
const dir = mkdtempSync(join(tmpdir(), 'saml-idp-'));
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
  '-subj', '/CN=Orgdesk test SAML IdP',
  '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
], { stdio: 'ignore' });
const privateKey = readFileSync(join(dir, 'key.pem'), 'utf8');
const signingCert = readFileSync(join(dir, 'cert.pem'), 'utf8');

const settings = {
  entityID: `${base}/metadata`,
  privateKey,
  signingCert,
  wantAuthnRequestsSigned: true,
  requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
  singleSignOnService: [
    { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${base}/sso` },
  ],
};
const idp = samlify.IdentityProvider(settings);
// The same provider when it encrypts the (signed) assertion to the SP's encryption
// certificate, as Okta and Entra ID can: AES-128-GCM, the key wrapped with RSA-OAEP.
const encryptingIdp = samlify.IdentityProvider({
  ...settings,
  isAssertionEncrypted: true,
  dataEncryptionAlgorithm: 'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
});

function nameFrom(email) {
  return email.split('@')[0].split('-')[0].split(/[._]/).filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1));
}

function escapeHtml(text) {
  return String(text).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Requests waiting for the login form, by a random key in the form.
const pending = new Map();
let lastEmail = null;

// The service providers an administrator registered (POST /sp with the SP metadata), by
// entity ID.
const serviceProviders = new Map();

async function serviceProvider(entityId) {
  const sp = serviceProviders.get(entityId);
  if (!sp) throw new Error(`no service provider ${entityId} is registered here`);
  return sp;
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

async function respond(sp, requestInfo, email, mfa, encrypt = false) {
  const template = samlify.default.SamlLib.defaultLoginResponseTemplate.context;
  const acsUrl = sp.entityMeta.getAssertionConsumerService('post');
  const now = new Date();
  const later = new Date(now.getTime() + 5 * 60 * 1000);
  const id = `_${randomBytes(16).toString('hex')}`;
  const [first, ...rest] = nameFrom(email);
  const attribute = (name, value) =>
    `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">${escapeHtml(value)}</saml:AttributeValue></saml:Attribute>`;
  const values = {
    ID: id,
    AssertionID: `_${randomBytes(16).toString('hex')}`,
    Destination: acsUrl,
    Audience: sp.entityMeta.getEntityID(),
    SubjectRecipient: acsUrl,
    Issuer: idp.entityMeta.getEntityID(),
    IssueInstant: now.toISOString(),
    StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
    ConditionsNotBefore: now.toISOString(),
    ConditionsNotOnOrAfter: later.toISOString(),
    SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
    NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    NameID: email,
    InResponseTo: requestInfo?.extract?.request?.id ?? '',
  };
  // These two are markup: put in before the escaping replacement of the plain values.
  const statements = {
    AuthnStatement: `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${id}"><saml:AuthnContext><saml:AuthnContextClassRef>${mfa ? MFA_CLASS : PASSWORD_CLASS}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
    AttributeStatement: `<saml:AttributeStatement>${attribute('email', email)}${attribute('firstName', first ?? '')}${attribute('lastName', rest.join(' '))}</saml:AttributeStatement>`,
  };
  const withStatements = template
    .replace('{AuthnStatement}', statements.AuthnStatement)
    .replace('{AttributeStatement}', statements.AttributeStatement);
  const { context } = await (encrypt ? encryptingIdp : idp).createLoginResponse(sp, requestInfo ?? {}, 'post', { email }, {
    customTagReplacement: () => ({ id, context: samlify.default.SamlLib.replaceTagsByValue(withStatements, values) }),
  });
  // Posted by a script at once; without JavaScript the button does it.
  return page('Signing you in', `<form method="post" action="${escapeHtml(acsUrl)}" id="post"><input type="hidden" name="SAMLResponse" value="${escapeHtml(context)}"><button type="submit">Continue to Orgdesk</button></form><script>document.getElementById('post').submit()</script>`);
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(new URLSearchParams(body)));
  });
}

const server = createServer(async (req, res) => {
  const send = (status, html, type = 'text/html; charset=utf-8') => {
    res.writeHead(status, { 'content-type': type });
    res.end(html);
  };
  try {
    const url = new URL(req.url, base);
    if (req.method === 'GET' && url.pathname === '/metadata') {
      return send(200, idp.getMetadata(), 'application/samlmetadata+xml');
    }
    if (req.method === 'POST' && url.pathname === '/sp') {
      const metadata = await new Promise((resolve) => {
        let body = '';
        req.on('data', (chunk) => { body += chunk; });
        req.on('end', () => resolve(body));
      });
      const sp = samlify.ServiceProvider({ metadata });
      serviceProviders.set(sp.entityMeta.getEntityID(), sp);
      return send(200, 'registered', 'text/plain');
    }
    if (req.method === 'GET' && url.pathname === '/sso') {
      // The signature covers the query as sent: keep the raw, still-encoded values.
      const raw = req.url.split('?')[1] ?? '';
      // samlify wants the values decoded (as a web framework hands them over), the octet
      // string as sent.
      const query = Object.fromEntries(raw.split('&').map((pair) => pair.split('=')).map(([k, v]) => [k, decodeURIComponent(v ?? '')]));
      const octetString = raw.split('&').filter((pair) => /^(SAMLRequest|RelayState|SigAlg)=/.test(pair)).join('&');
      const xml = inflateRawSync(Buffer.from(query.SAMLRequest, 'base64')).toString();
      const issuer = /<(?:\w+:)?Issuer[^>]*>([^<]+)</.exec(xml)?.[1] ?? '';
      const sp = await serviceProvider(issuer);
      const requestInfo = await idp.parseLoginRequest(sp, 'redirect', { query, octetString });
      const key = randomBytes(16).toString('hex');
      pending.set(key, { sp, requestInfo });
      return send(200, page('Test SAML IdP: sign in', `<form method="post" action="/login"><input type="hidden" name="key" value="${key}"><p><label for="email">Email</label> <input id="email" name="email" type="email" required></p><p><input id="mfa" name="mfa" type="checkbox" value="on"> <label for="mfa">Signed in with a second factor</label></p><p><input id="encrypt" name="encrypt" type="checkbox" value="on"> <label for="encrypt">Encrypt the assertion</label></p><button type="submit">Sign in</button></form>`));
    }
    if (req.method === 'POST' && url.pathname === '/login') {
      const form = await readBody(req);
      const waiting = pending.get(form.get('key'));
      pending.delete(form.get('key'));
      if (!waiting) return send(400, page('Unknown sign-in', '<p>Start again at Orgdesk.</p>'));
      lastEmail = String(form.get('email')).trim().toLowerCase();
      return send(200, await respond(waiting.sp, waiting.requestInfo, lastEmail, form.get('mfa') === 'on', form.get('encrypt') === 'on'));
    }
    if (req.method === 'GET' && url.pathname === '/tile') {
      if (!lastEmail) return send(400, page('Nobody signed in', '<p>Sign in once first.</p>'));
      const sp = await serviceProvider(url.searchParams.get('sp') ?? '');
      return send(200, await respond(sp, null, lastEmail, false));
    }
    return send(404, page('Not found', ''));
  } catch (error) {
    return send(400, page('The identity provider refused the request', `<p>${escapeHtml(error.message ?? error)}</p>`));
  }
});

// Started by a test harness that may not stop it: end with the parent (its pipe closes).
if (process.env.IDP_EXIT_WITH_PARENT) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

server.listen(port, '127.0.0.1', () => {
  console.log(`SAML identity provider listening on ${base}`);
});
