package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.dns.DnsEndpointSource;
import java.time.Duration;

// end::readme[]

/** The README's DNS section. */
final class DnsUsage {

  private DnsUsage() {}

  static void dns() {
    // tag::readme[]
    LoadBalancer api =
        LoadBalancers.builder("api")
            .source(DnsEndpointSource.builder("api.internal", 8443).build()) // A and AAAA
            .selectionTimeout(Duration.ofSeconds(2)) // calls at start-up wait for the first answer
            .build();
    LoadBalancer db =
        LoadBalancers.builder("db")
            .source(DnsEndpointSource.srv("_mysql._tcp.db").build()) // SRV: priority = tier
            .build();
    // end::readme[]
    api.close();
    db.close();
  }
}
