package io.loadstar.samples.readme;

// tag::readme[]
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpServer;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.probe.HttpProber;
import io.loadstar.probe.JdkHttpServerProbes;
import io.loadstar.probe.ProbeLoad;
import java.net.InetSocketAddress;

// end::readme[]

/** lb-probe's README: a server that answers probes, a client that balances by them. */
final class ProbingUsage {

  private ProbingUsage() {}

  static void probing() throws Exception {
    // tag::readme[]
    // On each server: count its requests, answer probes on /loadstar/probe.
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    HttpContext api = server.createContext("/", exchange -> exchange.sendResponseHeaders(204, -1));
    JdkHttpServerProbes.install(server, ProbeLoad.create(), api);
    server.start();

    // On each client: pick by the servers' answers (least request until they answer).
    LoadBalancer search =
        LoadBalancers.builder("search")
            .source(DnsEndpointSource.builder("search.internal", 8080).build())
            .strategy(Strategies.probing(HttpProber.create()))
            .build();
    // end::readme[]
    search.close();
    server.stop(0);
  }
}
