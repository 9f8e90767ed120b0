package io.loadstar.testing;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LbEventListener;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records every event it receives, for assertions. Thread-safe. */
public final class RecordingLbEventListener extends LbEventListener {

  public final List<List<Endpoint>> updates = new CopyOnWriteArrayList<>();
  public final List<Throwable> discoveryErrors = new CopyOnWriteArrayList<>();
  public final List<String> pickFailures = new CopyOnWriteArrayList<>();
  public final List<String> budgetEvents = new CopyOnWriteArrayList<>();

  @Override
  public void endpointsUpdated(String service, List<Endpoint> endpoints) {
    updates.add(endpoints);
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
