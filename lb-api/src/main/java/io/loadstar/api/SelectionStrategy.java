package io.loadstar.api;

import java.util.List;

/**
 * A way of picking endpoints (round robin, least request, consistent hashing, ...): a factory of
 * {@link Picker}s.
 *
 * <p>A strategy is an immutable description and may be shared by many balancers. Each balancer
 * calls {@link #newPickerFactory} once, and the factory holds that balancer's selection state (for
 * example round-robin cursors) so that it survives every rebuild of the picker. The built-in
 * strategies are in {@code io.loadstar.core.Strategies}.
 */
public interface SelectionStrategy {

  /** Creates the picker factory, and the selection state, of one balancer. */
  PickerFactory newPickerFactory(SelectionContext context);

  /** Builds a balancer's successive pickers. Called only from the balancer's control loop. */
  interface PickerFactory {
    /**
     * Returns a picker over {@code ready}: a non-empty, unmodifiable list of the endpoints of one
     * priority tier that may be picked, sorted by {@link Endpoint#key()}, each of effective weight
     * at least 1.
     */
    Picker newPicker(List<EndpointView> ready);
  }
}
