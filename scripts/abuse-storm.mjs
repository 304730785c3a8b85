// Sends a storm of expensive requests at once, as an abusive client would: sign-ups and
// wrong-password logins, each from its own client address (X-Forwarded-For; the server
// runs with ORGDESK_TRUST_PROXY=true), so per-address throttles do not stop them before
// the password hashing. Prints one JSON line: the count of each status per kind and the
// storm's duration. Used by scripts/bench-abuse.sh; asserts nothing.
//
// usage: node abuse-storm.mjs BASE_URL SIGNUPS LOGINS

const [base, signups, logins] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];

const address = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

async function post(path, form, i) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      Accept: 'application/json',
      'Content-Type': 'application/x-www-form-urlencoded',
      'Sec-Fetch-Site': 'same-origin',
      'X-Forwarded-For': address(i),
    },
    body: new URLSearchParams(form).toString(),
  });
  await response.arrayBuffer();
  return response.status;
}

const tally = (statuses) =>
  statuses.reduce((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

const started = performance.now();
const run = Date.now();
const [signupStatuses, loginStatuses] = await Promise.all([
  Promise.all(
    Array.from({ length: signups }, (_, i) =>
      post(
        '/api/accounts/sign_up',
        { name: `Storm ${i}`, email: `storm-${run}-${i}@example.com`, password: 'correct horse battery' },
        i + 1,
      ).catch(() => 'error'),
    ),
  ),
  Promise.all(
    Array.from({ length: logins }, (_, i) =>
      post(
        '/api/accounts/log_in',
        { email: `guess-${run}-${i}@example.com`, password: 'wrong password guess' },
        100000 + i,
      ).catch(() => 'error'),
    ),
  ),
]);
console.log(
  JSON.stringify({
    signups: tally(signupStatuses),
    logins: tally(loginStatuses),
    seconds: ((performance.now() - started) / 1000).toFixed(1),
  }),
);
