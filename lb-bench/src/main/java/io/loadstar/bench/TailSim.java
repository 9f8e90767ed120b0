package io.loadstar.bench;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.Hedging;
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
import org.jspecify.annotations.Nullable;

/*
 * Design notes: a discrete-event simulation on one fake clock, with real balancers. Events (a
 * request arriving, a backend finishing one, a probe answered, a client giving up) run in time
 * order; before each, the clock is moved to its time and the balancers' own timers that fell due
 * are run, so outlier detection, the latency digest and the probe pool live on simulated time. A
 * backend is a machine with cores: a request takes a core for its work (exponential, so that its
 * deviation equals its mean) divided by the share of the machine its service has then (an
 * antagonist may take part of it), queueing FIFO while every core is busy. Each backend counts its
 * requests in an lb-probe ProbeLoad, which the probing strategy's prober reads 100 us after a
 * probe is sent. A hedged client's call sends its hedge (the same work, to another backend) once its
 * first attempt has waited the delay its balancer publishes; the first answer wins and the other
 * attempt is cancelled at the client. A server that drops cancelled work removes it from its queue
 * if it has not started it (HTTP/2 and gRPC servers see the stream reset); one that does not serves
 * it anyway. A request already started always runs to its end. Nothing here sleeps or reads the
 * wall clock.
 */
/** The tail-latency lab's simulation: backends, clients, and the events between them. */
final class TailSim implements AutoCloseable {

  static final long MS = 1_000_000L;
  static final long SECOND = 1_000 * MS;
  static final long TIMEOUT = 5 * SECOND;
  static final long PROBE_RTT = 100_000L;

  /** What a client name adds to its strategy's to hedge its calls. */
  static final String HEDGED = "+hedging";

  /** The strategies the lab compares, by name (without {@link #HEDGED}). */
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
      r.backend = this;
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

  /** How an attempt's outcome reaches its client's balancer: a pick's handle, or an attempt. */
  private interface Outcome {
    void succeeded(long latency);

    void timedOut();

    void overtaken(long elapsed);
  }

  private static Outcome of(PickResult pick) {
    return new Outcome() {
      @Override
      public void succeeded(long latency) {
        pick.handle().onSuccess(latency);
      }

      @Override
      public void timedOut() {
        pick.handle().onFailure(CallFailure.possiblyProcessed(TIMED_OUT), TIMEOUT);
      }

      @Override
      public void overtaken(long elapsed) {
        pick.handle().onOvertaken(elapsed);
      }
    };
  }

  private static Outcome of(Attempt attempt) {
    return new Outcome() {
      @Override
      public void succeeded(long latency) {
        attempt.succeeded(latency);
      }

      @Override
      public void timedOut() {
        attempt.failed(CallFailure.possiblyProcessed(TIMED_OUT), TIMEOUT, -1, 0);
      }

      @Override
      public void overtaken(long elapsed) {
        attempt.overtaken(elapsed);
      }
    };
  }

  private static final SocketTimeoutException TIMED_OUT = new SocketTimeoutException("5 s");

  /** One attempt of a call at a backend, and what it came to. */
  final class Request {
    final Outcome outcome;
    final Call call;
    final long sent;
    final long workNanos;
    @Nullable Backend backend;
    long ticket;
    boolean over; // answered, given up or cancelled

    Request(Outcome outcome, Call call, long workNanos) {
      this.outcome = outcome;
      this.call = call;
      this.sent = now;
      this.workNanos = workNanos;
      call.attempts.add(this);
    }

    /** The backend answered (a cancelled attempt's work still took its core). */
    void done() {
      if (!over) {
        over = true;
        outcome.succeeded(now - sent);
        call.answered(this);
      }
    }

    void giveUp() {
      if (!over) {
        over = true;
        outcome.timedOut();
      }
    }

    /** The call's other attempt won: the client gives this one up, and a server may drop it. */
    void cancel() {
      if (!over) {
        over = true;
        outcome.overtaken(now - sent);
        Backend b = backend;
        if (serversDropCancelled && b != null && b.queue.remove(this)) {
          b.inSystem--;
          b.load.abandoned(ticket); // still queued: the server never starts it
        }
      }
    }
  }

  /** One call: its attempts (two once hedged), the first answer winning. */
  final class Call {
    final Recorder recorder;
    final long start = now;
    final List<Request> attempts = new ArrayList<>(2);
    boolean over;

    Call(Recorder recorder) {
      this.recorder = recorder;
    }

    void answered(Request winner) {
      if (!over) {
        over = true;
        recorder.latency(now - start);
        for (Request r : attempts) {
          if (r != winner) {
            r.cancel();
          }
        }
      }
    }

    void giveUp() {
      if (!over) {
        over = true;
        recorder.timeout();
        attempts.forEach(Request::giveUp);
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
  private boolean hedged;

  private final Hedging hedging;
  private final boolean serversDropCancelled;

  /**
   * A simulation drawing from {@code seed}, whose hedged clients hedge as {@code hedging} says, and
   * whose servers drop a queued request its client cancelled if {@code serversDropCancelled} (as an
   * HTTP/2 or gRPC server does on the stream's reset), else serve it anyway.
   */
  TailSim(long seed, Hedging hedging, boolean serversDropCancelled) {
    this.random = new SplittableRandom(seed);
    this.hedging = hedging;
    this.serversDropCancelled = serversDropCancelled;
  }

  /** Adds a backend machine on 10.0.0.{n}. */
  Backend backend(int cores, DoubleUnaryOperator share) {
    Endpoint e = Endpoint.of("10.0.0." + (backends.size() + 1), 80);
    Backend b = new Backend(e, cores, share);
    backends.add(b);
    byEndpoint.put(e, b);
    return b;
  }

  /**
   * Adds {@code n} clients, each its own balancer over every backend, with {@code strategy}; a name
   * ending in {@link #HEDGED} hedges every call as the simulation's {@link Hedging} says (retries
   * otherwise off).
   */
  void clients(int n, String strategy) {
    hedged = strategy.endsWith(HEDGED);
    String base = hedged ? strategy.substring(0, strategy.length() - HEDGED.length()) : strategy;
    // The lab measures the picks (and hedges), not retries.
    RetryPolicy policy =
        hedged
            ? RetryPolicy.builder()
                .maxAttempts(2)
                .hedging(hedging)
                .attemptTimeout(AttemptTimeout.none())
                .build()
            : RetryPolicy.disabled();
    List<Endpoint> endpoints = new ArrayList<>();
    backends.forEach(b -> endpoints.add(b.endpoint));
    for (int i = 0; i < n; i++) {
      clients.add(
          LoadBalancers.builder("client-" + i)
              .endpoints(endpoints)
              .strategy(strategy(base, this))
              .retryPolicy(policy)
              .ticker(ticker)
              .scheduler(scheduler)
              .seed(random.nextLong())
              .build());
    }
  }

  /** Hedges sent, over every client. */
  long hedges() {
    return clients.stream().mapToLong(c -> c.inspect().retryStats().hedges()).sum();
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

  /**
   * Sends one call from a random client with {@code work} nanoseconds of work: a pick, or, with
   * hedging, a call on the balancer's attempt API whose hedge (the same work, on another backend)
   * goes once the first attempt has waited the delay the balancer publishes.
   */
  void send(long workNanos, Recorder recorder) {
    requests++;
    LoadBalancer client = clients.get(random.nextInt(clients.size()));
    Call call = new Call(recorder);
    if (!hedged) {
      PickResult pick = client.pick(PickContext.empty());
      if (!pick.isAvailable()) {
        recorder.timeout();
        return;
      }
      byEndpoint.get(pick.endpoint()).arrive(new Request(of(pick), call, workNanos));
    } else {
      BalancedCall balanced = client.newCall(PickContext.empty(), true);
      Attempt first = first(balanced);
      if (!first.isAvailable()) {
        recorder.timeout();
        return;
      }
      byEndpoint.get(first.endpoint()).arrive(new Request(of(first), call, workNanos));
      Duration delay = client.inspect().recentLatency().hedgeDelay();
      if (delay != null && !call.over) {
        at(now + delay.toNanos(), () -> hedge(balanced, call, workNanos));
      }
    }
    if (!call.over) {
      at(now + TIMEOUT, call::giveUp);
    }
  }

  private static Attempt first(BalancedCall call) {
    try {
      return call.first(0); // endpoints are known from the start: nothing to wait for
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private void hedge(BalancedCall balanced, Call call, long workNanos) {
    if (call.over) {
      return;
    }
    Attempt hedge = balanced.hedge();
    if (hedge.isAvailable()) {
      byEndpoint.get(hedge.endpoint()).arrive(new Request(of(hedge), call, workNanos));
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
