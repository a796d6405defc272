// Exits 0 when something accepts TCP connections on HOST PORT, 1 otherwise.
// usage: node tools/port-in-use.js HOST PORT
'use strict';
const net = require('net');
const [host, port] = process.argv.slice(2);
const sock = net.connect({ host, port: Number(port) });
sock.setTimeout(1000);
sock.on('connect', () => { sock.destroy(); process.exit(0); });
sock.on('timeout', () => { sock.destroy(); process.exit(1); });
sock.on('error', () => process.exit(1));
