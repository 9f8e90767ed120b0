package io.loadstar.spring;

import io.loadstar.micrometer.LoadstarMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * What Loadstar adds to Spring Boot's Actuator, each where its part of Boot is present: the {@code
 * loadstar} endpoint, the {@code loadstar} health indicator, and every service's meters in the
 * application's {@link MeterRegistry} (lb-micrometer's {@link LoadstarMetrics}).
 */
@AutoConfiguration(
    after = LoadstarAutoConfiguration.class,
    afterName =
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration")
@ConditionalOnBean(LoadstarServices.class)
public class LoadstarActuatorAutoConfiguration {

  /** The {@code /actuator/loadstar} endpoint. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.actuate.endpoint.annotation.Endpoint")
  static class EndpointConfiguration {
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnAvailableEndpoint
    LoadstarEndpoint loadstarEndpoint(LoadstarServices services) {
      return new LoadstarEndpoint(services);
    }
  }

  /** The {@code loadstar} health indicator. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
  static class HealthConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "loadstarHealthIndicator")
    @ConditionalOnEnabledHealthIndicator("loadstar")
    LoadstarHealthIndicator loadstarHealthIndicator(LoadstarServices services) {
      return new LoadstarHealthIndicator(services);
    }
  }

  /** Every service's meters, in the application's registry. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "io.micrometer.core.instrument.MeterRegistry")
  @ConditionalOnBean(type = "io.micrometer.core.instrument.MeterRegistry")
  static class MetricsConfiguration {
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    LoadstarMetrics loadstarMetrics(MeterRegistry registry, LoadstarServices services) {
      LoadstarMetrics metrics = LoadstarMetrics.of(registry);
      for (String name : services.names()) {
        metrics.bind(services.balancer(name));
      }
      return metrics;
    }
  }
}
