package io.loadstar.samples.spring;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.spring.LoadstarServices;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.web.client.RestClient;

/**
 * A Spring Boot application that calls its catalog service through Boot's {@code RestClient},
 * balanced by Loadstar as {@code application.yml} configures it (five lines). It starts the three
 * catalog backends itself, makes 300 GETs, stops one backend after the first 100, prints what each
 * backend answered and what the balancer sees, and exits: 0 when no GET failed.
 *
 * <p>Run it: {@code mvn -B -q -pl samples/spring-boot -am compile exec:java}.
 */
@SpringBootApplication
public class CatalogApplication {

  /** Runs the sample; exits 0 when no GET failed, 1 otherwise. */
  public static void main(String[] args) throws Exception {
    System.exit(run(args) == 0 ? 0 : 1);
  }

  /** Starts the backends and the application, makes the calls, stops; returns the failed GETs. */
  static int run(String... args) throws Exception {
    try (CatalogBackends backends = CatalogBackends.start()) {
      SpringApplication app = new SpringApplication(CatalogApplication.class);
      app.setWebApplicationType(WebApplicationType.NONE);
      app.setDefaultProperties(Map.of("catalog.port", backends.port()));
      app.addInitializers(
          context -> context.getBeanFactory().registerSingleton("catalogBackends", backends));
      try (ConfigurableApplicationContext context = app.run(args)) {
        return context.getBean("failedCalls", AtomicInteger.class).get();
      }
    }
  }

  /** How many GETs failed. */
  @Bean
  AtomicInteger failedCalls() {
    return new AtomicInteger();
  }

  /** The calls: through the RestClient.Builder Boot hands out, which Loadstar balances. */
  @Bean
  ApplicationRunner catalogCalls(
      RestClient.Builder builder,
      LoadstarServices services,
      CatalogBackends backends,
      AtomicInteger failedCalls,
      Environment env) {
    return args -> {
      int calls = env.getProperty("catalog.calls", Integer.class, 300);
      RestClient catalog = builder.baseUrl("http://catalog.internal:" + backends.port()).build();
      int[] answers = new int[3];
      for (int i = 0; i < calls; i++) {
        if (i == calls / 3) {
          backends.kill(1);
          System.out.println("after " + i + " GETs: catalog-2 (127.0.0.2) stopped");
        }
        try {
          String body = catalog.get().uri("/items").retrieve().body(String.class);
          answers[Integer.parseInt(body.substring(body.length() - 1)) - 1]++;
        } catch (RuntimeException e) {
          failedCalls.incrementAndGet();
        }
      }
      System.out.println(
          calls
              + " GETs, "
              + failedCalls.get()
              + " failed; answered by catalog-1..3: "
              + Arrays.toString(answers));
      for (EndpointSnapshot s : services.balancer("catalog").inspect().snapshot()) {
        System.out.println("  " + s);
      }
    };
  }
}
