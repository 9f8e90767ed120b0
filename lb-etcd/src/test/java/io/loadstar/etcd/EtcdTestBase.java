package io.loadstar.etcd;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.loadstar.testing.EtcdServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * One real etcd member on loopback for a test class (skipped with how to install it if the binary
 * is missing), a client on it, and what each test closes after itself, last first.
 */
abstract class EtcdTestBase {

  static final Duration WAIT = Duration.ofSeconds(10);

  static EtcdServer etcd;
  static EtcdClient client;
  final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void startEtcd() throws IOException {
    assumeTrue(EtcdServer.binary() != null, EtcdServer.INSTALL_HINT);
    etcd = EtcdServer.start();
    client = EtcdClient.builder(etcd.url()).build();
  }

  @AfterAll
  static void stopEtcd() throws IOException {
    if (client != null) {
      client.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }
}
