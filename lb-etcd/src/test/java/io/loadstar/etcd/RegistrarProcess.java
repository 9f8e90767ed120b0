package io.loadstar.etcd;

import io.loadstar.api.Endpoint;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * A backend (or a peer) in a process of its own, for tests that kill it: registers {@code
 * host:port} as {@code service} through etcd at {@code url} with a lease of {@code ttl} seconds,
 * under {@code prefix} if a sixth argument gives one, prints {@code registered} once it is, and
 * runs until killed.
 */
public final class RegistrarProcess {

  private RegistrarProcess() {}

  public static void main(String[] args) throws Exception {
    EtcdClient client = EtcdClient.builder(args[0]).build();
    EtcdRegistrar.Builder b =
        EtcdRegistrar.builder(client, args[1], Endpoint.of(args[2], Integer.parseInt(args[3])))
            .ttl(Duration.ofSeconds(Long.parseLong(args[4])));
    if (args.length > 5) {
      b.prefix(args[5]);
    }
    EtcdRegistrar registrar = b.start();
    while (!registrar.isRegistered()) {
      Thread.onSpinWait();
    }
    System.out.println("registered");
    System.out.flush();
    new CountDownLatch(1).await(); // until killed
  }
}
