// The node:http server of the `streams` benchmark's fetch rows, in a process of its own so that draining
// request bodies does not share the sender's event loop: answers every request with the byte count of
// its body. Sends its port to the parent over IPC.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  let n = 0;
  req.on('data', (chunk: Buffer) => (n += chunk.length));
  req.on('end', () => res.end(String(n)));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send!(typeof address === 'object' && address ? address.port : 0);
});
process.on('disconnect', () => process.exit(0));
