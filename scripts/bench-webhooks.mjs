// Times 1,000 webhook deliveries: a receiver on loopback, an endpoint subscribed to
// organization.updated (made through the API), then 1,000 profile changes through
// PATCH /api/v1/organization, 8 at a time. Reports the time from the first change to the
// 1,000th delivery received, and how long the changes themselves took.
// usage: node scripts/bench-webhooks.mjs BASE_URL API_KEY
import http from 'node:http';

const [base, key] = process.argv.slice(2);
const total = 1000;
const auth = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
let received = 0;
let lastAt = 0;
let done;
const allReceived = new Promise((resolve) => (done = resolve));
const receiver = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    response.writeHead(204);
    response.end();
    if (body.includes('"organization.updated"')) {
      received += 1;
      lastAt = performance.now();
      if (received === total) done();
    }
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${receiver.address().port}/hooks`;
const made = await fetch(`${base}/api/v1/webhooks`, {
  method: 'POST',
  headers: auth,
  body: JSON.stringify({ url, events: ['organization.updated'] }),
});
if (made.status !== 201) throw new Error(`creating the endpoint: ${made.status} ${await made.text()}`);

const jobs = Array.from({ length: total }, (_, i) => i);
const started = performance.now();
async function worker() {
  for (let i = jobs.shift(); i !== undefined; i = jobs.shift()) {
    const response = await fetch(`${base}/api/v1/organization`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify({ overview: `Benchmark change ${i}` }),
    });
    if (response.status !== 200) throw new Error(`change ${i}: ${response.status} ${await response.text()}`);
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
const changed = performance.now();
const timeout = new Promise((resolve) => setTimeout(resolve, 60_000));
await Promise.race([allReceived, timeout]);
receiver.close();
const seconds = (ms) => (ms / 1000).toFixed(2);
if (received < total) {
  console.log(`1,000 webhook deliveries: only ${received} received within 60 s of the last change`);
} else {
  console.log(
    `1,000 webhook deliveries: the last received ${seconds(lastAt - started)} s after the first change (the 1,000 changes took ${seconds(changed - started)} s)`,
  );
}
