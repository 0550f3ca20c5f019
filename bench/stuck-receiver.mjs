// A receiver that takes connections and requests and never answers: what a hung log service looks like to an exporter.
// Usage: node bench/stuck-receiver.mjs PORT
import http from 'node:http';
const server = http.createServer(() => { /* never answers */ });
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
server.headersTimeout = 0;
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log(`stuck receiver on ${process.argv[2]}`));
