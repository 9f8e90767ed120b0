package io.loadstar.samples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A loopback HTTP backend whose behaviour the script changes. */
final class StoryBackend {
  final InetSocketAddress address;
  final AtomicInteger[] served = {new AtomicInteger(), new AtomicInteger()};
  final AtomicInteger[] errors = {new AtomicInteger(), new AtomicInteger()};
  private final List<List<Long>> serviceTimes = List.of(new ArrayList<>(), new ArrayList<>());
  volatile int slowMillis;
  volatile int status = 200;
  volatile boolean hung; // accepts requests and never answers them
  private final List<HttpExchange> held = new ArrayList<>();
  volatile boolean stopped;
  private volatile HttpServer server;
  private final ScheduledExecutorService delays;
  private final ExecutorService handlers;

  private StoryBackend(InetSocketAddress bindTo) throws IOException {
    this.delays = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("demo-delay"));
    this.handlers = Executors.newFixedThreadPool(16, DaemonThreads.named("demo-backend"));
    this.server = open(bindTo);
    this.address = server.getAddress(); // the port chosen, for a restart on the same one
  }

  private HttpServer open(InetSocketAddress at) throws IOException {
    HttpServer s = HttpServer.create(at, 128);
    s.createContext(
        "/",
        exchange -> {
          long arrived = System.nanoTime();
          if (hung) {
            synchronized (held) {
              held.add(exchange); // no answer: the client waits until it gives up
            }
            return;
          }
          int delay = slowMillis;
          if (delay > 0) {
            delays.schedule(() -> respond(exchange, arrived), delay, TimeUnit.MILLISECONDS);
          } else {
            respond(exchange, arrived);
          }
        });
    s.setExecutor(handlers);
    s.start();
    return s;
  }

  /**
   * Answers, then records the service time: from the request's arrival to the last byte of the
   * answer written, so it includes writing the response, not only deciding it.
   */
  private void respond(HttpExchange exchange, long arrived) {
    int c = "loadstar".equals(exchange.getRequestHeaders().getFirst("X-Client")) ? 1 : 0;
    try (exchange) {
      int code = status;
      (code == 200 ? served : errors)[c].incrementAndGet();
      byte[] body = (code == 200 ? "ok\n" : "unavailable\n").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(code, body.length);
      exchange.getResponseBody().write(body);
    } catch (IOException e) {
      return; // the client went away
    }
    long took = System.nanoTime() - arrived;
    synchronized (serviceTimes) {
      serviceTimes.get(c).add(took);
    }
  }

  /** Answers again; the requests it held are closed unanswered. */
  void unhang() {
    hung = false;
    synchronized (held) {
      held.forEach(HttpExchange::close);
      held.clear();
    }
  }

  /** The service times of client {@code c}'s requests since the last call, in nanoseconds. */
  List<Long> drainServiceTimes(int c) {
    synchronized (serviceTimes) {
      List<Long> out = new ArrayList<>(serviceTimes.get(c));
      serviceTimes.get(c).clear();
      return out;
    }
  }

  /** Stops answering: connections are refused until {@link #revive()}. */
  synchronized void kill() {
    server.stop(0);
  }

  synchronized void revive() {
    if (stopped) {
      return; // the story is over
    }
    try {
      server = open(address);
    } catch (IOException e) {
      throw new IllegalStateException("could not restart " + address, e);
    }
  }

  synchronized void stop() {
    stopped = true;
    server.stop(0);
    delays.shutdownNow();
    handlers.shutdownNow();
  }

  /** Four backends on 127.0.0.1-4, one port (Linux routes all of 127.0.0.0/8 to loopback). */
  static List<StoryBackend> startFour() throws IOException {
    System.setProperty("sun.net.httpserver.nodelay", "true");
    StoryBackend first =
        new StoryBackend(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
    int port = first.address.getPort();
    List<StoryBackend> all = new ArrayList<>(List.of(first));
    for (int i = 2; i <= 4; i++) {
      all.add(new StoryBackend(new InetSocketAddress(InetAddress.getByName("127.0.0." + i), port)));
    }
    return all;
  }
}
