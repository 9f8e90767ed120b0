package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LbEventListener;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last events of the balancers it listens to, with their times and reasons: a timeline to show
 * next to {@link SnapshotReport}. Give it to {@code LoadBalancers.Builder.eventListener}; it keeps
 * the newest {@code capacity} events and hands each on to a delegate. Failed picks are not kept
 * (they can come by the thousand); every other event is. Thread-safe.
 */
public final class EventTimeline extends LbEventListener {

  /** One event. */
  public record Event(Instant time, String service, String what, String detail) {
    @Override
    public String toString() {
      return time + "  " + service + "  " + what + (detail.isEmpty() ? "" : ": " + detail);
    }
  }

  private final int capacity;
  private final Clock clock;
  private final LbEventListener delegate;
  private final ArrayDeque<Event> events = new ArrayDeque<>(); // guarded by this

  private EventTimeline(int capacity, Clock clock, LbEventListener delegate) {
    this.capacity = capacity;
    this.clock = clock;
    this.delegate = delegate;
  }

  /**
   * A timeline of the newest {@code capacity} events, timed by {@code clock}, handing each event on
   * to {@code delegate} ({@link LbEventListener#NONE} for none).
   *
   * @throws IllegalArgumentException if {@code capacity} is not in {@code 1..100000}
   */
  public static EventTimeline of(int capacity, Clock clock, LbEventListener delegate) {
    if (capacity < 1 || capacity > 100_000) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: 1..100000)");
    }
    return new EventTimeline(
        capacity, requireNonNull(clock, "clock"), requireNonNull(delegate, "delegate"));
  }

  /** A timeline of the newest 1,000 events, on the system clock, handing them on to nobody. */
  public static EventTimeline create() {
    return of(1_000, Clock.systemUTC(), LbEventListener.NONE);
  }

  /** Returns the events kept, oldest first. */
  public synchronized List<Event> events() {
    return new ArrayList<>(events);
  }

  /** Returns the events kept, one per line, oldest first. */
  public String text() {
    StringBuilder sb = new StringBuilder();
    for (Event e : events()) {
      sb.append(e).append('\n');
    }
    return sb.toString();
  }

  private synchronized void add(String service, String what, String detail) {
    if (events.size() == capacity) {
      events.removeFirst();
    }
    events.addLast(new Event(clock.instant(), service, what, detail));
  }

  @Override
  public void endpointsUpdated(String service, List<Endpoint> endpoints) {
    add(service, "endpoints", endpoints.size() + ": " + keys(endpoints));
    delegate.endpointsUpdated(service, endpoints);
  }

  @Override
  public void discoveryFailed(String service, Throwable error) {
    add(service, "discovery failed", String.valueOf(error));
    delegate.discoveryFailed(service, error);
  }

  @Override
  public void discoveryRecovered(String service, int endpoints) {
    add(service, "discovery recovered", endpoints + " endpoints");
    delegate.discoveryRecovered(service, endpoints);
  }

  @Override
  public void endpointStateChanged(
      String service, Endpoint endpoint, EndpointSnapshot.State state, String reason) {
    add(service, endpoint.key() + " " + state, reason);
    delegate.endpointStateChanged(service, endpoint, state, reason);
  }

  @Override
  public void panicChanged(String service, boolean panic, String reason) {
    add(service, panic ? "panic" : "panic over", reason);
    delegate.panicChanged(service, panic, reason);
  }

  @Override
  public void canaryRolledBack(String service, String reason) {
    add(service, "canary rolled back", reason);
    delegate.canaryRolledBack(service, reason);
  }

  @Override
  public void retryBudgetExhausted(String service, long calls, long retries) {
    add(service, "retry budget spent", retries + " retries for " + calls + " calls");
    delegate.retryBudgetExhausted(service, calls, retries);
  }

  @Override
  public void retryBudgetRestored(String service) {
    add(service, "retry budget restored", "");
    delegate.retryBudgetRestored(service);
  }

  @Override
  public void pickFailed(String service, String reason) {
    delegate.pickFailed(service, reason);
  }

  private static String keys(List<Endpoint> endpoints) {
    StringBuilder sb = new StringBuilder();
    int shown = Math.min(endpoints.size(), 10);
    for (int i = 0; i < shown; i++) {
      sb.append(i == 0 ? "" : ", ").append(endpoints.get(i).key());
    }
    if (endpoints.size() > shown) {
      sb.append(", ... ").append(endpoints.size() - shown).append(" more");
    }
    return sb.toString();
  }
}
