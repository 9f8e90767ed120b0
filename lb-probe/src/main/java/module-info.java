/**
 * Load probes for {@code Strategies.probing}: {@link io.loadstar.probe.ProbeLoad} and its
 * responders for servers, {@link io.loadstar.probe.HttpProber} for clients.
 */
module io.loadstar.probe {
  requires transitive io.loadstar.api;
  requires transitive jdk.httpserver;
  requires java.net.http;
  requires static jakarta.servlet;
  requires static org.jspecify;

  exports io.loadstar.probe;
}
