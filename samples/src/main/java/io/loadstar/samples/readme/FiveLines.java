package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import okhttp3.OkHttpClient;

// end::readme[]

/** The README's shortest OkHttp setup. */
final class FiveLines {

  private FiveLines() {}

  static OkHttpClient client() {
    // tag::readme[]
    LoadBalancer api =
        LoadBalancers.builder("api")
            .source(DnsEndpointSource.builder("api.internal", 8080).build())
            .build();
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("api.internal", api)
            .build()
            .wrap(new OkHttpClient());
    // Use client as before: each request to api.internal goes to an endpoint Loadstar picks.
    // end::readme[]
    return client;
  }
}
