package io.loadstar.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * A backend (or a peer) in a process of its own, for tests that kill it: registers {@code
 * host:port} as {@code service} through etcd at {@code url} with a lease of {@code ttl} seconds,
 * under {@code prefix} if a sixth argument gives one (in a slot, as a peer, if a seventh says
 * {@code slots}), prints {@code registered} once it is, and runs until killed.
 */
public final class RegistrarProcess {

  private RegistrarProcess() {}

  /**
   * Starts {@code main} in a new JVM with etcd at {@code url} and {@code args}, and returns it once
   * it says it is registered.
   */
  static Process start(String url, String... args) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                RegistrarProcess.class.getName(),
                url));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.equals("registered")) {
      // the child's log lines, until it says it is registered
    }
    assertThat(line).as("the process registered").isEqualTo("registered");
    return p; // its later output goes nowhere: it logs little once registered
  }

  public static void main(String[] args) throws Exception {
    EtcdClient client = EtcdClient.builder(args[0]).build();
    EtcdRegistrar.Builder b =
        EtcdRegistrar.builder(client, args[1], Endpoint.of(args[2], Integer.parseInt(args[3])))
            .ttl(Duration.ofSeconds(Long.parseLong(args[4])));
    if (args.length > 5) {
      b.prefix(args[5]);
    }
    if (args.length > 6 && args[6].equals("slots")) {
      b.slots();
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
