// Prints a TCP port on 127.0.0.1 that is free right now (the kernel picks it).
'use strict';
const srv = require('net').createServer();
srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => console.log(port));
});
