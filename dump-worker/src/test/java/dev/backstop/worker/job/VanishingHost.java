package dev.backstop.worker.job;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy in front of a database server, standing for its host: the first connection to carry more
 * than {@code vanishAfter} bytes from the server goes silent both ways and is never closed, what a client
 * sees of a machine switched off or cut from the network mid-dump (no reset, no answer; the proxy's own
 * kernel still acknowledges, as nothing would, so only the client's silence watch can tell). Connections
 * opened afterwards pass: the host is back, as when a retry reaches a failed-over server.
 */
final class VanishingHost implements AutoCloseable {

  private final ServerSocket listener;
  private final int serverPort;
  private final long vanishAfter;
  private final AtomicBoolean vanishedOnce = new AtomicBoolean();
  private final CountDownLatch vanished = new CountDownLatch(1);
  private final CountDownLatch closed = new CountDownLatch(1);
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  VanishingHost(int serverPort, long vanishAfter) throws IOException {
    this.serverPort = serverPort;
    this.vanishAfter = vanishAfter;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofPlatform().daemon().name("vanishing-host").start(this::accept);
  }

  int port() {
    return listener.getLocalPort();
  }

  /** Whether a connection went silent within {@code atMost}. */
  boolean awaitVanished(Duration atMost) throws InterruptedException {
    return vanished.await(atMost.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        Socket server = new Socket(InetAddress.getLoopbackAddress(), serverPort);
        sockets.add(client);
        sockets.add(server);
        AtomicBoolean silent = new AtomicBoolean();
        AtomicLong fromServer = new AtomicLong();
        Thread.ofPlatform().daemon().start(() -> pump(client, server, silent, null));
        Thread.ofPlatform().daemon().start(() -> pump(server, client, silent, fromServer));
      } catch (IOException e) {
        // closed, or the server refused: the client sees its connection end
      }
    }
  }

  /** Forwards {@code from} to {@code to} until either ends, or until the connection goes silent: then parks until close. */
  private void pump(Socket from, Socket to, AtomicBoolean silent, AtomicLong counted) {
    try (InputStream in = from.getInputStream()) {
      OutputStream out = to.getOutputStream();
      byte[] buffer = new byte[8192];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        if (counted != null && counted.addAndGet(n) > vanishAfter && vanishedOnce.compareAndSet(false, true)) {
          silent.set(true);
          vanished.countDown();
        }
        if (silent.get()) {
          break;
        }
        out.write(buffer, 0, n);
      }
      if (!silent.get()) {
        to.shutdownOutput();
        return;
      }
      // a vanished host neither answers nor closes: whatever comes, nothing is read, forwarded or ended
      closed.await();
    } catch (IOException e) {
      // the other side or the proxy closed
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() throws IOException {
    closed.countDown();
    listener.close();
    for (Socket socket : sockets) {
      socket.close();
    }
  }
}
