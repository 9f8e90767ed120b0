package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.etcd.EtcdEndpointSource;
import io.loadstar.etcd.EtcdRegistrar;
import java.util.function.BooleanSupplier;

// end::readme[]

/** The README's etcd section. */
final class EtcdUsage {

  private EtcdUsage() {}

  static void etcd(BooleanSupplier ready) {
    // tag::readme[]
    // One client per JVM and cluster: every source and registrar shares its connections.
    EtcdClient etcd =
        EtcdClient.builder("http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379")
            .build();

    // In each backend: register under a lease (TTL 10 s), deregistered while not ready.
    EtcdRegistrar registrar =
        EtcdRegistrar.builder(etcd, "orders", Endpoint.of("10.0.0.7", 8080).withZone("eu-1a"))
            .readiness(ready)
            .start();

    // In each client: follow /loadstar/services/orders/.
    LoadBalancer orders =
        LoadBalancers.builder("orders")
            .source(EtcdEndpointSource.builder(etcd, "orders").build())
            .build();
    // end::readme[]
    orders.close();
    registrar.close();
    etcd.close();
  }
}
