// Follows a stream of the aggregator and prints every event. The eventsource package (npm install eventsource@4)
// reconnects by itself after a drop, after the server's retry: delay, and sends the last event id as Last-Event-ID,
// so the server resumes where the client left off: nothing is missed and nothing is sent twice.
import { EventSource } from 'eventsource';

const url = process.argv[2] ?? 'http://localhost:8080/api/sources/demo-ticker/events';
const es = new EventSource(url);
for (const type of ['snapshot', 'update', 'status', 'patch', 'removed']) {
  es.addEventListener(type, (e) => console.log(`${type} id=${e.lastEventId} ${e.data}`));
}
es.onopen = () => console.error('connected');
es.onerror = () => console.error('connection lost; reconnecting with Last-Event-ID');
