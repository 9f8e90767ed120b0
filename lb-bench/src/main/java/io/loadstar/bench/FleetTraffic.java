package io.loadstar.bench;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PeerPosition;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryDecision;
import io.loadstar.core.DynamicEndpointSource;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Subsetting;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The fleet FleetSimulation measures, and its traffic: one real balancer per client on one fake
 * clock, each client sending a fixed rate of calls through the shared attempt API; a call completes
 * after its backend's latency, or fails with a 503 if the backend is failing, and is retried after
 * its backoff as its balancer decides.
 */
final class FleetTraffic {

  private FleetTraffic() {}

  private static final long STEP = Duration.ofMillis(1).toNanos();
  private static final long LATENCY = Duration.ofMillis(5).toNanos();
  private static final long SLOW = Duration.ofMillis(100).toNanos();

  enum Behaviour {
    NORMAL,
    SLOW,
    FAILING
  }

  /** A client's position, set by the simulation as a registry of peers would report it. */
  private static final class SimPosition implements PeerPosition {
    private PeerPosition.@Nullable Listener listener;

    @Override
    public void start(PeerPosition.Listener l) {
      this.listener = l;
    }

    void set(int index, int count) {
      listener.positionChanged(index, count);
    }

    void set(int index, int count, int[] vacant) {
      listener.positionChanged(index, count, vacant);
    }

    @Override
    public void close() {}
  }

  /** One balancer per client, each with its own source of the same backend list. */
  static final class Fleet implements AutoCloseable {
    final FakeTicker ticker = new FakeTicker();
    final ManualScheduler scheduler = new ManualScheduler(ticker);
    final List<LoadBalancer> clients = new ArrayList<>();
    final List<DynamicEndpointSource> sources = new ArrayList<>();
    final List<SimPosition> positions = new ArrayList<>();
    final List<Integer> ids = new ArrayList<>(); // a client's number, stable across renumbering
    final int size; // 0: subsetting off

    Fleet(int count, List<Endpoint> backends, int size) {
      this.size = size;
      for (int i = 0; i < count; i++) {
        add(backends, i);
      }
      renumber();
    }

    void add(List<Endpoint> backends, int id) {
      DynamicEndpointSource source = DynamicEndpointSource.of(backends);
      LoadBalancers.Builder b =
          LoadBalancers.builder("fleet")
              .source(source)
              .ticker(ticker)
              .scheduler(scheduler)
              .seed(id);
      SimPosition position = new SimPosition();
      if (size > 0) {
        b.subsetting(Subsetting.size(size).peers(position));
      }
      clients.add(b.build());
      sources.add(source);
      positions.add(position);
      ids.add(id);
    }

    void remove(int at) {
      clients.remove(at).close();
      sources.remove(at);
      positions.remove(at);
      ids.remove(at);
    }

    /**
     * Tells the client at {@code at} (in the fleet's order) that it is {@code index} of {@code
     * count}, with {@code vacant} positions nobody holds.
     */
    void place(int at, int index, int count, int[] vacant) {
      positions.get(at).set(index, count, vacant);
    }

    /** Tells every client its index among the clients now, as a sorted peer list would. */
    void renumber() {
      if (size > 0) {
        for (int i = 0; i < positions.size(); i++) {
          positions.get(i).set(i, positions.size());
        }
      }
    }

    void setBackends(List<Endpoint> backends) {
      sources.forEach(s -> s.set(backends));
    }

    /** Every client-backend pair: the client's stable number and the backend's key. */
    Set<String> pairs() {
      Set<String> out = new HashSet<>();
      for (int c = 0; c < clients.size(); c++) {
        for (Endpoint e : clients.get(c).inspect().endpoints()) {
          out.add(ids.get(c) + " " + e.key());
        }
      }
      return out;
    }

    /** How many clients list each backend. */
    Map<String, Integer> clientsPerBackend() {
      Map<String, Integer> out = new HashMap<>();
      for (LoadBalancer lb : clients) {
        for (Endpoint e : lb.inspect().endpoints()) {
          out.merge(e.key(), 1, Integer::sum);
        }
      }
      return out;
    }

    @Override
    public void close() {
      clients.forEach(LoadBalancer::close);
    }
  }

  /**
   * What happens next to a call: its attempt under way is done at {@code at}, or (no attempt) its
   * retry is picked at {@code at}, once the backoff has passed.
   */
  private record Pending(long at, BalancedCall call, @Nullable Attempt attempt) {}

  /** What a run of traffic did: attempts per backend, calls that failed after their retries. */
  record Traffic(Map<String, Long> attempts, long calls, long failed, long retries) {}

  /** Sends {@code rate} requests per second per client for {@code seconds} of fake time. */
  static Traffic run(
      Fleet f, int seconds, int rate, Function<String, Behaviour> behaviour, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int n = f.clients.size();
    long interval = 1_000_000_000L / rate;
    long start = f.ticker.nanoTime();
    long[] next = new long[n];
    for (int c = 0; c < n; c++) {
      next[c] = start + random.nextLong(interval);
    }
    PriorityQueue<Pending> pending = new PriorityQueue<>((a, b) -> Long.compare(a.at(), b.at()));
    Map<String, Long> attempts = new HashMap<>();
    long calls = 0;
    long failed = 0;
    long retries = 0;
    long end = start + seconds * 1_000_000_000L;
    while (f.ticker.nanoTime() < end || !pending.isEmpty()) {
      f.ticker.advance(Duration.ofNanos(STEP));
      f.scheduler.runDueTasks();
      long now = f.ticker.nanoTime();
      while (!pending.isEmpty() && pending.peek().at() <= now) {
        Pending p = pending.poll();
        Attempt a = p.attempt();
        if (a == null) {
          // The backoff has passed: the retry's endpoint is picked now.
          Attempt retry = p.call().next();
          if (!retry.isAvailable()) {
            failed++;
            continue;
          }
          attempts.merge(retry.endpoint().key(), 1L, Long::sum);
          pending.add(new Pending(now + latency(behaviour, retry), p.call(), retry));
          continue;
        }
        if (behaviour.apply(a.endpoint().key()) != Behaviour.FAILING) {
          a.succeeded(a.elapsedNanos());
          continue;
        }
        RetryDecision d = a.failed(CallFailure.status(503), a.elapsedNanos());
        if (!d.isRetry()) {
          failed++;
          continue;
        }
        retries++;
        pending.add(new Pending(now + d.delayNanos(), p.call(), null));
      }
      if (now >= end) {
        continue; // let the calls under way finish
      }
      for (int c = 0; c < n; c++) {
        while (next[c] <= now) {
          next[c] += interval;
          calls++;
          BalancedCall call = f.clients.get(c).newCall(PickContext.empty(), true);
          Attempt a;
          try {
            a = call.first(0);
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          if (!a.isAvailable()) {
            failed++;
            continue;
          }
          attempts.merge(a.endpoint().key(), 1L, Long::sum);
          pending.add(new Pending(now + latency(behaviour, a), call, a));
        }
      }
    }
    return new Traffic(attempts, calls, failed, retries);
  }

  private static long latency(Function<String, Behaviour> behaviour, Attempt a) {
    return behaviour.apply(a.endpoint().key()) == Behaviour.SLOW ? SLOW : LATENCY;
  }
}
