package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import io.loadstar.testing.ZooKeeperServer;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.cloud.zookeeper.discovery.ZookeeperInstance;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;

/**
 * A real registry: ZooKeeper (Debian's zookeeperd) on loopback, three backends registered in it as
 * Spring Cloud Zookeeper Discovery registers services, and the application's balancer fed by Spring
 * Cloud's DiscoveryClient. A backend killed mid-run while still registered costs no GET; once it is
 * deregistered, the balancer drops it.
 */
@EnabledIf(value = "installed", disabledReason = ZooKeeperServer.INSTALL_HINT)
// Closed when the class ends: its balancers stop probing backends the class has stopped.
@DirtiesContext
@SpringBootTest(
    classes = ZooKeeperDiscoveryTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.http.clients.reactive.connector=http-components",
      "spring.cloud.zookeeper.enabled=true",
      "spring.cloud.zookeeper.discovery.register=false",
      "loadstar.services.orders.host=orders.test",
      "loadstar.services.orders.discovery.service-id=orders",
      "loadstar.services.orders.discovery.refresh-interval=1s"
    })
class ZooKeeperDiscoveryTest {

  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {}

  private static ZooKeeperServer zookeeper;
  private static CuratorFramework curator;
  private static ServiceDiscovery<ZookeeperInstance> registry;
  private static HttpBackends backends;

  @Autowired private RestClient.Builder restClientBuilder;
  @Autowired private LoadstarServices services;

  static boolean installed() {
    return ZooKeeperServer.jar() != null;
  }

  private static ServiceInstance<ZookeeperInstance> instance(int i) throws Exception {
    String id = "orders-" + i;
    return ServiceInstance.<ZookeeperInstance>builder()
        .id(id)
        .name("orders")
        .address(backends.endpoint(i).host())
        .port(backends.port())
        .payload(new ZookeeperInstance(id, "orders", Map.of("zone", i == 0 ? "a" : "b")))
        .build();
  }

  @DynamicPropertySource
  static void registry(DynamicPropertyRegistry properties) throws Exception {
    zookeeper = ZooKeeperServer.start("127.0.0.1");
    backends = HttpBackends.startAt(180, 3, s -> {}, HttpBackends.Handler.ok());
    curator = CuratorFrameworkFactory.newClient(zookeeper.connectString(), new RetryOneTime(100));
    curator.start();
    registry =
        ServiceDiscoveryBuilder.builder(ZookeeperInstance.class)
            .client(curator)
            .basePath("/services")
            .serializer(new JsonInstanceSerializer<>(ZookeeperInstance.class))
            .build();
    registry.start();
    for (int i = 0; i < 3; i++) {
      registry.registerService(instance(i));
    }
    String connect = zookeeper.connectString();
    properties.add("spring.cloud.zookeeper.connect-string", () -> connect);
  }

  @AfterAll
  static void stop() throws Exception {
    if (registry != null) {
      registry.close();
    }
    if (curator != null) {
      curator.close();
    }
    if (backends != null) {
      backends.close();
    }
    if (zookeeper != null) {
      zookeeper.close();
    }
  }

  @Test
  void backendKilledMidRun_costsNoGet_andLeavesWhenDeregistered() throws Exception {
    LoadBalancer lb = services.balancer("orders");
    assertThat(Await.until(() -> lb.inspect().endpoints().size() == 3)).isTrue();
    RestClient client = restClientBuilder.build();
    String url = "http://orders.test:" + backends.port() + "/";
    Concurrently.Outcome outcome =
        Concurrently.run(
            4,
            300,
            i -> {
              if (i == 100) {
                backends.kill(1); // mid-run, still registered
              }
              client.get().uri(url).retrieve().body(String.class);
            });
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    EndpointSnapshot dead =
        lb.inspect().snapshot().stream()
            .filter(s -> s.endpoint().key().equals(backends.endpoint(1).key()))
            .findFirst()
            .orElseThrow();
    assertThat(dead.state()).isEqualTo(EndpointSnapshot.State.EJECTED);

    registry.unregisterService(instance(1));
    assertThat(Await.until(() -> lb.inspect().endpoints().size() == 2)).isTrue();
    assertThat(lb.inspect().endpoints()).noneMatch(e -> e.key().equals(backends.endpoint(1).key()));
  }
}
