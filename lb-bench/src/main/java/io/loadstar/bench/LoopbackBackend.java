package io.loadstar.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.loadstar.api.Endpoint;
import io.loadstar.probe.JdkHttpServerProbes;
import io.loadstar.probe.ProbeLoad;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/*
 * Design notes: a backend with a fixed number of workers and a FIFO queue, whose work is time, not
 * CPU: a request holds a worker for its service time (exponential, so deviation = mean), after
 * which a timer answers it. So four backends and a load generator fit on a 2-core machine, and
 * what the runs measure is where the balancers send requests and how long they queue, not how the
 * machine shares its cores. Two disturbances, as in the issue: a CPU antagonist (service times
 * three times as long for 2 s of every 4, a neighbour taking two thirds of the machine), and
 * GC-like pauses (every 2 s, 150 ms during which nothing finishes: an answer due in a pause comes
 * at its end). Requests are counted in an lb-probe ProbeLoad, answered on /loadstar/probe.
 */
/** One backend of the loopback lab: a JDK HttpServer on 127.0.0.x. Thread-safe. */
final class LoopbackBackend implements AutoCloseable {

  /** What disturbs a backend. */
  enum Disturbance {
    NONE,
    ANTAGONIST,
    GC_PAUSES
  }

  static final long PAUSE_EVERY_NANOS = 2_000_000_000L;
  static final long PAUSE_NANOS = 150_000_000L;
  static final long ANTAGONIST_PERIOD_NANOS = 4_000_000_000L;

  private static final byte[] BODY = "ok\n".getBytes(StandardCharsets.UTF_8);

  static {
    // The JDK's HttpServer leaves Nagle's algorithm on unless told: a response written as headers
    // then body would wait for the client's delayed ACK, about 40 ms on loopback.
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  private final HttpServer server;
  private final ExecutorService handlers;
  private final ScheduledExecutorService timer;
  private final ProbeLoad load = ProbeLoad.create();
  private final int workers;
  private final long meanServiceNanos;
  private final Disturbance disturbance;
  private final long origin;
  private final SplittableRandom random; // guarded by this
  private final ArrayDeque<Waiting> queue = new ArrayDeque<>(); // guarded by this
  private int busy; // guarded by this
  private final java.util.concurrent.atomic.AtomicLong closedEarly =
      new java.util.concurrent.atomic.AtomicLong();
  private long served; // guarded by this

  private record Waiting(HttpExchange exchange, long ticket) {}

  LoopbackBackend(
      String host,
      int port,
      int workers,
      long meanServiceNanos,
      Disturbance disturbance,
      long seed,
      ScheduledExecutorService timer)
      throws IOException {
    this.workers = workers;
    this.meanServiceNanos = meanServiceNanos;
    this.disturbance = disturbance;
    this.random = new SplittableRandom(seed);
    this.timer = timer;
    this.origin = System.nanoTime();
    this.handlers = Executors.newFixedThreadPool(2);
    this.server = HttpServer.create(new InetSocketAddress(host, port), 1024);
    server.createContext("/", this::arrive);
    server.createContext(ProbeLoad.PATH, JdkHttpServerProbes.handler(load));
    server.setExecutor(handlers);
    server.start();
  }

  Endpoint endpoint() {
    InetSocketAddress a = server.getAddress();
    return Endpoint.of(a.getAddress().getHostAddress(), a.getPort());
  }

  String describe() {
    return endpoint().key() + " (" + workers + " workers, " + disturbance + ")";
  }

  synchronized long served() {
    return served;
  }

  /** Waits up to {@code nanos} until no request is queued or being served. */
  synchronized void awaitIdle(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    for (long left = nanos; busy > 0 && left > 0; left = deadline - System.nanoTime()) {
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /** Answers that found their client gone (a cancelled attempt, a hedge's loser). */
  long closedEarly() {
    return closedEarly.get();
  }

  private void arrive(HttpExchange exchange) throws IOException {
    exchange.getRequestBody().readAllBytes();
    long ticket = load.started();
    synchronized (this) {
      served++;
      if (busy == workers) {
        queue.add(new Waiting(exchange, ticket));
        return;
      }
      busy++;
    }
    start(exchange, ticket);
  }

  /** A worker takes the request: its answer comes after its service time. */
  private void start(HttpExchange exchange, long ticket) {
    long now = System.nanoTime();
    long service;
    synchronized (this) {
      service = (long) (-Math.log(1 - random.nextDouble()) * meanServiceNanos);
    }
    long t = now - origin;
    if (disturbance == Disturbance.ANTAGONIST
        && t % ANTAGONIST_PERIOD_NANOS < ANTAGONIST_PERIOD_NANOS / 2) {
      service *= 3;
    }
    long finish = disturbance == Disturbance.GC_PAUSES ? withPauses(t, service) : t + service;
    timer.schedule(() -> finish(exchange, ticket), finish - t, TimeUnit.NANOSECONDS);
  }

  /**
   * When work of {@code service} nanoseconds started at {@code t} ends, with nothing done in
   * pauses.
   */
  static long withPauses(long t, long service) {
    long remaining = service;
    long x = t;
    while (true) {
      long pause = (x / PAUSE_EVERY_NANOS) * PAUSE_EVERY_NANOS;
      if (x < pause + PAUSE_NANOS) {
        x = pause + PAUSE_NANOS; // stopped: the work waits for the pause to end
      }
      long running = pause + PAUSE_EVERY_NANOS - x;
      if (remaining <= running) {
        return x + remaining;
      }
      remaining -= running;
      x = pause + PAUSE_EVERY_NANOS;
    }
  }

  private void finish(HttpExchange exchange, long ticket) {
    load.ended(ticket);
    try (exchange) {
      exchange.sendResponseHeaders(200, BODY.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(BODY);
      }
    } catch (IOException | RuntimeException e) {
      closedEarly.incrementAndGet(); // the client went away: the worker is free all the same
    }
    Waiting next;
    synchronized (this) {
      next = queue.poll();
      if (next == null) {
        if (--busy == 0) {
          notifyAll(); // idle: see awaitIdle
        }
        return;
      }
    }
    start(next.exchange(), next.ticket());
  }

  @Override
  public void close() {
    server.stop(0);
    handlers.shutdownNow();
  }
}
