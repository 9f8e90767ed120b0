package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.Affinity;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.SplitControl;
import io.loadstar.core.TrafficSplit;
import io.loadstar.okhttp.AffinityKeys;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import java.time.Duration;
import okhttp3.OkHttpClient;

// end::readme[]

/** The README's zones, canary and affinity section. */
final class RoutingUsage {

  private RoutingUsage() {}

  static void routing(OkHttpClient base) {
    // tag::readme[]
    SplitControl canary =
        SplitControl.of(
            TrafficSplit.toTag("version", "v2")
                .ramp(1, 50, Duration.ofMinutes(30)) // the balancer advances it every second
                .rollbackOnErrors(5)); // 0% once clearly 5 points worse than stable
    LoadBalancer api =
        LoadBalancers.builder("api")
            .endpoints(
                Endpoint.of("10.0.1.7", 8080).withZone("eu-1a").withTag("version", "v1"),
                Endpoint.of("10.0.1.8", 8080).withZone("eu-1a").withTag("version", "v2"),
                Endpoint.of("10.0.2.7", 8080).withZone("eu-1b").withTag("version", "v1"),
                Endpoint.of("10.0.2.8", 8080).withZone("eu-1b").withTag("version", "v1"))
            .zone("eu-1a") // or the environment variable LOADSTAR_ZONE
            .trafficSplit(canary)
            .affinity(Affinity.returnAfter(Duration.ofSeconds(30)))
            .build();
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("api.internal", api)
            .hashKey(AffinityKeys.cookie("session")) // sticky per session
            .build()
            .wrap(base);

    canary.set(TrafficSplit.toTag("version", "v2").percent(100)); // promote: the next pick
    canary.clear(); // or end it
    // end::readme[]
    client.dispatcher().executorService().shutdown();
    api.close();
  }
}
