package io.loadstar.samples;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.etcd.EtcdEndpointSource;
import io.loadstar.etcd.EtcdRegistrar;
import io.loadstar.testing.EtcdServer;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd on loopback where every endpoint registers itself, as backends would, and the source
 * the demo's balancer discovers them through.
 */
final class DemoRegistry implements AutoCloseable {
  private final EtcdServer etcd;
  private final EtcdClient client;
  private final List<EtcdRegistrar> registrars = new ArrayList<>();

  private DemoRegistry(EtcdServer etcd) {
    this.etcd = etcd;
    this.client = EtcdClient.builder(etcd.url()).build();
  }

  static DemoRegistry start(List<Endpoint> endpoints, PrintStream out) throws IOException {
    DemoRegistry r = new DemoRegistry(EtcdServer.start());
    for (Endpoint e : endpoints) {
      r.registrars.add(EtcdRegistrar.builder(r.client, "demo", e).start());
    }
    out.printf(
        Locale.ROOT,
        "etcd at %s: %d endpoints register themselves under %sdemo/%n",
        r.etcd.url(),
        endpoints.size(),
        EtcdEndpointSource.DEFAULT_ROOT);
    return r;
  }

  EtcdEndpointSource source() {
    return EtcdEndpointSource.builder(client, "demo").build();
  }

  /** Waits until the balancer has discovered every registered endpoint (at most 10 s). */
  void awaitDiscovered(LoadBalancer lb, int count) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (lb.inspect().endpoints().size() < count) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "discovered " + lb.inspect().endpoints() + " from etcd within 10 s, expected " + count);
      }
      Thread.onSpinWait();
    }
  }

  @Override
  public void close() throws IOException {
    for (EtcdRegistrar r : registrars) {
      r.close();
    }
    client.close();
    etcd.close();
  }
}
