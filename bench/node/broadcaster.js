// The hand-written broadcaster the service is compared with: poll an upstream on a timer and write every change to
// every open SSE response in a loop, as a minimal Express/node:http example does. node:http only, no packages.
// Usage: node --expose-gc broadcaster.js PORT UPSTREAM_URL INTERVAL_MS
//   GET /events  text/event-stream: the current body at once, then each change (id: the change count)
//   GET /stats   {"version":N,"subscribers":M}
//   POST /gc     runs a full GC (with --expose-gc), for a memory reading
'use strict';
const http = require('node:http');

const [port, upstream, intervalMs] = process.argv.slice(2);
const clients = new Set();
let body = null;
let version = 0;

function frame() {
  return `id: ${version}\ndata: ${body}\n\n`;
}

async function poll() {
  try {
    const res = await fetch(upstream);
    const text = await res.text();
    if (res.ok && text !== body) {
      body = text;
      version++;
      const f = frame();
      for (const c of clients) c.write(f);
    }
  } catch (e) {
    // the upstream is down: keep the last body, try again on the next tick
  }
}

setInterval(poll, Number(intervalMs));
poll();

http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/events') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    if (body !== null) res.write(frame());
    clients.add(res);
    req.on('close', () => clients.delete(res));
  } else if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ version, subscribers: clients.size }));
  } else if (req.method === 'POST' && req.url === '/gc') {
    if (global.gc) global.gc();
    res.writeHead(204).end();
  } else {
    res.writeHead(404).end();
  }
}).listen(Number(port), '127.0.0.1', () => console.log(`listening on port ${port}`));
