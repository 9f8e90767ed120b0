package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.okhttp.CallAttempts;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import java.time.Duration;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

// end::readme[]

/** The README's OkHttp section. */
final class OkHttpUsage {

  private OkHttpUsage() {}

  static void okHttp() throws Exception {
    // tag::readme[]
    LoadBalancer api =
        LoadBalancers.builder("api")
            .source(DnsEndpointSource.builder("api.internal", 8443).build())
            .strategy(Strategies.peakEwma())
            .outlierDetection(OutlierDetectionConfig.builder().build())
            .retryPolicy(RetryPolicy.defaults()) // 3 attempts, budget 20% over 10 s: per service
            .build();
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("api.internal", api) // requests to this host are balanced, others pass
            .build()
            .wrap(new OkHttpClient.Builder().callTimeout(Duration.ofSeconds(3)).build());

    Request request = new Request.Builder().url("https://api.internal:8443/v1/x").build();
    try (Response r = client.newCall(request).execute()) {
      CallAttempts attempts = CallAttempts.of(r); // which endpoint answered, and what was tried
      System.out.println(r.code() + " from " + attempts.servedBy() + " after " + attempts);
    }
    // end::readme[]
    api.close();
  }
}
