package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.HttpBackends;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cloud.client.discovery.DiscoveryClient;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.client.RestClient;

/**
 * A service whose endpoints come from Spring Cloud's {@code ReactiveDiscoveryClient} in an
 * application with blocking discovery turned off (as registries that are reactive only run): the
 * instances and their metadata reach the balancer, and requests are balanced over them.
 */
class ReactiveDiscoveryClientSourceTest {

  @Test
  void instancesFromTheReactiveDiscoveryClient_areBalanced() throws Exception {
    try (HttpBackends backends = HttpBackends.startAt(175, 3, s -> {}, HttpBackends.Handler.ok())) {
      List<String> properties = new ArrayList<>();
      // A registry with a reactive client only: Spring Cloud's simple blocking client (made even
      // with blocking discovery off) and its composite left out.
      properties.add("spring.cloud.discovery.blocking.enabled=false");
      properties.add(
          "spring.autoconfigure.exclude="
              + "org.springframework.cloud.client.discovery.simple"
              + ".SimpleDiscoveryClientAutoConfiguration,"
              + "org.springframework.cloud.client.discovery.composite"
              + ".CompositeDiscoveryClientAutoConfiguration");
      properties.add("loadstar.services.orders.host=orders.test");
      properties.add("loadstar.services.orders.strategy=round-robin");
      properties.add("loadstar.services.orders.discovery.service-id=orders");
      for (int i = 0; i < 3; i++) {
        String prefix = "spring.cloud.discovery.client.simple.instances.orders[" + i + "].";
        properties.add(prefix + "uri=http://" + backends.endpoint(i).authority());
        properties.add(prefix + "metadata.zone=" + (i == 0 ? "a" : "b"));
      }
      try (ConfigurableApplicationContext context =
          new SpringApplicationBuilder(FailoverScenarios.App.class)
              .web(WebApplicationType.NONE)
              .properties(properties.toArray(new String[0]))
              .run()) {
        assertThat(context.getBeansOfType(DiscoveryClient.class)).isEmpty();
        LoadBalancer lb = context.getBean(LoadstarServices.class).balancer("orders");
        assertThat(lb.inspect().endpoints())
            .extracting(Endpoint::key)
            .containsExactlyInAnyOrder(
                backends.endpoint(0).key(), backends.endpoint(1).key(), backends.endpoint(2).key());
        assertThat(lb.inspect().endpoints())
            .filteredOn(e -> e.key().equals(backends.endpoint(0).key()))
            .extracting(Endpoint::zone)
            .containsExactly("a");
        RestClient rest = context.getBean(RestClient.Builder.class).build();
        for (int i = 0; i < 6; i++) {
          assertThat(
                  rest.get()
                      .uri("http://orders.test:" + backends.port() + "/")
                      .retrieve()
                      .body(String.class))
              .startsWith("backend-");
        }
        assertThat(backends.counts()).containsExactly(2, 2, 2);
      }
    }
  }
}
