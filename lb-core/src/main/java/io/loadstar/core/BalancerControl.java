package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link LoadBalancer#control()}: drains, resumes and weight overrides. Checked on the caller's
 * thread (the balancer open, the key listed), applied on the control loop, where the endpoint's
 * state changes and the snapshot is published again. Thread-safe.
 */
final class BalancerControl implements LoadBalancer.Control {

  private static final Logger logger = LoggerFactory.getLogger(BalancerControl.class);

  private final BalancerHost host;
  private final Runnable checkOpen;
  private final Supplier<List<Endpoint>> listed;
  private final Function<String, @Nullable EndpointState> stateOf;
  private final Runnable publish;

  /**
   * Operations on {@code host}'s endpoints: {@code checkOpen} throws once the balancer is closed,
   * {@code listed} gives the endpoints now, {@code stateOf} a listed endpoint's state by key
   * (control loop), {@code publish} rebuilds and publishes (control loop).
   */
  BalancerControl(
      BalancerHost host,
      Runnable checkOpen,
      Supplier<List<Endpoint>> listed,
      Function<String, @Nullable EndpointState> stateOf,
      Runnable publish) {
    this.host = host;
    this.checkOpen = checkOpen;
    this.listed = listed;
    this.stateOf = stateOf;
    this.publish = publish;
  }

  @Override
  public void drain(String endpointKey) {
    checkOpen.run();
    requireCurrent(endpointKey);
    host.controlLoop().execute(() -> setDraining(endpointKey, true));
  }

  @Override
  public void resume(String endpointKey) {
    checkOpen.run();
    requireCurrent(endpointKey);
    host.controlLoop().execute(() -> setDraining(endpointKey, false));
  }

  @Override
  public void setWeight(String endpointKey, int weight) {
    if (weight < -1 || weight > Endpoint.MAX_WEIGHT) {
      throw new IllegalArgumentException(
          "weight: " + weight + " (expected: -1..1000000, -1 = discovery's weight)");
    }
    checkOpen.run();
    requireCurrent(endpointKey);
    host.controlLoop()
        .execute(
            () -> {
              EndpointState state = stateOf.apply(endpointKey);
              if (state == null
                  || !host.isCurrent(state)
                  || state.operator.weightOverride == weight) {
                return;
              }
              boolean wasOut = state.baseWeight() == 0;
              state.operator.weightOverride = weight;
              if (wasOut && state.baseWeight() > 0) {
                host.startRamp(state);
              }
              logger.info("[{}] {} weight set to {}", host.name(), state.endpoint(), weight);
              publish.run();
            });
  }

  private void requireCurrent(String endpointKey) {
    Objects.requireNonNull(endpointKey, "endpointKey");
    for (Endpoint e : listed.get()) {
      if (e.key().equals(endpointKey)) {
        return;
      }
    }
    throw new IllegalArgumentException(
        "endpointKey: " + endpointKey + " (expected: the key of a current endpoint)");
  }

  private void setDraining(String endpointKey, boolean draining) {
    EndpointState state = stateOf.apply(endpointKey);
    if (state == null || !host.isCurrent(state) || state.operator.draining == draining) {
      return;
    }
    state.operator.draining = draining;
    if (!draining) {
      host.startRamp(state);
    }
    logger.info("[{}] {} {}", host.name(), state.endpoint(), draining ? "draining" : "resumed");
    publish.run();
    host.stateChanged(
        state.endpoint(),
        draining ? EndpointSnapshot.State.DRAINING : EndpointSnapshot.State.READY,
        draining ? "drained by the application" : "");
  }

  @Override
  public String toString() {
    return "Control{" + host.name() + '}';
  }
}
