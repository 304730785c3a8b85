// Times 1,000 invitations through the real server function (each one written with its
// email queued in the outbox), 8 requests at a time, spread over 20 organizations (the
// per-organization limit is 50 a day for new organizations). With a maildev API URL, also
// waits until maildev has received all 1,000 messages. Prints the figures.
// usage: node scripts/bench-invitations.mjs BASE_URL SESSION_COOKIE [MAILDEV_API_URL]
const [base, cookie, maildev] = process.argv.slice(2);
const headers = {
  Accept: 'application/json',
  'Sec-Fetch-Site': 'same-origin',
  Cookie: cookie,
  'Content-Type': 'application/x-www-form-urlencoded',
};
const mine = await (
  await fetch(`${base}/api/organizations/mine`, { method: 'POST', headers, body: 'query=&page=1' })
).json();
const organizations = mine.organizations.slice(0, 20).map((o) => o.public_id);
if (organizations.length < 20) throw new Error('the benchmark user needs 20 organizations');

const total = 1000;
const jobs = Array.from({ length: total }, (_, i) => ({
  organization: organizations[i % organizations.length],
  email: `invitee-${i}@bench.example`,
}));
const latencies = [];
const started = performance.now();
async function worker() {
  for (let job = jobs.shift(); job; job = jobs.shift()) {
    const body = new URLSearchParams({ organization_id: job.organization, email: job.email, role: 'member' });
    const t0 = performance.now();
    const response = await fetch(`${base}/api/invitations/invite`, { method: 'POST', headers, body, redirect: 'manual' });
    latencies.push(performance.now() - t0);
    if (response.status !== 200) throw new Error(`invite ${job.email}: ${response.status} ${await response.text()}`);
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(2);
console.log(`1,000 invitations (mail queued): ${seconds.toFixed(2)} s, ${(total / seconds).toFixed(0)} invitations/s, p50 ${pct(50)} ms, p99 ${pct(99)} ms`);

if (maildev) {
  const invited = async () => {
    const messages = await (await fetch(`${maildev}/api/email`)).json();
    return messages.filter((m) => (m.to || []).some((to) => to.address.startsWith('invitee-'))).length;
  };
  const deadline = started + 120_000;
  let received = await invited();
  while (received < total && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    received = await invited();
  }
  const after = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    received >= total
      ? `all 1,000 invitation emails received by maildev ${after} s after the first was requested`
      : `only ${received} of 1,000 invitation emails reached maildev within 120 s`,
  );
}
