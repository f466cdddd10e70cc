import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PortInUseError, startDevServer } from '../../src/temporal/devServer';

describe('startDevServer (the real temporal binary)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharemount-devserver-'));
  // Holds the port; drops whatever connects (our own health checks), so closing it never waits on them.
  const occupier = net.createServer((socket) => socket.destroy());
  afterAll(async () => {
    if (occupier.listening) await new Promise((resolve) => occupier.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a port that is taken fails with PortInUseError naming it, after retries, and the log says why', async () => {
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    const taken = (occupier.address() as net.AddressInfo).port;
    const logFile = path.join(dir, 'taken.log');
    const error = await startDevServer({ port: taken, uiPort: false, logFile }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(PortInUseError);
    expect(error!.message).toContain(String(taken));
    expect(error!.message).toContain(logFile);
    expect(fs.readFileSync(logFile, 'utf8').match(/address already in use/g)?.length).toBe(3);
  }, 60_000);

  it('without a log file of its own it still recognises the taken port, and leaves no log behind', async () => {
    const taken = (occupier.address() as net.AddressInfo).port;
    const error = await startDevServer({ port: taken, uiPort: false }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(PortInUseError);
    expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`sharemount-temporal-${process.pid}-`))).toEqual([]);
  }, 60_000);

  it('with no port given it picks a free one and answers', async () => {
    const server = await startDevServer({ uiPort: false, logFile: path.join(dir, 'free.log') });
    try {
      expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
