// Directory sync as an identity provider loads it, for scripts/bench-scim.sh and
// scripts/bench-postgres.sh. Reports figures; asserts only that each request succeeded.
//
//   node scripts/bench-scim.mjs initial BASE TOKEN DOMAIN [USERS] [GROUPS] [PARALLEL]
//     An initial sync: USERS (10,000) Users created, then GROUPS (20) Groups whose members
//     (the users dealt out evenly) are added by PATCH in batches of 100, as Entra sends
//     them; PARALLEL (8) requests at a time. Prints the elapsed time.
//   node scripts/bench-scim.mjs deactivate BASE TOKEN SESSIONS_FILE
//     For each "userName session" line: from the PATCH that deactivates the person to the
//     first refused page of their browser (which keeps asking for /access-control).

const [command, ...args] = process.argv.slice(2);

function client(base, token) {
  return async (method, path, body) => {
    const response = await fetch(`${base}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/** Runs `work(i)` for i in 0..count, `parallel` at a time. */
async function pool(count, parallel, work) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await work(i);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function initial(base, token, domain, users = 10000, groups = 20, parallel = 8) {
  const scim = client(base, token);
  const ids = new Array(Number(users));
  const started = performance.now();
  await pool(Number(users), Number(parallel), async (i) => {
    const email = `person-${String(i).padStart(6, '0')}@${domain}`;
    const made = await scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: email,
      name: { givenName: 'Person', familyName: String(i) },
      emails: [{ value: email, type: 'work', primary: true }],
      externalId: `ext-${i}`,
      active: true,
    });
    ids[i] = made.id;
  });
  const usersDone = performance.now();
  const groupIds = [];
  for (let g = 0; g < Number(groups); g++) {
    const made = await scim('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: `Team ${g}`,
    });
    groupIds.push(made.id);
  }
  const batches = [];
  ids.forEach((id, i) => {
    const group = i % groupIds.length;
    const open = batches.find((b) => b.group === group && b.members.length < 100);
    if (open) open.members.push(id);
    else batches.push({ group, members: [id] });
  });
  await pool(batches.length, Number(parallel), async (i) => {
    const { group, members } = batches[i];
    await scim('PATCH', `/Groups/${groupIds[group]}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Add', path: 'members', value: members.map((value) => ({ value })) }],
    });
  });
  const done = performance.now();
  console.log(
    `initial sync of ${users} users and ${groups} groups, ${parallel} requests at a time: ` +
      `${((done - started) / 1000).toFixed(2)} s (users ${((usersDone - started) / 1000).toFixed(2)} s, ` +
      `${batches.length} group PATCHes ${((done - usersDone) / 1000).toFixed(2)} s)`,
  );
}

async function deactivate(base, token, sessionsFile) {
  const { readFileSync } = await import('node:fs');
  const scim = client(base, token);
  const people = readFileSync(sessionsFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  const times = [];
  for (const [userName, session] of people) {
    const cookie = `orgdesk_session=${session}`;
    const found = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    if (found.totalResults !== 1) throw new Error(`no User ${userName}`);
    const page = () =>
      fetch(`${base}/access-control`, { headers: { cookie }, redirect: 'manual' }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
    const before = await page();
    if (before !== 200) throw new Error(`the page answered ${before} before the deactivation`);
    const started = performance.now();
    const patched = scim('PATCH', `/Users/${found.Resources[0].id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Replace', value: { active: 'False' } }],
    });
    // The browser keeps asking for its page until it is refused.
    let status = 200;
    while (status === 200) status = await page();
    times.push(performance.now() - started);
    await patched;
  }
  times.sort((a, b) => a - b);
  console.log(
    `from a deactivation to that person's next refused page: p50 ${times[Math.floor(times.length / 2)].toFixed(1)} ms, ` +
      `max ${times[times.length - 1].toFixed(1)} ms over ${times.length} people`,
  );
}

if (command === 'initial') await initial(...args);
else if (command === 'deactivate') await deactivate(...args);
else {
  console.error('usage: bench-scim.mjs initial|deactivate …');
  process.exit(2);
}
