package io.loadstar.bench;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.ProbeResult;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.ProbingConfig;
import io.loadstar.core.Strategies;
import io.loadstar.probe.ProbeLoad;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.DoubleUnaryOperator;

/*
 * Design notes: a discrete-event simulation on one fake clock, with real balancers. Events (a
 * request arriving, a backend finishing one, a probe answered, a client giving up) run in time
 * order; before each, the clock is moved to its time and the balancers' own timers that fell due
 * are run, so outlier detection, the latency digest and the probe pool live on simulated time. A
 * backend is a machine with cores: a request takes a core for its work (exponential, so that its
 * deviation equals its mean) divided by the share of the machine its service has then (an
 * antagonist may take part of it), queueing FIFO while every core is busy. Each backend counts its
 * requests in an lb-probe ProbeLoad, which the probing strategy's prober reads 100 us after a
 * probe is sent. Nothing here sleeps or reads the wall clock.
 */
/** The tail-latency lab's simulation: backends, clients, and the events between them. */
final class TailSim implements AutoCloseable {

  static final long MS = 1_000_000L;
  static final long SECOND = 1_000 * MS;
  static final long TIMEOUT = 5 * SECOND;
  static final long PROBE_RTT = 100_000L;

  /** The strategies the lab compares, by name. */
  static SelectionStrategy strategy(String name, TailSim sim) {
    if (name.equals("probing")) {
      return Strategies.probing(
          ProbingConfig.builder(sim::probe).executor(Runnable::run).build()); // the defaults
    }
    return Strategies.named(name);
  }

  private record Event(long at, long seq, Runnable action) {}

  /** A backend machine: cores, the share of it its service gets over time, a FIFO queue. */
  final class Backend {
    final Endpoint endpoint;
    final int cores;
    final DoubleUnaryOperator share; // time in seconds -> share of the machine, in (0, 1]
    final ProbeLoad load = ProbeLoad.create(ticker);
    final java.util.ArrayDeque<Request> queue = new java.util.ArrayDeque<>();
    long fixedMillis; // > 0: every request takes exactly this, however busy (tower's endpoints)
    int busy;
    int served;
    int inSystem;
    int maxInSystem;

    Backend(Endpoint endpoint, int cores, DoubleUnaryOperator share) {
      this.endpoint = endpoint;
      this.cores = cores;
      this.share = share;
    }

    void arrive(Request r) {
      served++;
      r.ticket = load.started();
      inSystem++;
      maxInSystem = Math.max(maxInSystem, inSystem);
      if (busy < cores) {
        start(r);
      } else {
        queue.add(r);
      }
    }

    private void start(Request r) {
      busy++;
      double s = Math.max(0.01, share.applyAsDouble((now - origin) / 1e9));
      long took = fixedMillis > 0 ? fixedMillis * MS : (long) (r.workNanos / s);
      at(now + took, () -> finish(r));
    }

    private void finish(Request r) {
      busy--;
      inSystem--;
      load.ended(r.ticket);
      r.done();
      Request next = queue.poll();
      if (next != null) {
        start(next);
      }
    }
  }

  /** One request: its client's pick, and what it came to. */
  final class Request {
    final PickResult pick;
    final long sent;
    final long workNanos;
    final Recorder recorder;
    long ticket;
    boolean over; // answered or given up

    Request(PickResult pick, long workNanos, Recorder recorder) {
      this.pick = pick;
      this.sent = now;
      this.workNanos = workNanos;
      this.recorder = recorder;
    }

    void done() {
      if (!over) {
        over = true;
        long latency = now - sent;
        pick.handle().onSuccess(latency);
        recorder.latency(latency);
      }
    }

    void giveUp() {
      if (!over) {
        over = true;
        pick.handle()
            .onFailure(CallFailure.possiblyProcessed(new SocketTimeoutException("5 s")), TIMEOUT);
        recorder.timeout();
      }
    }
  }

  /** What the requests sent while it was set came to. */
  interface Recorder {
    void latency(long nanos);

    void timeout();
  }

  final FakeTicker ticker = new FakeTicker(0);
  final ManualScheduler scheduler = new ManualScheduler(ticker);
  final List<Backend> backends = new ArrayList<>();
  final List<LoadBalancer> clients = new ArrayList<>();
  final SplittableRandom random;
  private final Map<Endpoint, Backend> byEndpoint = new HashMap<>();
  private final PriorityQueue<Event> events =
      new PriorityQueue<>(
          (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
  private final long origin = ticker.nanoTime();
  private long seq;
  long now = origin;
  long probes;
  long requests;

  TailSim(long seed) {
    this.random = new SplittableRandom(seed);
  }

  /** Adds a backend machine on 10.0.0.{n}. */
  Backend backend(int cores, DoubleUnaryOperator share) {
    Endpoint e = Endpoint.of("10.0.0." + (backends.size() + 1), 80);
    Backend b = new Backend(e, cores, share);
    backends.add(b);
    byEndpoint.put(e, b);
    return b;
  }

  /** Adds {@code n} clients, each its own balancer over every backend, with {@code strategy}. */
  void clients(int n, String strategy) {
    List<Endpoint> endpoints = new ArrayList<>();
    backends.forEach(b -> endpoints.add(b.endpoint));
    for (int i = 0; i < n; i++) {
      clients.add(
          LoadBalancers.builder("client-" + i)
              .endpoints(endpoints)
              .strategy(strategy(strategy, this))
              .retryPolicy(RetryPolicy.disabled()) // the lab measures the picks, not retries
              .ticker(ticker)
              .scheduler(scheduler)
              .seed(random.nextLong())
              .build());
    }
  }

  /** The simulated prober: a backend's load as it is 100 us after the probe is sent. */
  CompletableFuture<ProbeResult> probe(Endpoint endpoint) {
    probes++;
    CompletableFuture<ProbeResult> answer = new CompletableFuture<>();
    Backend b = byEndpoint.get(endpoint);
    at(now + PROBE_RTT, () -> answer.complete(b.load.read()));
    return answer;
  }

  void at(long time, Runnable action) {
    events.add(new Event(time, seq++, action));
  }

  /** Sends one request from a random client with {@code work} nanoseconds of work. */
  void send(long workNanos, Recorder recorder) {
    requests++;
    LoadBalancer client = clients.get(random.nextInt(clients.size()));
    PickResult pick = client.pick(PickContext.empty());
    if (!pick.isAvailable()) {
      recorder.timeout();
      return;
    }
    Request r = new Request(pick, workNanos, recorder);
    byEndpoint.get(pick.endpoint()).arrive(r);
    if (!r.over) {
      at(now + TIMEOUT, r::giveUp);
    }
  }

  /** Exponential work of mean {@code meanNanos}. */
  long work(long meanNanos) {
    return (long) (-Math.log(1 - random.nextDouble()) * meanNanos);
  }

  /** Runs the events up to {@code until} (relative to the start). */
  void runUntil(long until) {
    long end = origin + until;
    while (!events.isEmpty() && events.peek().at - end <= 0) {
      Event e = events.poll();
      if (e.at != now) {
        ticker.advance(Duration.ofNanos(e.at - now));
        now = e.at;
        scheduler.runDueTasks();
      }
      e.action.run();
    }
    if (end != now) {
      ticker.advance(Duration.ofNanos(end - now));
      now = end;
      scheduler.runDueTasks();
    }
  }

  /** Time since the start. */
  long elapsed() {
    return now - origin;
  }

  @Override
  public void close() {
    clients.forEach(LoadBalancer::close);
  }
}
