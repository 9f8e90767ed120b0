package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** lb.addListener: listeners added to a running balancer, beside the builder's. */
class AddListenerTest {

  /** Records the endpoint lists it hears. */
  static final class Lists extends LbEventListener {
    final List<Integer> sizes = new ArrayList<>();

    @Override
    public void endpointsUpdated(String service, List<Endpoint> endpoints) {
      sizes.add(endpoints.size());
    }
  }

  @Test
  void anAddedListenerHearsEventsUntilClosed_besideTheBuildersOne_aThrowingOneStopsNeither() {
    Lists configured = new Lists();
    DynamicEndpointSource source = DynamicEndpointSource.of(List.of(Endpoint.of("10.0.0.1", 80)));
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").source(source).eventListener(configured).build()) {
      LbEventListener throwing =
          new LbEventListener() {
            @Override
            public void endpointsUpdated(String service, List<Endpoint> endpoints) {
              throw new IllegalStateException("a listener's bug");
            }
          };
      Lists added = new Lists();
      lb.addListener(throwing);
      LoadBalancer.Subscription subscription = lb.addListener(added);
      source.set(Endpoint.of("10.0.0.1", 80), Endpoint.of("10.0.0.2", 80));
      subscription.close();
      subscription.close(); // idempotent
      source.set(Endpoint.of("10.0.0.3", 80));
      assertThat(configured.sizes).containsExactly(1, 2, 1);
      assertThat(added.sizes).containsExactly(2);
      assertThat(lb.inspect().endpoints()).extracting(Endpoint::key).containsExactly("10.0.0.3:80");
    }
  }
}
