package io.loadstar.spring;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickExplanation;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.RetryStats;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;

/**
 * The {@code loadstar} Actuator endpoint: {@code /actuator/loadstar} lists every service's
 * endpoints with their state, weight, in-flight calls and outcomes, and its retry figures; {@code
 * /actuator/loadstar/{service}} adds how a pick without a key would choose now ({@code explain}).
 * Read-only. Expose it as any endpoint: {@code management.endpoints.web.exposure.include=loadstar}.
 */
@org.springframework.boot.actuate.endpoint.annotation.Endpoint(id = "loadstar")
public class LoadstarEndpoint {

  private final LoadstarServices services;

  /** Creates the endpoint over the configured services. */
  public LoadstarEndpoint(LoadstarServices services) {
    this.services = services;
  }

  /** Every service: host, endpoints and retries. */
  @ReadOperation
  public Map<String, Object> services() {
    Map<String, Object> all = new LinkedHashMap<>();
    for (String name : services.names()) {
      all.put(name, describe(name));
    }
    return Map.of("services", all);
  }

  /** One service, with the explanation of a pick without a key; null (404) if unknown. */
  @ReadOperation
  public @Nullable Map<String, Object> service(@Selector String name) {
    if (!services.names().contains(name)) {
      return null;
    }
    Map<String, Object> one = describe(name);
    one.put("explain", explain(services.balancer(name).inspect().explain(PickContext.empty())));
    return one;
  }

  private Map<String, Object> describe(String name) {
    LoadBalancer lb = services.balancer(name);
    LoadBalancer.Inspection inspection = lb.inspect();
    Map<String, Object> service = new LinkedHashMap<>();
    service.put("host", services.hosts().get(name));
    List<Map<String, Object>> endpoints = new ArrayList<>();
    for (EndpointSnapshot s : inspection.snapshot()) {
      Map<String, Object> e = endpoint(s.endpoint());
      e.put("state", s.state().name());
      e.put("reason", s.reason());
      e.put("effectiveWeight", s.effectiveWeight());
      e.put("inFlight", s.inFlight());
      e.put("successes", s.successes());
      e.put("failures", s.failures());
      endpoints.add(e);
    }
    service.put("endpoints", endpoints);
    RetryPolicy policy = inspection.retryPolicy();
    RetryStats stats = inspection.retryStats();
    Map<String, Object> retry = new LinkedHashMap<>();
    retry.put("maxAttempts", policy.maxAttempts());
    retry.put("retries", stats.retries());
    retry.put("refusedByBudget", stats.refusedByBudget());
    retry.put("windowCalls", stats.windowCalls());
    retry.put("windowRetries", stats.windowRetries());
    service.put("retry", retry);
    return service;
  }

  private static Map<String, Object> endpoint(Endpoint endpoint) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("key", endpoint.key());
    e.put("weight", endpoint.weight());
    e.put("zone", endpoint.zone());
    e.put("priority", endpoint.priority());
    e.put("tags", endpoint.tags());
    return e;
  }

  private static Map<String, Object> explain(PickExplanation explanation) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("strategy", explanation.strategy());
    out.put("routing", explanation.routing());
    out.put("decision", explanation.decision());
    out.put("chosen", explanation.chosen().map(Endpoint::key).orElse(null));
    List<Map<String, Object>> candidates = new ArrayList<>();
    for (PickExplanation.Candidate c : explanation.candidates()) {
      Map<String, Object> candidate = new LinkedHashMap<>();
      candidate.put("endpoint", c.endpoint().key());
      candidate.put("state", c.state().name());
      candidate.put("eligible", c.eligible());
      candidate.put("why", c.why());
      candidate.put("score", c.score());
      candidates.add(candidate);
    }
    out.put("candidates", candidates);
    return out;
  }
}
