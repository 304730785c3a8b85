// Times password logins through the real server function: each checks an argon2id hash
// at OWASP's setting (19 MiB, 2 passes) and starts a session. Each login comes from its
// own client address (the server trusts X-Forwarded-For for this run) so no throttle
// decides the figure. Prints logins per second, per core and the latency percentiles.
// usage: node scripts/bench-logins.mjs BASE_URL EMAIL PASSWORD [TOTAL] [CONCURRENCY]
import os from 'node:os';

const [base, email, password, totalArg = '300', concurrencyArg = '4'] = process.argv.slice(2);
const total = Number(totalArg);
const concurrency = Number(concurrencyArg);
const body = new URLSearchParams({ email, password }).toString();
const latencies = [];
let next = 0;
async function worker() {
  while (next < total) {
    const i = next++;
    const t0 = performance.now();
    const response = await fetch(`${base}/api/accounts/log_in`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        Accept: 'application/json',
        'Sec-Fetch-Site': 'same-origin',
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Forwarded-For': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      },
      body,
    });
    latencies.push(performance.now() - t0);
    if (response.status !== 200) throw new Error(`login ${i}: ${response.status} ${await response.text()}`);
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
const cores = os.availableParallelism();
const perSecond = total / seconds;
console.log(
  `password logins: ${perSecond.toFixed(1)}/s on ${cores} cores = ${(perSecond / cores).toFixed(1)}/s per core, p50 ${pct(50)} ms, p99 ${pct(99)} ms`,
);
