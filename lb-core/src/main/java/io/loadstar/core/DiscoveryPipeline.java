package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.PeerPosition;
import io.loadstar.api.Ticker;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: what discovery says goes through this pipeline before the balancer reconciles its
 * states with it. First the answer is checked (conflicting duplicates are refused like an error)
 * and made canonical. Then keep-last: an error, or an empty answer, never wipes out a non-empty set
 * while it is younger than keepLastEndpoints (one age while discovery fails, one while it answers
 * that there is none); the error is kept for messages and reported to the listener. Then
 * subsetting: with a position among its peers, the client lists only its subset of the whole
 * list, widened by one usable endpoint for each member that is not usable, and narrowed again when
 * they recover. The pipeline hands the list to list to its sink, which reconciles and publishes.
 */
/** Discovery's answers, checked, kept or dropped, and subset, on their way to the balancer. */
final class DiscoveryPipeline {

  private static final Logger logger = LoggerFactory.getLogger(DiscoveryPipeline.class);
  private static final int[] NONE = {};

  /** Where the pipeline's lists go, and what it needs to know of the balancer. */
  interface Sink {
    /** Makes {@code listed} the balancer's endpoints; control loop. */
    void reconcile(List<Endpoint> listed);

    /** How many endpoints the balancer lists now. */
    int listedCount();

    /** The last build's status of each listed endpoint, for widening a subset. */
    List<EndpointStatus> statuses();

    boolean isClosed();
  }

  private final String name;
  private final Ticker ticker;
  private final ServiceEvents events;
  private final long keepLastFailingNanos;
  private final long keepLastEmptyNanos;
  private final @Nullable Subsetting subsetting;
  private final Executor controlLoop;
  private final Sink sink;

  // Control loop only.
  private long lastAnswerNanos; // when discovery last answered with endpoints
  private List<Endpoint> discovered = List.of(); // the whole list discovery gave
  private int positionIndex = -1;
  private int positionCount;
  private int[] positionVacant = NONE; // positions below positionCount that nobody holds
  private boolean subsetPending;
  private volatile int discoveredSize; // read by explain()

  DiscoveryPipeline(BalancerSettings b, ServiceEvents events, Executor controlLoop, Sink sink) {
    this.name = b.name();
    this.ticker = b.ticker();
    this.events = events;
    this.keepLastFailingNanos = b.keepLastFailingNanos();
    this.keepLastEmptyNanos = b.keepLastEmptyNanos();
    this.subsetting = b.subsetting();
    this.controlLoop = controlLoop;
    this.sink = sink;
    if (b.subsetting() != null && b.subsetting().count() > 0) {
      this.positionIndex = b.subsetting().index();
      this.positionCount = b.subsetting().count();
    }
  }

  /** How many endpoints discovery gave last (before subsetting); any thread. */
  int discoveredSize() {
    return discoveredSize;
  }

  /** A source's answer; control loop. */
  void onUpdate(EndpointUpdate update) {
    if (sink.isClosed()) {
      return;
    }
    List<Endpoint> next = List.of();
    if (!update.isError()) {
      Endpoint[] sorted = EndpointLists.sortedByKey(update.endpoints());
      String conflict = EndpointLists.conflictIn(sorted);
      if (conflict == null) {
        next = EndpointLists.distinct(sorted);
      } else {
        // Which of the two is right cannot be known: keep the last good list, as for an error.
        update = EndpointUpdate.failed(new IllegalArgumentException("discovery: " + conflict));
      }
    }
    long now = ticker.nanoTime();
    // What is wrong with the update: discovery's error, or its answer that there is none, with the
    // reason it gave (an empty list without one says nothing to keep in failed picks' messages).
    Throwable error =
        update.isError()
            ? update.error().orElseThrow()
            : next.isEmpty() && !update.reason().isEmpty()
                ? ServiceEvents.noEndpoints(update.reason(), 0)
                : null;
    int listed = sink.listedCount();
    if (next.isEmpty() && (error != null || listed > 0)) {
      long keepNanos = update.isError() ? keepLastFailingNanos : keepLastEmptyNanos;
      if (listed == 0 || now - lastAnswerNanos < keepNanos) { // stale-while-error
        events.discoveryFailed(
            update.isError() || listed == 0
                ? error
                : ServiceEvents.noEndpoints(update.reason(), listed),
            listed);
        return;
      }
      events.lastEndpointsDropped(listed, keepNanos, error);
    } else {
      events.discoveryAnswered(next.size());
    }
    if (!next.isEmpty()) {
      lastAnswerNanos = now;
    }
    discovered = next;
    discoveredSize = next.size();
    sink.reconcile(subsetOf(next));
  }

  /**
   * The listener a peer position reports to: checks what it says (throwing to the position if it is
   * out of range), then applies it on the control loop.
   */
  PeerPosition.Listener positionListener() {
    return new PeerPosition.Listener() {
      @Override
      public void positionChanged(int index, int count) {
        positionChanged(index, count, NONE);
      }

      @Override
      public void positionChanged(int index, int count, int[] vacant) {
        int[] v = Subsetting.checkVacant(index, count, vacant);
        controlLoop.execute(() -> moved(index, count, v));
      }
    };
  }

  /** This client's position among its peers changed; control loop. */
  private void moved(int index, int count, int[] vacant) {
    if (sink.isClosed()
        || (index == positionIndex
            && count == positionCount
            && Arrays.equals(vacant, positionVacant))) {
      return;
    }
    if (index != positionIndex || count != positionCount) {
      logger.info("[{}] this client is {} of {}: subsetting follows", name, index, count);
    }
    positionIndex = index;
    positionCount = count;
    positionVacant = vacant;
    sink.reconcile(subsetOf(discovered));
  }

  /**
   * Re-evaluates the subset after a state changed, once the current control-loop task is done (the
   * detector or health check that changed it may still be running); changes coalesce.
   */
  void resubsetSoon() {
    if (subsetting == null || subsetPending || positionCount == 0) {
      return;
    }
    subsetPending = true;
    controlLoop.execute(
        () -> {
          subsetPending = false;
          if (!sink.isClosed() && !discovered.isEmpty()) {
            sink.reconcile(subsetOf(discovered));
          }
        });
  }

  /**
   * This client's subset of {@code all}, widened by one usable endpoint for each member that is not
   * usable (unhealthy, ejected); {@code all} itself without subsetting or a known position.
   */
  private List<Endpoint> subsetOf(List<Endpoint> all) {
    Subsetting s = subsetting;
    if (s == null || positionCount == 0 || all.isEmpty()) {
      return all;
    }
    int size = s.sizeFor(all.size(), positionCount);
    if (size >= all.size()) {
      return all;
    }
    SubsetPlan plan = SubsetPlan.of(all, positionCount, size, positionVacant);
    List<Endpoint> subset = new ArrayList<>(plan.subset(positionIndex));
    Map<String, EndpointStatus> byKey = new HashMap<>();
    for (EndpointStatus st : sink.statuses()) {
      byKey.put(st.state.key(), st);
    }
    int missing = 0;
    for (Endpoint e : subset) {
      missing += usable(e, byKey) ? 0 : 1;
    }
    if (missing > 0) {
      for (Endpoint e : plan.widening(positionIndex)) {
        if (missing == 0) {
          break;
        }
        subset.add(e);
        missing -= usable(e, byKey) ? 1 : 0;
      }
    }
    return EndpointLists.canonical(subset);
  }

  /**
   * Whether the endpoint of {@code e}'s key is usable by the last build's status (healthy, not
   * ejected, not drained), or not listed yet (assumed usable).
   */
  private static boolean usable(Endpoint e, Map<String, EndpointStatus> byKey) {
    EndpointStatus status = byKey.get(e.key());
    return status == null || status.usable();
  }
}
