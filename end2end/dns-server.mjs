// The DNS server the tests publish TXT records on: npm's dns2 answering on a loopback port
// (UDP and TCP) from an in-memory zone, and a small HTTP API to change that zone.
//
//   DNS_PORT=5353 DNS_API_PORT=5380 node dns-server.mjs
//
// - PUT    /records/<name>  with the TXT value as the body: adds that value to the name;
//                            a name `*.<domain>` is a wildcard for every name under it
// - PUT    /aliases/<name>  with a name as the body: <name> is a CNAME for it
// - DELETE /records/<name>: removes every TXT record (and alias) of the name
// - GET    /records: the zone as JSON
// Names are case-insensitive and have no trailing dot. A name without records answers
// NXDOMAIN, as a real authoritative server would for a record nobody published; any other
// question type answers with no records. Nothing is forwarded: the machines have no network.
//
// It prints "listening" on its first line once both servers are up. With
// DNS_EXIT_WITH_PARENT=1 it exits when its stdin closes (its parent, a test binary, ended).
import http from 'node:http';
import dns2 from 'dns2';

const { Packet } = dns2;
const dnsPort = Number(process.env.DNS_PORT ?? 5353);
const apiPort = Number(process.env.DNS_API_PORT ?? 5380);
const zone = new Map();
const aliases = new Map();

const normalize = (name) => name.toLowerCase().replace(/\.$/, '');

const dnsServer = dns2.createServer({
  udp: true,
  tcp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    if (!question) {
      response.header.rcode = Packet.RCODE.FORMERR;
      return send(response);
    }
    // An alias answers with its CNAME, then the target's records under the target's name,
    // as an authoritative server holding both would.
    let name = normalize(question.name);
    const target = aliases.get(name);
    if (target) {
      response.answers.push({
        name: question.name,
        type: Packet.TYPE.CNAME,
        class: Packet.CLASS.IN,
        ttl: 1,
        domain: target,
      });
      name = target;
    }
    // A wildcard answers for a name that has no records of its own (RFC 4592).
    const wildcard = `*.${name.split('.').slice(1).join('.')}`;
    const values = zone.get(name) ?? zone.get(wildcard);
    if (!values) {
      if (!target) response.header.rcode = Packet.RCODE.NXDOMAIN;
      return send(response);
    }
    if (question.type === Packet.TYPE.TXT) {
      for (const value of values) {
        response.answers.push({
          name: target ?? question.name,
          type: Packet.TYPE.TXT,
          class: Packet.CLASS.IN,
          ttl: 1,
          data: value,
        });
      }
    }
    send(response);
  },
});

const api = http.createServer((request, response) => {
  const url = new URL(request.url, 'http://localhost');
  const match = url.pathname.match(/^\/records\/(.+)$/);
  let body = '';
  request.on('data', (chunk) => {
    body += chunk;
  });
  request.on('end', () => {
    if (request.method === 'GET' && url.pathname === '/records') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(JSON.stringify(Object.fromEntries(zone)));
    }
    if (match && request.method === 'PUT') {
      const name = normalize(decodeURIComponent(match[1]));
      zone.set(name, [...(zone.get(name) ?? []), body]);
      response.writeHead(204);
      return response.end();
    }
    const alias = url.pathname.match(/^\/aliases\/(.+)$/);
    if (alias && request.method === 'PUT') {
      aliases.set(normalize(decodeURIComponent(alias[1])), normalize(body));
      response.writeHead(204);
      return response.end();
    }
    if (match && request.method === 'DELETE') {
      aliases.delete(normalize(decodeURIComponent(match[1])));
      zone.delete(normalize(decodeURIComponent(match[1])));
      response.writeHead(204);
      return response.end();
    }
    response.writeHead(404);
    response.end();
  });
});

await dnsServer.listen({
  udp: { port: dnsPort, address: '127.0.0.1' },
  tcp: { port: dnsPort, address: '127.0.0.1' },
});
await new Promise((resolve) => api.listen(apiPort, '127.0.0.1', resolve));
console.log(`listening: DNS on 127.0.0.1:${dnsPort}, API on http://127.0.0.1:${apiPort}`);

if (process.env.DNS_EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
