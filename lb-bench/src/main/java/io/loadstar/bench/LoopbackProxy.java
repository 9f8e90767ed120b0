package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.testing.ServerProcesses;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A load-balancing proxy the loopback lab runs beside Loadstar: HAProxy ({@code balance leastconn})
 * or nginx ({@code least_conn}), each as its Debian package installs it, started in the foreground
 * on 127.0.0.x with a configuration of its own in a temporary directory and stopped by its process.
 * Both keep connections to the backends alive, as a tuned deployment would.
 */
final class LoopbackProxy implements AutoCloseable {

  private final String name;
  private final Process process;
  private final Path dir;
  private final Endpoint address;

  private LoopbackProxy(String name, Process process, Path dir, Endpoint address) {
    this.name = name;
    this.process = process;
    this.dir = dir;
    this.address = address;
  }

  /** The binary's path, or null (with how to install it) if it is not installed. */
  static @Nullable String binary(String name) {
    for (String dir : List.of("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")) {
      File f = new File(dir, name);
      if (f.canExecute()) {
        return f.getPath();
      }
    }
    return null;
  }

  /** HAProxy on {@code address}, {@code balance leastconn} over {@code backends}. */
  static LoopbackProxy haproxy(Endpoint address, List<Endpoint> backends) throws IOException {
    StringBuilder cfg = new StringBuilder();
    cfg.append("global\n  maxconn 4000\n")
        .append("defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n")
        .append("  timeout server 30s\n  option http-keep-alive\n  http-reuse always\n")
        .append("frontend lab\n  bind ")
        .append(address.host())
        .append(':')
        .append(address.port())
        .append("\n  default_backend service\n")
        .append("backend service\n  balance leastconn\n");
    for (int i = 0; i < backends.size(); i++) {
      Endpoint b = backends.get(i);
      cfg.append("  server b").append(i).append(' ').append(b.host()).append(':').append(b.port());
      cfg.append('\n');
    }
    Path dir = Files.createTempDirectory("loadstar-haproxy");
    Path conf = dir.resolve("haproxy.cfg");
    Files.writeString(conf, cfg, StandardCharsets.UTF_8);
    return start(
        "haproxy", List.of(binaryOrFail("haproxy"), "-f", conf.toString(), "-db"), dir, address);
  }

  /** nginx on {@code address}, {@code least_conn} over {@code backends}. */
  static LoopbackProxy nginx(Endpoint address, List<Endpoint> backends) throws IOException {
    Path dir = Files.createTempDirectory("loadstar-nginx");
    StringBuilder cfg = new StringBuilder();
    cfg.append("worker_processes 1;\ndaemon off;\nmaster_process off;\n")
        .append("error_log ")
        .append(dir.resolve("error.log"))
        .append(" warn;\npid ")
        .append(dir.resolve("nginx.pid"))
        .append(";\nevents { worker_connections 16384; }\nhttp {\n  access_log off;\n")
        .append("  client_body_temp_path ")
        .append(dir.resolve("body"))
        .append(";\n  proxy_temp_path ")
        .append(dir.resolve("proxy"))
        .append(";\n  fastcgi_temp_path ")
        .append(dir.resolve("fastcgi"))
        .append(";\n  uwsgi_temp_path ")
        .append(dir.resolve("uwsgi"))
        .append(";\n  scgi_temp_path ")
        .append(dir.resolve("scgi"))
        .append(";\n  upstream service {\n    least_conn;\n");
    for (Endpoint b : backends) {
      cfg.append("    server ").append(b.host()).append(':').append(b.port()).append(";\n");
    }
    cfg.append("    keepalive 256;\n  }\n  server {\n    listen ")
        .append(address.host())
        .append(':')
        .append(address.port())
        .append(";\n    location / {\n      proxy_pass http://service;\n")
        .append("      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n")
        .append("    }\n  }\n}\n");
    Path conf = dir.resolve("nginx.conf");
    Files.writeString(conf, cfg, StandardCharsets.UTF_8);
    return start(
        "nginx",
        List.of(binaryOrFail("nginx"), "-p", dir.toString(), "-c", conf.toString()),
        dir,
        address);
  }

  private static String binaryOrFail(String name) {
    String path = binary(name);
    if (path == null) {
      throw new IllegalStateException(name + " is not installed (apt-get install -y " + name + ")");
    }
    return path;
  }

  private static LoopbackProxy start(String name, List<String> command, Path dir, Endpoint address)
      throws IOException {
    Path log = dir.resolve("output.log");
    Process p =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    LoopbackProxy proxy = new LoopbackProxy(name, p, dir, address);
    ServerProcesses.awaitReady(
        p,
        log,
        name + " on " + address.key(),
        Duration.ofSeconds(10),
        () -> ServerProcesses.accepts(address.host(), address.port()),
        proxy);
    return proxy;
  }

  Endpoint address() {
    return address;
  }

  @Override
  public void close() throws IOException {
    ServerProcesses.stop(process, dir);
  }

  @Override
  public String toString() {
    return name + " on " + address.key();
  }
}
