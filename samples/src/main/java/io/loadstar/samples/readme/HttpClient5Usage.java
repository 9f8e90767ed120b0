package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.httpclient5.CallAttempts;
import io.loadstar.httpclient5.HttpClientLoadBalancing;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.core5.http.io.entity.EntityUtils;

// end::readme[]

/** lb-httpclient5's README. */
final class HttpClient5Usage {

  private HttpClient5Usage() {}

  static void httpClient5() throws Exception {
    // tag::readme[]
    LoadBalancer api =
        LoadBalancers.builder("api")
            .source(DnsEndpointSource.builder("api.internal", 8443).build())
            .build(); // least request, outlier detection, retries within a budget
    HttpClientLoadBalancing balancing =
        HttpClientLoadBalancing.builder()
            .service("api.internal", api) // requests to this host are balanced, others pass
            .build();
    CloseableHttpClient client = balancing.configure(HttpClients.custom()).build();
    CloseableHttpAsyncClient async = balancing.configure(HttpAsyncClients.custom()).build();

    HttpClientContext context = HttpClientContext.create();
    String body =
        client.execute(
            new HttpGet("https://api.internal:8443/v1/x"),
            context,
            r -> EntityUtils.toString(r.getEntity()));
    System.out.println(body + " from " + CallAttempts.of(context).servedBy());
    // end::readme[]
    async.close();
    client.close();
    api.close();
  }
}
