package io.loadstar.spring;

import io.loadstar.api.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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
 * {@code WebClient.Builder}) balanced per request for those services' hosts: through Apache
 * HttpClient 5, which keeps the service's name for {@code Host} and TLS, or on another transport by
 * sending each attempt to the endpoint's address (plain HTTP, unless a service's certificates name
 * its endpoints' addresses). Other hosts pass through untouched. Off with {@code
 * loadstar.enabled=false}.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "loadstar", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(LoadstarProperties.class)
public class LoadstarAutoConfiguration {

  private static final Logger log = LoggerFactory.getLogger(LoadstarAutoConfiguration.class);

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
        ObjectProvider<org.springframework.cloud.client.discovery.DiscoveryClient> clients,
        ObjectProvider<org.springframework.cloud.client.discovery.ReactiveDiscoveryClient>
            reactiveClients) {
      return new SpringCloudDiscoverySources(clients, reactiveClients);
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
   * RestClient and RestTemplate on another transport (the JDK client, Jetty, Reactor Netty,
   * HttpURLConnection), which cannot connect to one address while verifying another name: each
   * attempt is sent to the endpoint's address instead ({@link RewritingInterceptor}).
   */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.restclient.RestClientCustomizer")
  static class ImperativeByAddress {

    @Bean
    org.springframework.boot.restclient.RestClientCustomizer loadstarRestClientCustomizer(
        LoadstarServices services, ObjectProvider<ClientHttpRequestFactoryBuilder<?>> factory) {
      return builder ->
          byAddressInterceptor(services, factory).ifPresent(builder::requestInterceptor);
    }

    @Bean
    org.springframework.boot.restclient.RestTemplateCustomizer loadstarRestTemplateCustomizer(
        LoadstarServices services, ObjectProvider<ClientHttpRequestFactoryBuilder<?>> factory) {
      return template ->
          byAddressInterceptor(services, factory).ifPresent(template.getInterceptors()::add);
    }

    private static Optional<RewritingInterceptor> byAddressInterceptor(
        LoadstarServices services, ObjectProvider<ClientHttpRequestFactoryBuilder<?>> factory) {
      ClientHttpRequestFactoryBuilder<?> builder = factory.getIfAvailable();
      if (!goesByAddress(builder)) {
        return Optional.empty(); // HttpClient 5's own handler balances, keeping the TLS name
      }
      return services
          .addressRewriting()
          .map(r -> new RewritingInterceptor(r, transportName(builder), Ticker.system()));
    }
  }

  /** WebClient on another connector: each attempt sent to the endpoint's address. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(
      name = {
        "org.springframework.boot.webclient.WebClientCustomizer",
        "org.springframework.web.reactive.function.client.ExchangeFilterFunction"
      })
  static class ReactiveByAddress {

    @Bean
    org.springframework.boot.webclient.WebClientCustomizer loadstarWebClientCustomizer(
        LoadstarServices services, ObjectProvider<ClientHttpConnectorBuilder<?>> connector) {
      return builder -> {
        ClientHttpConnectorBuilder<?> c = connector.getIfAvailable();
        if (!goesByAddress(c)) {
          return; // HttpClient 5's own handler balances, keeping the TLS name
        }
        services
            .addressRewriting()
            .ifPresent(
                r ->
                    builder.filter(
                        new RewritingExchangeFilter(
                            r, transportName(c), Ticker.system(), setsHost(c))));
      };
    }
  }

  /**
   * Refuses to start when a service declared HTTPS would be called over a transport that can only
   * verify the endpoint's address (the JDK, Jetty or Reactor Netty clients, HttpURLConnection),
   * unless the service says its certificates name those addresses; says which setting to change.
   * Logs which transport each kind of client balances over.
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
      List<String> byAddress = new ArrayList<>();
      List<String> fixes = new ArrayList<>();
      ClientHttpRequestFactoryBuilder<?> factory = imperative.getIfAvailable();
      if (goesByAddress(factory)) {
        byAddress.add("RestClient and RestTemplate on " + transportName(factory));
        fixes.add("spring.http.clients.imperative.factory=http-components");
      }
      ClientHttpConnectorBuilder<?> connector = reactive.getIfAvailable();
      if (goesByAddress(connector)) {
        byAddress.add("WebClient on " + transportName(connector));
        fixes.add(
            "spring.http.clients.reactive.connector=http-components (with"
                + " org.apache.httpcomponents.core5:httpcore5-reactive)");
      }
      if (byAddress.isEmpty()) {
        return;
      }
      log.info(
          "Loadstar balances {} by sending each attempt to the endpoint's address (these clients"
              + " cannot connect to one address while verifying another name); plain HTTP only,"
              + " unless a service sets tls-name=endpoint-address",
          String.join(" and ", byAddress));
      List<String> https = s.httpsByServiceName();
      if (!https.isEmpty()) {
        throw new IllegalStateException(
            "Loadstar services "
                + https
                + " are called over HTTPS (https=true), but "
                + String.join(" and ", byAddress)
                + " can only verify the endpoint's address, not the service's name: set "
                + String.join(" and ", fixes)
                + " (Apache HttpClient 5 keeps the service's name), or set"
                + " loadstar.services.<name>.tls-name=endpoint-address if the services'"
                + " certificates name their endpoints' addresses");
      }
    };
  }

  /**
   * Whether a connector lets a caller set {@code Host}: the JDK's refuses it ("restricted header
   * name") unless the system property {@code jdk.httpclient.allowRestrictedHeaders} lists it.
   */
  private static boolean setsHost(ClientHttpConnectorBuilder<?> connector) {
    if (!connector
        .getClass()
        .getName()
        .equals("org.springframework.boot.http.client.reactive.JdkClientHttpConnectorBuilder")) {
      return true;
    }
    String allowed = System.getProperty("jdk.httpclient.allowRestrictedHeaders", "");
    for (String header : allowed.split(",")) {
      if (header.trim().equalsIgnoreCase("host")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether RestClient and RestTemplate go by address: Boot builds them on a transport other than
   * HttpClient 5 (whose own handler balances, keeping the TLS name).
   */
  private static boolean goesByAddress(@Nullable ClientHttpRequestFactoryBuilder<?> factory) {
    return factory != null && !(factory instanceof HttpComponentsClientHttpRequestFactoryBuilder);
  }

  /**
   * Whether WebClient goes by address: Boot builds it on a connector other than HttpClient 5's
   * (named, not loaded: that class needs httpcore5-reactive, which may be absent).
   */
  private static boolean goesByAddress(@Nullable ClientHttpConnectorBuilder<?> connector) {
    return connector != null
        && !connector
            .getClass()
            .getName()
            .equals(
                "org.springframework.boot.http.client.reactive.HttpComponentsClientHttpConnectorBuilder");
  }

  /** A transport's name for messages: its builder's, without "ClientHttp...Builder". */
  private static String transportName(Object builder) {
    String name = builder.getClass().getSimpleName();
    int cut = name.indexOf("ClientHttp");
    return cut > 0 ? name.substring(0, cut) : name;
  }
}
