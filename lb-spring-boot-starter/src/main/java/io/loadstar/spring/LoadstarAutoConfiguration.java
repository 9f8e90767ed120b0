package io.loadstar.spring;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpComponentsClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.autoconfigure.ClientHttpRequestFactoryBuilderCustomizer;
import org.springframework.boot.http.client.autoconfigure.reactive.ClientHttpConnectorBuilderCustomizer;
import org.springframework.boot.http.client.reactive.ClientHttpConnectorBuilder;
import org.springframework.boot.http.client.reactive.HttpComponentsClientHttpConnectorBuilder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Loadstar's auto-configuration: a balancer per service configured under {@code loadstar.services},
 * and the HTTP clients Spring Boot builds ({@code RestClient.Builder}, {@code RestTemplateBuilder},
 * {@code WebClient.Builder}) balanced per request for those services' hosts through Apache
 * HttpClient 5, which keeps the service's name for {@code Host} and TLS. Other hosts pass through
 * untouched. Off with {@code loadstar.enabled=false}.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "loadstar", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(LoadstarProperties.class)
public class LoadstarAutoConfiguration {

  /** The configured services' balancers; closed with the context. */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  public LoadstarServices loadstarServices(
      LoadstarProperties properties, ObjectProvider<DiscoverySources> discovery) {
    return LoadstarServices.create(properties, discovery.getIfAvailable());
  }

  /** Sources from Spring Cloud's DiscoveryClient, where Spring Cloud Commons is present. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.cloud.client.discovery.DiscoveryClient")
  static class Discovery {
    @Bean
    static DiscoverySources loadstarDiscoverySources(
        ObjectProvider<org.springframework.cloud.client.discovery.DiscoveryClient> clients) {
      return new SpringCloudDiscoverySources(clients);
    }
  }

  /** RestClient and RestTemplate: balanced through the HttpClient 5 Boot builds for them. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HttpComponentsClientHttpRequestFactoryBuilder.class)
  static class Imperative {

    @Bean
    ClientHttpRequestFactoryBuilderCustomizer<HttpComponentsClientHttpRequestFactoryBuilder>
        loadstarClientHttpRequestFactoryBuilderCustomizer(LoadstarServices services) {
      return builder ->
          services
              .httpClientBalancing()
              .map(balancing -> builder.withHttpClientCustomizer(balancing::configure))
              .orElse(builder);
    }
  }

  /** WebClient: balanced through the HttpClient 5 connector, when Boot builds that one. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(
      name = {
        "org.springframework.boot.http.client.reactive.HttpComponentsClientHttpConnectorBuilder",
        "org.apache.hc.core5.reactive.ReactiveResponseConsumer"
      })
  static class Reactive {

    @Bean
    ClientHttpConnectorBuilderCustomizer<HttpComponentsClientHttpConnectorBuilder>
        loadstarClientHttpConnectorBuilderCustomizer(LoadstarServices services) {
      return builder ->
          services
              .httpClientBalancing()
              .map(balancing -> builder.withHttpClientCustomizer(balancing::configure))
              .orElse(builder);
    }
  }

  /**
   * Refuses to start when Boot's HTTP clients would send a balanced host's requests over a
   * transport that cannot be balanced per request (the JDK, Jetty or Reactor Netty clients): they
   * would go wherever the host name resolves, unbalanced. Says which property selects HttpClient 5.
   */
  @Bean
  static SmartInitializingSingleton loadstarTransportCheck(
      ObjectProvider<LoadstarServices> services,
      ObjectProvider<ClientHttpRequestFactoryBuilder<?>> imperative,
      ObjectProvider<ClientHttpConnectorBuilder<?>> reactive) {
    return () -> {
      LoadstarServices s = services.getIfAvailable();
      if (s == null || s.hosts().isEmpty()) {
        return;
      }
      List<String> problems = new ArrayList<>();
      ClientHttpRequestFactoryBuilder<?> factory = imperative.getIfAvailable();
      if (factory != null && !(factory instanceof HttpComponentsClientHttpRequestFactoryBuilder)) {
        problems.add(
            "RestClient and RestTemplate are built on "
                + factory.getClass().getSimpleName()
                + ": set spring.http.clients.imperative.factory=http-components");
      }
      ClientHttpConnectorBuilder<?> connector = reactive.getIfAvailable();
      if (connector != null
          && !connector
              .getClass()
              .getName()
              .equals(
                  "org.springframework.boot.http.client.reactive.HttpComponentsClientHttpConnectorBuilder")) {
        problems.add(
            "WebClient is built on "
                + connector.getClass().getSimpleName()
                + ": set spring.http.clients.reactive.connector=http-components and add"
                + " org.apache.httpcomponents.core5:httpcore5-reactive");
      }
      if (!problems.isEmpty()) {
        throw new IllegalStateException(
            "Loadstar balances requests to "
                + hostList(s.hosts())
                + " per request through Apache HttpClient 5, which connects to the endpoint it"
                + " picks while keeping the service's name for Host and TLS; "
                + String.join("; ", problems)
                + " (or set loadstar.enabled=false)");
      }
    };
  }

  private static String hostList(Map<String, String> hosts) {
    return String.join(", ", hosts.values());
  }
}
