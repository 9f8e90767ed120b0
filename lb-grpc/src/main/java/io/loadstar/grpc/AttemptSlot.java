package io.loadstar.grpc;

import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * One attempt of an RPC, as it travels from Loadstar's interceptor to the {@code loadstar} picker
 * in the attempt's {@code CallOptions}: the attempt the balancer picked (or, when the balancer had
 * no endpoints yet as the RPC started, the call whose first attempt the picker takes once the
 * channel has a picker), whether its stream was sent, and whether the {@code loadstar} picker
 * routed it.
 *
 * <p>The attempt is owned by exactly one side: the picker takes a first attempt only while the slot
 * is open; the interceptor closes the slot once the attempt's RPC has closed, and reports the
 * attempt it finds, if any. So a pick racing a cancel never leaks an in-flight slot.
 */
final class AttemptSlot extends ClientStreamTracer.Factory {

  static final CallOptions.Key<AttemptSlot> KEY = CallOptions.Key.create("io.loadstar.grpc.slot");

  private static final Object PICKING = new Object();
  private static final Object CLOSED = new Object();

  private final BalancedCall call;
  private final AtomicReference<@Nullable Object> state;
  private final Runnable onSent;
  private volatile boolean sent;
  private volatile boolean routed;

  /**
   * @param picked the attempt already picked, or null to let the picker take the call's first
   * @param onSent run once the attempt's headers are written to a connection
   */
  AttemptSlot(BalancedCall call, @Nullable Attempt picked, Runnable onSent) {
    this.call = call;
    this.state = new AtomicReference<>(picked);
    this.onSent = onSent;
  }

  /**
   * Returns the attempt to route: the one picked, or the call's first, taken now; null if the slot
   * is closed (or, should a channel ever pick one stream twice at once, being taken).
   */
  @Nullable Attempt attempt() {
    Object s = state.get();
    if (s instanceof Attempt) {
      return (Attempt) s;
    }
    if (s != null || !state.compareAndSet(null, PICKING)) {
      return null;
    }
    Attempt first;
    try {
      first = call.first(0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // not reached: first(0) never waits
      state.set(CLOSED);
      return null;
    }
    if (state.compareAndSet(PICKING, first)) {
      return first;
    }
    if (first.isAvailable()) {
      first.cancelled(); // the RPC closed while its endpoint was being picked
    }
    return null;
  }

  /** The {@code loadstar} picker routed this attempt. */
  void routed() {
    if (!routed) {
      routed = true;
    }
  }

  boolean wasRouted() {
    return routed;
  }

  boolean wasSent() {
    return sent;
  }

  /** Closes the slot: returns the attempt to report, or null if none was taken. */
  @Nullable Attempt close() {
    Object s = state.getAndSet(CLOSED);
    return s instanceof Attempt ? (Attempt) s : null;
  }

  @Override
  public ClientStreamTracer newClientStreamTracer(
      ClientStreamTracer.StreamInfo info, Metadata headers) {
    return new ClientStreamTracer() {
      @Override
      public void outboundHeaders() {
        sent = true;
        onSent.run();
      }
    };
  }

  @Override
  public String toString() {
    Object s = state.get();
    return "AttemptSlot{"
        + (s instanceof Attempt ? s : s == CLOSED ? "closed" : s == PICKING ? "picking" : "open")
        + (sent ? ", sent" : "")
        + '}';
  }
}
