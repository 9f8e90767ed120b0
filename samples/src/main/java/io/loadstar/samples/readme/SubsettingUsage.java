package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Subsetting;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.etcd.EtcdEndpointSource;
import io.loadstar.etcd.EtcdPeers;

// end::readme[]

/** The README's subsetting section. */
final class SubsettingUsage {

  private SubsettingUsage() {}

  static void subsetting(EtcdClient etcd, int ordinal, int replicas, String myHost, int myPort) {
    // tag::readme[]
    // A fixed position: this instance's ordinal among the replicas (a StatefulSet, a host list).
    LoadBalancer orders =
        LoadBalancers.builder("orders")
            .source(EtcdEndpointSource.builder(etcd, "orders").build())
            .subsetting(Subsetting.size(20).instance(ordinal, replicas))
            .build();

    // Or from etcd: each client claims the lowest free slot (under a lease) and keeps it.
    LoadBalancer payments =
        LoadBalancers.builder("payments")
            .source(EtcdEndpointSource.builder(etcd, "payments").build())
            .subsetting(
                Subsetting.size(20)
                    .peers(
                        EtcdPeers.builder(etcd, "payments", Endpoint.of(myHost, myPort)).build()))
            .build();
    // end::readme[]
    orders.close();
    payments.close();
  }
}
