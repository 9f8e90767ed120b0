package io.loadstar.testing;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.Ticker;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records every event it receives, for assertions. Thread-safe. */
public final class RecordingLbEventListener extends LbEventListener {

  /** An endpoint's state change, with the ticker's reading when it was heard. */
  public record StateChange(
      Endpoint endpoint, EndpointSnapshot.State state, String reason, long atNanos) {}

  private final Ticker ticker;

  /** A recorder that stamps state changes with {@code Ticker.system()}. */
  public RecordingLbEventListener() {
    this(Ticker.system());
  }

  /** A recorder that stamps state changes with {@code ticker}'s readings. */
  public RecordingLbEventListener(Ticker ticker) {
    this.ticker = ticker;
  }

  public final List<StateChange> stateChanges = new CopyOnWriteArrayList<>();

  public final List<List<Endpoint>> updates = new CopyOnWriteArrayList<>();
  public final List<Throwable> discoveryErrors = new CopyOnWriteArrayList<>();
  public final List<String> pickFailures = new CopyOnWriteArrayList<>();
  public final List<String> budgetEvents = new CopyOnWriteArrayList<>();

  @Override
  public void endpointsUpdated(String service, List<Endpoint> endpoints) {
    updates.add(endpoints);
  }

  @Override
  public void endpointStateChanged(
      String service, Endpoint endpoint, EndpointSnapshot.State state, String reason) {
    stateChanges.add(new StateChange(endpoint, state, reason, ticker.nanoTime()));
  }

  /** The state changes of {@code state}, in order. */
  public List<StateChange> changesTo(EndpointSnapshot.State state) {
    List<StateChange> out = new java.util.ArrayList<>();
    for (StateChange c : stateChanges) {
      if (c.state() == state) {
        out.add(c);
      }
    }
    return out;
  }

  @Override
  public void discoveryFailed(String service, Throwable error) {
    discoveryErrors.add(error);
  }

  @Override
  public void pickFailed(String service, String reason) {
    pickFailures.add(reason);
  }

  @Override
  public void retryBudgetExhausted(String service, long calls, long retries) {
    budgetEvents.add("exhausted: " + retries + " retries for " + calls + " calls");
  }

  @Override
  public void retryBudgetRestored(String service) {
    budgetEvents.add("restored");
  }
}
